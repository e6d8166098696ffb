"""The Train tab's Processes setting: a run of two processes (torchrun, gloo) started from the
window, its curves followed live from the run store, stopped with a checkpoint."""

import os

import pytest

from resnet_studio.qt.kit.tab import TabContext
from resnet_studio.qt.tabs.train.tab import TrainTab
from tests.qt.test_train_tab import TINY, tiny_config


@pytest.mark.skipif(os.name != "posix", reason="torchrun's workers, SIGTERM")
def test_two_processes_follow_live_then_stop_with_a_checkpoint(qtbot, tmp_path):
    context = TabContext(store_path=str(tmp_path / "runs.sqlite"))
    tab = TrainTab(context)
    qtbot.addWidget(tab)
    tab.set_spec(TINY)
    tab.form.set_value(tiny_config(steps=100_000))
    tab.form.processes.setValue(2)
    assert tab.start()
    assert not tab.pause_button.isEnabled() and tab.stop_button.isEnabled()
    # the curves fill in from the run store rank 0 writes, while the processes train
    qtbot.waitUntil(lambda: len(tab.state.curves.steps) >= 2, timeout=120_000)
    assert tab.state.run_id is not None and tab.state.curves.steps[:2] == [5, 10]
    assert "images/s" in tab.state.detail and "epoch" not in tab.state.detail
    with qtbot.waitSignal(tab.session.finished, timeout=180_000) as blocker:
        tab.stop()
    result = blocker.args[0]
    assert result.status == "stopped" and 10 <= result.steps < 100_000
    assert result.run_id == tab.state.run_id and os.path.isfile(result.checkpoint)
    assert "Run stopped" in tab.state.message
    assert [(r.id, r.status) for r in tab.runs.store.list_runs()] == [(result.run_id,
                                                                       "stopped")]
    tab.shutdown()
    again = TrainTab(TabContext(settings=context.settings, store_path=context.store_path))
    qtbot.addWidget(again)
    assert again.form.processes.value() == 2  # remembered with the other settings
    again.shutdown()
