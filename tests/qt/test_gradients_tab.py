"""Gradients tab: residual vs plain at initialisation, stored runs as heatmaps, lesion study."""

import json
from dataclasses import replace

import numpy as np
import pytest

from resnet_studio.app import lesion
from resnet_studio.cli import main
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.training.store import RunStore
from resnet_studio.qt.kit.tab import TabContext
from resnet_studio.qt.tabs.gradients import init_view
from resnet_studio.qt.tabs.gradients.tab import GradientsTab

TINY = ArchSpec(name="tiny", block="basic", layers=(1, 1), widths=(8, 16), stem="cifar",
                shortcut="A", num_classes=4)
TINY_BLOCKS = ["stem", "layer1.0", "layer2.0", "head"]
SMALL = ArchSpec(name="small", block="basic", layers=(2, 2), widths=(8, 16), stem="cifar",
                 shortcut="A")


@pytest.fixture
def make_tab(qtbot, tmp_path):
    tabs = []

    def make(section: int = 0, batch: int = 16, current: ArchSpec | None = None,
             measure: bool = True) -> GradientsTab:
        t = GradientsTab(TabContext(store_path=str(tmp_path / "runs.sqlite")))
        qtbot.addWidget(t)
        t.resize(1200, 800)
        t.init_view.batch_spin.setValue(batch)
        if current is not None:
            t.set_spec(current)
            t.picker.choose_current()
        t.sections.setCurrentIndex(section)
        t.show()
        if section == 0 and measure:
            t.init_view.measure_button.click()
        tabs.append(t)
        return t

    yield make
    for t in tabs:
        assert t.shutdown(30_000)
        assert not t.lesion_view.running() and not t.is_busy()


def wait_report(qtbot, tab, check=lambda r: True, timeout=60_000):
    qtbot.waitUntil(lambda: tab.state.report is not None and check(tab.state.report),
                    timeout=timeout)
    return tab.state.report


def test_resnet20_vs_plain20_at_initialisation(make_tab, qtbot, monkeypatch, tmp_path):
    busy = []
    tab = make_tab(measure=False)
    tab.busyChanged.connect(busy.append)
    tab.init_view.measure_button.click()
    report = wait_report(qtbot, tab)
    assert report.net.model == "resnet20" and report.plain.model == "plain_resnet20"
    assert report.batch_size == 16 and report.net.norm == "batch"
    view = tab.init_view
    verdicts = view.verdict_texts()
    assert len(verdicts) == 2
    assert all("from the last to the first layer" in v for v in verdicts)
    assert verdicts == [report.net.verdict, report.plain.verdict]
    assert view.residual_card.isVisible() and view.plain_card.isVisible()
    counts = view.depth_plots.point_counts()
    n_convs = len(report.net.conv_depths)
    assert n_convs == 19  # ResNet-20: the stem conv + 9 blocks x 2 (the fc is the 20th layer)
    assert counts[("weight", "residual")] == counts[("weight", "plain")] == n_convs
    assert counts[("input", "residual")] == counts[("response", "plain")] == 9
    x, _ = view.depth_plots.ratio_curves["weight"].getData()
    assert len(x) == n_convs
    assert view.depth_plots.plots["weight"].ctrl.logYCheck.isChecked()  # log-scale y
    assert "resnet20" in view.depth_plots.caption.text
    assert busy == [True, False] and not tab.is_busy()

    # export: the figure and the numbers
    png = tab.export_figure(tmp_path / "fig")
    assert png.suffix == ".png" and png.read_bytes()[:4] == b"\x89PNG"
    data = json.loads(tab.export_data(tmp_path / "g.json").read_text())
    assert data["net"]["verdict"] == report.net.verdict
    assert data["plain"]["model"] == "plain_resnet20"
    rows = tab.export_data(tmp_path / "g.csv").read_text().splitlines()
    assert rows[0].startswith("kind,name,block,depth")
    assert sum(r.startswith("conv_weight_grad_norm") for r in rows) == n_convs

    # BatchNorm off: measured again, other numbers, other verdicts
    view.bn_check.setChecked(False)
    no_bn = wait_report(qtbot, tab, lambda r: r.net.norm == "none")
    assert no_bn.plain.norm == "none" and no_bn.net.label == "resnet20 (no BN)"
    assert not np.allclose(no_bn.net.conv_grad_norms, report.net.conv_grad_norms)
    assert view.verdict_texts() == [no_bn.net.verdict, no_bn.plain.verdict] != verdicts
    assert "BatchNorm off" in view.bn_note.text()

    # and back: from the cache, no new measurement
    submitted = []
    monkeypatch.setattr(view.job, "start", lambda *a, **k: submitted.append(a))
    view.bn_check.setChecked(True)
    again = wait_report(qtbot, tab, lambda r: r.net.norm == "batch", timeout=5_000)
    assert again is report and not submitted
    assert view.verdict_texts() == verdicts


def test_opening_the_tab_measures_nothing_until_measure_is_pressed(make_tab, qtbot):
    tab = make_tab(current=TINY, measure=False)
    view = tab.init_view
    assert view.isVisible() and not view.job.is_running() and tab.state.report is None
    assert "Press Measure" in view.message.text()
    view.batch_spin.setValue(8)  # a setting changed before any measurement: still nothing
    assert not view._debounce.isActive() and not view.job.is_running()
    view.measure_button.click()
    assert view.job.call_title == ("Gradients: measuring tiny and its plain twin at "
                                   "initialisation")
    assert view.job.heavy
    assert wait_report(qtbot, tab).batch_size == 8
    view.batch_spin.setValue(4)  # after the first measurement a changed setting measures again
    assert wait_report(qtbot, tab, lambda r: r.batch_size == 4).net.model == "tiny"


def test_current_model_from_the_sidebar(make_tab, qtbot):
    tab = make_tab(current=TINY)
    report = wait_report(qtbot, tab)
    assert report.net.model == "tiny" and report.plain.model == "plain_tiny"
    view = tab.init_view
    assert view.depth_plots.point_counts()[("weight", "residual")] == 5  # stem + 2 blocks x 2
    tab.set_spec(TINY.plain_twin())  # already plain: measured alone
    report = wait_report(qtbot, tab, lambda r: r.net.model == "plain_tiny")
    assert report.plain is None and len(view.verdict_texts()) == 1
    assert "already plain" in view.compare_label.text()
    assert not view.plain_card.isVisible()


def _trained_run(store_path) -> str:
    from resnet_studio.core.training.config import TrainConfig
    from resnet_studio.core.training.gradlog import GradientLogger
    from resnet_studio.core.training.trainer import Trainer

    config = TrainConfig(dataset="synthetic:classes=4,size=8,train=128,val=32", steps=20,
                         batch_size=16, lr=0.05, schedule="constant", eval_every=0,
                         log_every=10, device="cpu")
    store = RunStore(store_path)
    trainer = Trainer(TINY, config, callbacks=[GradientLogger(every=5)], store=store,
                      run_name="tiny residual", run_dir=str(store_path) + "-run")
    assert trainer.fit().status == "finished"
    store.close()
    return trainer.run_id


def _write_live_run(store_path, steps) -> tuple[RunStore, str]:
    """A "running" run whose grad metrics are written directly (as a training process would)."""
    store = RunStore(store_path)
    rec = store.create_run(name="tiny plain (live)", model="plain_tiny", spec={}, config={},
                           status="running", total_steps=100)
    _add(store, rec.id, steps)
    return store, rec.id


def _add(store, run_id, steps):
    rows = [(s, f"grad/{b}", 10.0 ** (-k - s / 100)) for s in steps
            for k, b in enumerate(TINY_BLOCKS)]
    store.add_metrics(run_id, rows, step=max(steps))


def test_stored_runs_render_as_heatmaps_and_live_runs_refresh(make_tab, qtbot, tmp_path):
    store_path = tmp_path / "runs.sqlite"
    trained = _trained_run(store_path)
    live_store, live = _write_live_run(store_path, [10, 20, 30])
    tab = make_tab(section=1)
    view, state = tab.training_view, tab.state
    view.refresh_timer.setInterval(300)  # 2 s in the app
    qtbot.waitUntil(lambda: len(state.runs_shown) == 1, timeout=20_000)
    assert view.run_a.currentData() in (trained, live)
    view.run_a.setCurrentIndex(view.run_a.findData(trained))
    qtbot.waitUntil(lambda: [r.record.id for r in state.runs_shown] == [trained], timeout=20_000)
    hist = state.runs_shown[0].history
    assert hist.block_names == TINY_BLOCKS and hist.steps.tolist() == [5, 10, 15, 20]
    heat = view.heatmaps
    assert heat.matrices[0].shape == (4, 4)  # blocks x records
    assert heat.images[0].image.shape == (4, 4)
    np.testing.assert_allclose(heat.matrices[0], np.log10(hist.blocks.T))
    assert not view.refresh_timer.isActive()  # a finished run does not change
    assert view.selected_blocks() == ["layer1.0", "layer2.0"]  # first and last block
    assert len(heat.line_items) == 2

    # the live run beside it: one colour scale for both, refreshed while it runs
    view.run_b.setCurrentIndex(view.run_b.findData(live))
    qtbot.waitUntil(lambda: len(state.runs_shown) == 2, timeout=20_000)
    assert heat.matrices[1].shape == (4, 3)
    lo, hi = heat.colorbar.levels()
    both = np.concatenate([heat.matrices[0].ravel(), heat.matrices[1].ravel()])
    assert lo == pytest.approx(both.min()) and hi == pytest.approx(both.max())
    assert view.refresh_timer.isActive()
    assert len(heat.line_items) == 4  # two blocks x two runs
    _add(live_store, live, [40, 50])
    qtbot.waitUntil(lambda: heat.matrices[1].shape == (4, 5), timeout=20_000)
    live_store.set_status(live, "finished")
    qtbot.waitUntil(lambda: not view.refresh_timer.isActive(), timeout=20_000)
    live_store.close()

    data = json.loads(tab.export_data(tmp_path / "runs.json").read_text())
    assert [r["run_id"] for r in data["runs"]] == [trained, live]
    assert data["runs"][0]["blocks"] == TINY_BLOCKS
    csv_text = tab.export_data(tmp_path / "runs.csv").read_text()
    assert csv_text.splitlines()[0] == "run_id,run,step,block,grad_norm"
    assert len(csv_text.splitlines()) == 1 + 4 * 4 + 4 * 5


def test_a_run_without_gradients_says_so(make_tab, qtbot, tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    rec = store.create_run(name="old run", model="tiny", spec={}, config={}, status="finished")
    store.add_metrics(rec.id, [(10, "train/loss", 1.0)])
    store.close()
    tab = make_tab(section=1)
    qtbot.waitUntil(lambda: len(tab.state.runs_shown) == 1, timeout=20_000)
    assert [row.has_gradients for row in tab.state.listing] == [False]
    assert "no gradients logged" in tab.training_view.run_a.currentText()
    assert "without gradient logging" in tab.training_view.message.text()
    assert tab.training_view.heatmaps.matrices[0].size == 0


def test_lesion_study_bars_and_cancel(make_tab, qtbot, monkeypatch, tmp_path):
    monkeypatch.setitem(lesion.TASKS, "templates",
                        replace(lesion.TASKS["templates"], train=128, val=64))
    tab = make_tab(section=2)
    view, state = tab.lesion_view, tab.state
    assert tab.picker.spec().name == "resnet20"  # the default: the CIFAR depths
    tab.set_spec(SMALL)  # a smaller model keeps the test quick; the code path is the same
    tab.picker.choose_current()
    view.form.set_value(lesion.LesionRequest(task="templates", steps=5))  # train it here
    assert view.start()
    assert not view.start()  # one at a time
    qtbot.waitUntil(lambda: not view.running(), timeout=60_000)
    reports = state.lesion_reports
    assert [r.model for r in reports] == ["small", "plain_small"]
    assert [len(r.blocks) for r in reports] == [3, 3]  # 4 blocks, 1 changes the shape
    assert len(view.bars.bars) == 2
    legend = view.bars.legend_text()
    assert legend.count("mean drop") == 2
    assert state.lesion_status == "done" and view.progress.format() == "done"
    data = json.loads(tab.export_data(tmp_path / "lesion.json").read_text())
    assert len(data["reports"]) == 2
    png = tab.export_figure(tmp_path / "lesion.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    view.form.steps_spin.setValue(100_000)
    assert view.start()
    view.cancel_button.click()  # takes effect at the next progress report
    qtbot.waitUntil(lambda: not view.running(), timeout=30_000)
    assert state.lesion_status == "cancelled" and view.progress.format() == "cancelled"
    assert state.lesion_reports is reports  # the last results stay


def test_lesion_defaults_to_the_shipped_pair_and_says_how_long_training_takes(make_tab, qtbot):
    from resnet_studio.app.trained_nets import TRAINED_DIR

    tab = make_tab(section=2)  # an empty run store: no trained pair of the user's
    view, form = tab.lesion_view, tab.lesion_view.form
    qtbot.waitUntil(lambda: form.model_combo.count() > 1 and not view.list_job.is_running(),
                    timeout=30_000)
    assert form.model_combo.currentText() == ("ResNet-20 (shipped, trained on the built-in "
                                              "data) vs plain-20 (shipped)")
    assert form.value(None, 0) == lesion.LesionRequest(checkpoints=(
        str(TRAINED_DIR / "resnet20.safetensors"), str(TRAINED_DIR / "plain20.safetensors")))
    assert not form.training.isVisibleTo(view) and not view.plan.isVisibleTo(view)

    form.model_combo.setCurrentIndex(form.model_combo.count() - 1)  # train the model above
    assert form.training.isVisibleTo(view) and form.until_check.isChecked()
    assert form.value(tab.picker.spec(), 0).steps is None
    assert view.plan.text() == (
        "Trains resnet20 and its plain twin on templates until resnet20 is well above chance "
        "(40% on held-out images): rounds of 100 steps, at most 800 steps each; the time left "
        "is shown from the tenth step on, timed on this machine.")


def test_a_failed_measurement_is_shown_and_the_tab_stays_up(make_tab, qtbot, monkeypatch):
    def boom(*_a, **_k):
        raise ValueError("the input is too small for this model")

    monkeypatch.setattr(init_view, "measure_with_dial", boom)
    messages = []
    tab = make_tab(current=TINY)
    tab.statusMessage.connect(messages.append)
    qtbot.waitUntil(lambda: "too small" in tab.state.init_error, timeout=10_000)
    assert "Could not measure" in tab.init_view.message.text()
    assert tab.state.report is None and not tab.init_view.residual_card.isVisible()
    assert any("could not measure" in m for m in messages)


def test_the_tab_and_the_command_give_the_same_lesion_numbers(make_tab, qtbot, tmp_path, capsys):
    # GUI = CLI: the tab's job and `resnet-studio lesion` call one use case with one request
    SMALL.save(tmp_path / "small.json")
    tab = make_tab(section=2)
    tab.set_spec(SMALL)
    tab.picker.choose_current()
    tab.picker.seed_spin.setValue(3)
    view = tab.lesion_view
    view.form.set_value(lesion.LesionRequest(task="templates", steps=8))
    assert view.start()
    qtbot.waitUntil(lambda: not view.running(), timeout=60_000)
    assert tab.state.lesion_status == "done"
    gui = tab.state.lesion_reports

    assert main(["lesion", str(tmp_path / "small.json"), "--data", "templates", "--steps", "8",
                 "--seed", "3", "--compare-plain", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)["reports"]
    assert [r["model"] for r in cli] == [r.model for r in gui] == ["small", "plain_small"]
    for g, c in zip(gui, cli):
        assert [b["id"] for b in c["blocks"]] == [b.id for b in g.blocks]
        assert [b["drop"] for b in c["blocks"]] == [b.drop for b in g.blocks]  # exactly equal
        assert c["intact_accuracy"] == g.intact_accuracy and c["source"] == g.source
    assert any(b.drop != 0 for g in gui for b in g.blocks)  # the numbers say something
