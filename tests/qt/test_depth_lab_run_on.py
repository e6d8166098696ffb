"""Depth Lab's "Run on": this computer or a Ray cluster (remembered), a tiny experiment run live
on a local Ray started by the tab (curves, table and re-open as for local runs), and the choice
refused in the form when Ray is not installed."""

import pytest

from resnet_studio.core.experiments.backends import ClusterOptions
from resnet_studio.qt.kit.tab import TabContext
from resnet_studio.qt.tabs.depth_lab import form as form_module
from resnet_studio.qt.tabs.depth_lab.tab import DepthLabTab
from tests.helpers import SMALL_DATA as DATA


@pytest.fixture
def tab(qtbot, tmp_path):
    w = DepthLabTab(TabContext(store_path=str(tmp_path / "runs.sqlite")))
    qtbot.addWidget(w)
    w.resize(1300, 850)
    yield w
    assert w.shutdown(60_000)


def _tiny_grid(form):
    form.preset_combo.setCurrentIndex(form.preset_combo.findData(None))
    for box in form.depth_boxes.values():
        box.setChecked(False)
    form.custom_depths.setText("8")
    for v, box in form.variant_boxes.items():
        box.setChecked(v in ("plain", "residual"))
    form.seeds_spin.setValue(1)
    form.steps_spin.setValue(12)
    form.dataset_combo.setCurrentText(DATA)


def test_run_on_is_remembered(qtbot, tab):
    form = tab.form
    assert form.cluster() is None and form.concurrency() == 1 and not form.address_edit.isEnabled()
    form.set_cluster(ClusterOptions(address="ray://head:10001"))
    assert form.cluster() == ClusterOptions(address="ray://head:10001")
    assert form.concurrency() is None and not form.parallel_spin.isEnabled()
    form.save(tab.context.settings)
    again = DepthLabTab(TabContext(settings=tab.context.settings, store_path=tab.store_path))
    qtbot.addWidget(again)
    assert again.form.cluster() == ClusterOptions(address="ray://head:10001")
    assert again.form.address_edit.isEnabled()
    again.form.set_cluster(None)  # back to this computer: the address waits for next time
    again.form.save(tab.context.settings)
    assert again.form.cluster() is None and again.form.address_edit.text() == "ray://head:10001"
    assert again.shutdown()


def test_without_ray_the_form_says_how_to_install_it(tab, monkeypatch):
    monkeypatch.setattr(form_module, "cluster_missing",
                        lambda: "running on a Ray cluster needs Ray: pip install "
                                "'resnet-studio[cluster]'")
    _tiny_grid(tab.form)
    assert tab.controls.run_button.isEnabled()
    tab.form.set_cluster(ClusterOptions())
    assert not tab.form.is_valid() and not tab.controls.run_button.isEnabled()
    assert "pip install 'resnet-studio[cluster]'" in tab.form.grid_label.text()


def test_an_experiment_runs_live_on_a_local_ray(qtbot, tab):
    pytest.importorskip("ray")
    _tiny_grid(tab.form)
    tab.form.set_cluster(ClusterOptions())  # no address: a local Ray started for the run
    with qtbot.waitSignal(tab.statusMessage, timeout=10_000) as status:
        exp_id = tab.run_experiment()
    assert status.args == [f"Depth Lab: running {tab.state.experiment.name} on Ray (a local "
                           "Ray started for this sweep; 1 CPU per run)"]
    # the thread ends a moment before its last (queued) report updates the state
    qtbot.waitUntil(lambda: not tab.is_running() and tab.state.experiment.status != "running",
                    timeout=120_000)
    assert tab.state.experiment.status == "finished", tab.controls.message.text()
    live_curves = tab.view.plots.curve_data()
    assert live_curves[("plain", 8)]["train_y"] and live_curves[("residual", 8)]["test_y"]
    table = [[tab.view.table.item(r, c).text() for c in range(tab.view.table.columnCount())]
             for r in range(tab.view.table.rowCount())]
    assert [row[0] for row in table] == ["plain-8", "ResNet-8"]

    import ray

    assert not ray.is_initialized()  # the tab's own Ray ended with the experiment
    other = DepthLabTab(TabContext(store_path=tab.store_path))
    qtbot.addWidget(other)
    assert other.open_experiment(exp_id).status == "finished"
    assert other.view.plots.curve_data() == live_curves
    assert other.shutdown()
