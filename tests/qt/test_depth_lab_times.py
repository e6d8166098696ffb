"""The Depth Lab's times: the experiment's wall time measured on this machine on request (never
merely because the tab was opened), and elapsed time and time left while it runs."""

import pytest

from resnet_studio.app.time_estimate import NetTiming, TimeEstimate, _basis
from resnet_studio.qt.kit.job import job_registry
from resnet_studio.qt.kit.tab import TabContext
from resnet_studio.qt.tabs.depth_lab import estimate_row
from resnet_studio.qt.tabs.depth_lab.tab import DepthLabTab
from tests.helpers import SMALL_DATA


@pytest.fixture
def tab(qtbot, tmp_path):
    w = DepthLabTab(TabContext(store_path=str(tmp_path / "runs.sqlite")))
    qtbot.addWidget(w)
    w.resize(1300, 850)
    w.show()
    yield w
    assert w.shutdown(60_000)


def fake_estimate(plan, progress):
    progress(1, 2, "timing plain-20…")
    nets = (NetTiming("plain-20", 3.0, 0.1, 1.0), NetTiming("ResNet-20", 3.0, 0.1, 1.0),
            NetTiming("plain-56", 5.0, 0.3, 2.0), NetTiming("ResNet-56", 5.0, 0.3, 2.0))
    estimate = TimeEstimate(0.0, 2.0, nets, _basis(plan.config), 40.0)
    return TimeEstimate(estimate.seconds_for(plan.cells, plan.config), 2.0, nets,
                        estimate.basis, 40.0)


def test_the_preset_time_is_measured_here_on_request(qtbot, tab, monkeypatch):
    form, row = tab.form, tab.form.estimate_row
    form.apply_preset("quick")
    assert "minute" not in form.preset_combo.currentText()  # no time stated, only measured
    assert not row.job.is_running() and not job_registry().running()  # opening started nothing
    assert row.label.text().startswith("Time on this machine: not measured yet")
    monkeypatch.setattr(estimate_row, "estimate_experiment", fake_estimate)
    row.button.click()
    qtbot.waitUntil(lambda: not row.job.is_running(), timeout=10_000)
    steps = form.plan().config.steps  # the preset's own length, from its config
    evals = -(-steps // form.plan().config.eval_every)
    seconds = 2 + 2 * (3 + 0.1 * steps + evals) + 2 * (5 + 0.3 * steps + 2 * evals)
    minutes, secs = divmod(round(seconds), 60)
    assert row.label.text() == (f"Time on this machine: about {minutes}:{secs:02d} for 4 runs, "
                                "one at a time (measured from the first steps of each net).")
    form.steps_spin.setValue(100)  # the same nets for fewer steps: no new measurement
    evals = -(-100 // form.plan().config.eval_every)
    seconds = 2 + 2 * (3 + 10 + evals) + 2 * (5 + 30 + 2 * evals)
    minutes, secs = divmod(round(seconds), 60)
    assert f"about {minutes}:{secs:02d} for 4 runs" in row.label.text()
    form.dataset_combo.setCurrentText(SMALL_DATA)  # another dataset: measure again
    assert "press Estimate again" in row.label.text()

    # a later session shows the estimate at once
    later = DepthLabTab(TabContext(settings=tab.context.settings,
                                   store_path=tab.context.store_path))
    qtbot.addWidget(later)
    later.form.apply_preset("quick")
    assert later.form.estimate_row.estimate == row.estimate
    assert "about" in later.form.estimate_row.label.text()
    assert later.shutdown()


def test_elapsed_and_time_left_while_it_runs(qtbot, tab):
    form = tab.form
    form.preset_combo.setCurrentIndex(form.preset_combo.findData(None))
    for box in form.depth_boxes.values():
        box.setChecked(False)
    form.custom_depths.setText("8")
    form.steps_spin.setValue(60)
    form.dataset_combo.setCurrentText(SMALL_DATA)
    titles = set()
    job_registry().changed.connect(lambda: titles.update(w.title for w in
                                                         job_registry().running()))
    assert tab.run_experiment()
    def says_time_left():  # read now, not at the next 1 s refresh: a quiet machine is quick
        tab.controls.refresh_times()
        return "left" in tab.controls.times.text() and tab.controls.times.isVisible()

    qtbot.waitUntil(says_time_left, timeout=30_000)
    assert tab.controls.times.text().startswith("elapsed ")
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=60_000)
    qtbot.waitUntil(lambda: tab.controls.times.text().startswith("took "), timeout=5_000)
    assert f"Depth Lab: {tab.state.experiment.name}" in {
        w.title for w in job_registry().running()} | titles | {tab.session.title}
    assert tab.session.times.steps() == (60 * 2, 60 * 2)


def test_closing_the_tab_cancels_a_running_estimate(qtbot, tab):
    form, row = tab.form, tab.form.estimate_row
    form.preset_combo.setCurrentIndex(form.preset_combo.findData(None))
    form.dataset_combo.setCurrentText(SMALL_DATA)
    cancelled = []
    row.job.cancelled.connect(lambda: cancelled.append(True))
    assert row.measure() and row.job.is_running()
    assert tab.shutdown(30_000)
    assert row.job.wait(30_000) and cancelled == [True] and row.estimate is None
