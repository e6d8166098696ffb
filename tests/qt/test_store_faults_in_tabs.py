"""The Train tab's runs list and the Depth Lab over a read-only or unusable run store: a note or
a message in the tab, never an exception, and the store's bytes as they were."""

import pytest
from PySide6.QtWidgets import QInputDialog, QMessageBox

from resnet_studio.core.common import sqlite_store
from resnet_studio.core.experiments import ExperimentStore
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.qt.kit.tab import TabContext
from resnet_studio.qt.tabs.depth_lab.tab import DepthLabTab
from resnet_studio.qt.tabs.train.tab import TrainTab

REASON = "simulated: the disk is mounted read-only"


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "runs.sqlite"
    with ExperimentStore(path) as store:
        store.runs.create_run(run_id="20260101-000000-aaaa", name="first", model="resnet20",
                              spec={}, config={}, status="finished")
        store.create("depth check", [(8, "plain", 0)], TrainConfig(steps=10))
    return path


def files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def read_only(monkeypatch):
    monkeypatch.setattr(sqlite_store, "_why_read_only", lambda path: REASON)


def test_the_runs_list_of_a_read_only_store_shows_a_note_and_refuses_a_rename(
        qtbot, store_path, read_only, monkeypatch):
    before = files(store_path.parent)
    tab = TrainTab(TabContext(store_path=str(store_path)))
    qtbot.addWidget(tab)
    # the history is read when the tab is made: the note is in its message line from the start
    assert tab.message.text() == f"the run store is read-only: {REASON}; showing it without changes"
    assert tab.runs.table.rowCount() == 1
    warnings = []
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("renamed", True))
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, title, text: warnings.append(
        (title, text)))
    tab.runs.select_run("20260101-000000-aaaa")
    tab.runs.buttons["rename"].click()
    assert warnings == [("Cannot rename", f"the run store is read-only: {REASON}; nothing was "
                                          "changed")]
    tab.shutdown()
    assert files(store_path.parent) == before


def test_the_runs_list_over_a_folder_in_the_way_says_so(qtbot, tmp_path):
    (tmp_path / "runs.sqlite").mkdir()
    tab = TrainTab(TabContext(store_path=str(tmp_path / "runs.sqlite")))
    qtbot.addWidget(tab)
    with qtbot.waitSignal(tab.statusMessage) as said:
        tab.runs.refresh()
    assert said.args == [f"the run store {tmp_path / 'runs.sqlite'} is a folder, not a file: "
                         "move it away and try again"]
    assert tab.runs.table.rowCount() == 0
    tab.shutdown()


def test_the_depth_lab_over_a_read_only_store_lists_notes_and_refuses_a_run(
        qtbot, store_path, read_only):
    before = files(store_path.parent)
    tab = DepthLabTab(TabContext(store_path=str(store_path)))
    qtbot.addWidget(tab)
    assert tab.controls.message.text() == (f"the run store is read-only: {REASON}; showing it "
                                           "without changes")
    assert tab.stored.list.count() == 1
    assert tab.open_experiment("last").name == "depth check"  # its grid is now in the form
    assert tab.run_experiment() is None
    assert tab.controls.message.text() == (f"the run store is read-only: {REASON}; nothing was "
                                           "changed")
    assert not tab.is_running()
    assert tab.shutdown(10_000)
    assert files(store_path.parent) == before
