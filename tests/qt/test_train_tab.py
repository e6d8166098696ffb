"""Training from the window: start, pause, resume, stop through the worker thread; history."""

import pytest
from PySide6.QtWidgets import QMessageBox

from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.core.training.store import RunStore
from resnet_studio.qt.kit.tab import TabContext
from resnet_studio.qt.tabs.train.tab import TrainTab

TINY = ArchSpec(name="tiny", block="basic", layers=(1, 1), widths=(8, 16), stem="cifar",
                shortcut="A", num_classes=4)


def tiny_config(steps=60, **changes) -> TrainConfig:
    settings = dict(dataset="synthetic:classes=4,size=8,train=256,val=64", steps=steps,
                    batch_size=16, lr=0.05, schedule="constant", eval_every=20, log_every=5,
                    device="cpu")
    return TrainConfig(**{**settings, **changes})


@pytest.fixture
def tab(qtbot, tmp_path):
    t = TrainTab(TabContext(store_path=str(tmp_path / "runs.sqlite")))
    qtbot.addWidget(t)
    t.show()
    t.set_spec(TINY)
    yield t
    t.shutdown()


def start(tab, qtbot, config):
    tab.form.set_value(config)
    assert tab.start()


def test_a_run_trains_to_the_end_and_lands_in_the_history(tab, qtbot):
    start(tab, qtbot, tiny_config(steps=60))
    with qtbot.waitSignal(tab.session.finished, timeout=120_000) as blocker:
        pass
    result = blocker.args[0]
    assert result.status == "finished" and result.steps == 60
    assert len(tab.state.curves.steps) == 12  # one point per log_every=5 steps
    assert tab.state.curves.val_steps == [20, 40, 60]
    assert tab.plots.curves is tab.state.curves
    assert "finished" in tab.state.progress_text
    assert tab.progress.format() == tab.state.progress_text  # the bar shows the state
    assert tab.state.result == result and tab.state.run_id == result.run_id
    qtbot.waitUntil(tab.start_button.isEnabled, timeout=10_000)
    assert not tab.stop_button.isEnabled()
    runs = tab.runs.store.list_runs()
    assert [r.status for r in runs] == ["finished"]
    assert tab.runs.table.rowCount() == 1


def test_pause_resume_and_stop_through_the_worker(tab, qtbot):
    start(tab, qtbot, tiny_config(steps=100_000))
    qtbot.waitUntil(lambda: tab.session.trainer is not None
                    and tab.session.trainer.step >= 10, timeout=60_000)
    with qtbot.waitSignal(tab.session.statusChanged, timeout=30_000,
                          check_params_cb=lambda st, _m: st == "paused"):
        tab.pause_button.click()
    paused_at = tab.session.trainer.step
    qtbot.wait(300)
    assert tab.session.trainer.step == paused_at  # really paused
    with qtbot.waitSignal(tab.session.statusChanged, timeout=30_000,
                          check_params_cb=lambda st, _m: st == "running"):
        tab.pause_button.click()
    qtbot.waitUntil(lambda: tab.session.trainer.step > paused_at + 5, timeout=30_000)
    with qtbot.waitSignal(tab.session.finished, timeout=60_000) as blocker:
        tab.stop_button.click()
    result = blocker.args[0]
    assert result.status == "stopped" and result.checkpoint
    assert tab.session.wait(10_000)
    rec = tab.runs.store.list_runs()[0]
    assert rec.status == "stopped" and rec.checkpoint


def test_resume_a_stopped_run_from_the_history(tab, qtbot):
    start(tab, qtbot, tiny_config(steps=100_000))
    qtbot.waitUntil(lambda: tab.session.trainer is not None
                    and tab.session.trainer.step >= 10, timeout=60_000)
    with qtbot.waitSignal(tab.session.finished, timeout=60_000) as blocker:
        tab.stop()
    stopped_at = blocker.args[0].steps
    tab.session.wait(10_000)
    run_id = tab.runs.store.list_runs()[0].id
    tab.runs.refresh()
    tab.runs.select_run(run_id)
    assert tab.runs.buttons["resume"].isEnabled()
    with qtbot.waitSignal(tab.session.started, timeout=60_000):
        tab.runs.buttons["resume"].click()
    qtbot.waitUntil(lambda: tab.session.trainer is not None
                    and tab.session.trainer.step > stopped_at, timeout=60_000)
    with qtbot.waitSignal(tab.session.finished, timeout=60_000):
        tab.stop()
    assert len(tab.runs.store.list_runs()) == 1  # the same run continued


def test_a_missing_image_folder_is_a_message_not_a_crash(tab, qtbot, tmp_path):
    empty = tmp_path / "no_images"
    empty.mkdir()
    tab.form.set_value(tiny_config(dataset=f"imagefolder:{empty}"))
    with qtbot.waitSignal(tab.session.failed, timeout=60_000) as blocker:
        assert tab.start()
    assert str(empty) in blocker.args[0] or "empty" in blocker.args[0].lower()
    assert tab.state.message == blocker.args[0] and tab.state.message_is_error
    assert tab.message.isVisible()
    qtbot.waitUntil(tab.start_button.isEnabled, timeout=10_000)  # ready to try again


def test_closing_the_window_mid_training_asks_then_stops_with_a_checkpoint(qtbot, tmp_path,
                                                                          monkeypatch):
    from resnet_studio.qt.main_window import MainWindow

    w = MainWindow(initial_model="resnet20")
    qtbot.addWidget(w)
    w.train.set_spec(TINY)
    w.train.form.set_value(tiny_config(steps=100_000))
    assert w.train.start()
    qtbot.waitUntil(lambda: w.train.session.trainer is not None
                    and w.train.session.trainer.step >= 5, timeout=60_000)
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.No)
    assert not w.close()  # the user said no: still training
    assert w.train.is_running()
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert w.close()
    assert not w.train.is_running()
    rec = RunStore().list_runs()[-1]
    assert rec.status == "stopped" and rec.checkpoint


def test_a_run_resumed_the_moment_the_last_one_ends_still_ticks(tab, qtbot):
    """The ended thread's `finished` is still queued when Resume starts the next run: it must
    not stop the new run's deliveries."""
    start(tab, qtbot, tiny_config(steps=100_000))
    qtbot.waitUntil(lambda: tab.session.trainer is not None
                    and tab.session.trainer.step >= 5, timeout=60_000)
    tab.stop()
    assert tab.session.wait(60_000)  # no event processing: `finished` is still queued
    assert tab.state.result.status == "stopped"
    run_id = tab.state.run_id
    with qtbot.waitSignal(tab.session.started, timeout=30_000):
        assert tab.resume_run(run_id)
    qtbot.waitUntil(lambda: tab.state.last_log is not None, timeout=30_000)  # logs arrive
    with qtbot.waitSignal(tab.session.finished, timeout=60_000):
        tab.stop()
    assert tab.state.run_id == run_id and tab.state.result.status == "stopped"


def test_a_run_too_big_for_memory_is_refused_unless_the_check_is_off(tab, qtbot, monkeypatch):
    from resnet_studio.core.common import budget

    monkeypatch.setattr(budget, "available_memory", lambda: 1_000_000)  # 1 MB free
    tab.form.set_value(tiny_config(steps=10))
    assert tab.form.memory_check.isChecked()  # on by default
    with qtbot.waitSignal(tab.session.failed, timeout=60_000) as blocker:
        assert tab.start()
    assert blocker.args[0].startswith("training tiny at batch ")
    assert "1.0 MB available" in blocker.args[0] and tab.state.message_is_error
    qtbot.waitUntil(tab.start_button.isEnabled, timeout=10_000)
    tab.form.memory_check.setChecked(False)  # the user means it: the tiny net trains anyway
    with qtbot.waitSignal(tab.session.finished, timeout=120_000) as blocker:
        assert tab.start()
    assert blocker.args[0].status == "finished" and blocker.args[0].steps == 10


def test_a_damaged_run_store_is_kept_aside_and_the_tab_says_where(qtbot, tmp_path):
    garbage = b"not a database at all " * 40
    (tmp_path / "runs.sqlite").write_bytes(garbage)
    notices = []
    # the history is read when the tab is made: the damaged store is found then
    tab = TrainTab(TabContext(store_path=str(tmp_path / "runs.sqlite")))
    qtbot.addWidget(tab)
    tab.statusMessage.connect(notices.append)
    [backup] = tmp_path.glob("runs.sqlite.damaged-*")
    assert backup.read_bytes() == garbage
    assert str(backup) in tab.state.message and tab.message.text() == tab.state.message
    assert not tab.state.message_is_error
    tab.set_spec(TINY)
    tab.form.set_value(tiny_config(steps=10))
    with qtbot.waitSignal(tab.session.finished, timeout=120_000) as blocker:
        assert tab.start()
    assert blocker.args[0].status == "finished"  # recorded in the fresh store
    assert [r.status for r in tab.runs.store.list_runs()] == ["finished"]
    tab.shutdown()
