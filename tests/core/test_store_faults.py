"""The run store degrades, never dies: read-only, damaged, foreign, locked, in the way, full.

Every case compares the exact bytes of the files in the store's folder before and after.
"""

import os
import sqlite3
from pathlib import Path

import pytest

from resnet_studio.core.common import sqlite_store
from resnet_studio.core.common.sqlite_store import (
    StoreBusy,
    StoreDamaged,
    StoreError,
    StoreReadOnly,
)
from resnet_studio.core.experiments import ExperimentStore
from resnet_studio.core.training.store import RUN_TABLES, RunStore
from tests.helpers import backup_in, files

RUN = "20260101-000000-aaaa"


def altered_store(path, sql: str) -> None:
    """A good store, then `sql` run on it behind the store's back."""
    make_store(path)
    with sqlite3.connect(path) as db:
        db.execute(sql)
    db.close()


def make_store(path, runs=(RUN,)):
    """A store with runs and a few metrics, closed; returns the folder's files."""
    with RunStore(path) as store:
        for run_id in runs:
            store.create_run(run_id=run_id, name=f"run {run_id[-4:]}", model="resnet20",
                             spec={}, config={}, status="finished")
            store.add_metrics(run_id, [(10, "train/loss", 2.0), (20, "train/loss", 1.5)])
    return files(path.parent)


def simulate_read_only(monkeypatch, reason="simulated: the disk is mounted read-only"):
    """As root chmod stops nothing: say writing is impossible, and sqlite really opens the file
    read-only (mode=ro, immutable, query_only)."""
    monkeypatch.setattr(sqlite_store, "_why_read_only", lambda path: reason)


# -- read-only ------------------------------------------------------------------------------

def test_a_read_only_store_lists_and_refuses_every_write(tmp_path, monkeypatch):
    path = tmp_path / "runs.sqlite"
    before = make_store(path)
    simulate_read_only(monkeypatch)
    with RunStore(path) as store:
        assert store.read_only == "simulated: the disk is mounted read-only"
        assert store.notice == ("the run store is read-only: simulated: the disk is mounted "
                                "read-only; showing it without changes")
        assert [r.id for r in store.list_runs()] == [RUN]
        assert store.metrics(RUN) == {"train/loss": [(10, 2.0), (20, 1.5)]}
        for write in (lambda: store.rename(RUN, "new name"), lambda: store.delete(RUN),
                      lambda: store.add_metrics(RUN, [(30, "train/loss", 1.0)]),
                      lambda: store.create_run(name="x", model="m", spec={}, config={})):
            with pytest.raises(StoreReadOnly, match="^the run store is read-only: simulated: "
                               "the disk is mounted read-only; nothing was changed$"):
                write()
    assert files(tmp_path) == before  # no -wal, no -shm, not a byte changed


def test_a_read_only_store_cannot_record_a_training_run(tmp_path, monkeypatch):
    path = tmp_path / "runs.sqlite"
    before = make_store(path)
    simulate_read_only(monkeypatch)
    with pytest.raises(StoreReadOnly, match="read-only: simulated: .*; nothing can be recorded"):
        RunStore(path, require_write=True)
    assert files(tmp_path) == before


def test_opening_a_healthy_store_writes_nothing(tmp_path):
    path = tmp_path / "runs.sqlite"
    make_store(path)
    with RunStore(path) as store, ExperimentStore(store) as experiments:
        assert [r.id for r in store.list_runs()] == [RUN] and experiments.list() == []
    before = files(tmp_path)  # now with the experiments' tables: opening again changes nothing
    with ExperimentStore(path) as experiments:
        experiments.list()
    assert files(tmp_path) == before


def test_a_missing_store_on_a_read_only_disk_is_an_empty_one(tmp_path, monkeypatch):
    simulate_read_only(monkeypatch)
    with ExperimentStore(tmp_path / "runs.sqlite") as store:
        assert store.list() == [] and store.runs.list_runs() == []
        with pytest.raises(StoreReadOnly):
            store.runs.create_run(name="x", model="m", spec={}, config={})
    assert files(tmp_path) == {}


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root writes through chmod 0o444 (the simulated and the read-only "
                           "mount tests cover root)")
def test_a_read_only_file_and_folder(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "runs.sqlite"
    before = make_store(path)
    path.chmod(0o444)
    folder.chmod(0o555)
    try:
        with RunStore(path) as store:
            assert store.read_only == f"{path} is not writable"
            assert [r.id for r in store.list_runs()] == [RUN]
            with pytest.raises(StoreReadOnly, match="nothing was changed"):
                store.rename(RUN, "x")
        assert files(folder) == before
    finally:
        folder.chmod(0o755)


# -- damaged and foreign --------------------------------------------------------------------

def test_random_bytes_are_moved_aside_and_a_new_store_starts(tmp_path):
    path = tmp_path / "runs.sqlite"
    junk = bytes(range(256)) * 16
    path.write_bytes(junk)
    (tmp_path / "runs.sqlite-wal").write_bytes(b"an old log")
    with RunStore(path) as store:
        backup = backup_in(tmp_path)
        assert backup.read_bytes() == junk
        assert Path(f"{backup}-wal").read_bytes() == b"an old log"  # with it, never deleted
        assert store.notice == (f"the run store {path} was unreadable (file is not a database); "
                                f"moved it to {backup} and started a new one")
        store.create_run(run_id=RUN, name="fresh", model="m", spec={}, config={})
        assert [r.name for r in store.list_runs()] == ["fresh"]


def test_a_page_damaged_later_moves_the_store_aside_at_the_query_that_finds_it(tmp_path):
    path = tmp_path / "runs.sqlite"
    make_store(path, runs=[f"20260101-00000{i}-aaaa" for i in range(3)])
    with sqlite3.connect(path) as db:
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name='metrics'").fetchone()[0]
        page = db.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(path.read_bytes())
    data[(root - 1) * page:root * page] = b"\xff" * page  # the metrics table's first page
    path.write_bytes(bytes(data))
    store = RunStore(path)  # its header and schema are fine: opening cannot tell
    with pytest.raises(StoreDamaged, match="database disk image is malformed") as caught:
        store.metrics("20260101-000001-aaaa")
    backup = backup_in(tmp_path)
    assert str(caught.value) == (f"the run store {path} was unreadable (database disk image is "
                                 f"malformed); moved it to {backup} and started a new one; "
                                 "try again")
    assert backup.read_bytes() == bytes(data)
    assert store.list_runs() == []  # the same store goes on, fresh
    store.close()


def test_a_damaged_store_that_cannot_be_moved_is_left_alone(tmp_path, monkeypatch):
    path = tmp_path / "runs.sqlite"
    path.write_bytes(b"not a database, " * 100)
    before = files(tmp_path)

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(sqlite_store.os, "rename", refuse)
    with pytest.raises(StoreDamaged) as caught:
        RunStore(path)
    assert str(caught.value) == (f"the run store {path} is unreadable (file is not a database) "
                                 "and could not be moved aside (Permission denied); move it "
                                 "away and try again")
    assert files(tmp_path) == before


@pytest.mark.parametrize("ddl,detail", [
    ("CREATE TABLE notes (id INTEGER, body TEXT)",
     "a SQLite database of something else, with tables notes"),
    ("CREATE TABLE runs (id TEXT, owner TEXT)",
     "its table runs has no column checkpoint, config, created, dataset, experiment_id, "
     "heartbeat, host, message, model, name, pid, run_dir, spec, status, step, total_steps, "
     "updated: not a table of ResNet Studio"),
])
def test_a_foreign_sqlite_file_is_moved_aside_byte_for_byte(tmp_path, ddl, detail):
    path = tmp_path / "runs.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(ddl)
        db.execute(f"INSERT INTO {ddl.split()[2]} VALUES ('1', 'kept')")
    db.close()
    original = path.read_bytes()
    with RunStore(path) as store:
        backup = backup_in(tmp_path)
        assert store.notice == (f"the run store {path} was unreadable ({detail}); moved it to "
                                f"{backup} and started a new one")
        assert store.list_runs() == []
    assert backup.read_bytes() == original


def test_an_older_store_without_the_experiments_tables_is_kept_and_completed(tmp_path):
    path = tmp_path / "runs.sqlite"
    with sqlite3.connect(path) as db:  # as the first versions wrote it: runs and metrics only
        db.executescript(RUN_TABLES.ddl)
        db.execute("INSERT INTO runs (id, name, model, spec, config, status, created, updated, "
                   "heartbeat) VALUES (?, 'old', 'resnet20', '{}', '{}', 'finished', 1, 1, 1)",
                   (RUN,))
    db.close()
    with ExperimentStore(path) as store:
        assert store.notice == "" and [r.name for r in store.runs.list_runs()] == ["old"]
        assert store.list() == []
    assert list(tmp_path.glob("*.damaged-*")) == []


def test_a_store_of_a_newer_version_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "runs.sqlite"
    altered_store(path, "PRAGMA user_version=7")
    before = files(tmp_path)
    with pytest.raises(StoreError, match=r"written by a newer ResNet Studio \(store version 7; "
                                         r"this one knows 1\): update ResNet Studio"):
        RunStore(path)
    assert files(tmp_path) == before


def test_experiment_tables_of_another_shape_move_the_whole_file_aside(tmp_path):
    path = tmp_path / "runs.sqlite"
    altered_store(path, "CREATE TABLE experiments (id TEXT, what TEXT)")
    original = path.read_bytes()
    with ExperimentStore(path) as store:
        backup = backup_in(tmp_path)
        assert "its table experiments has no column config" in store.notice
        assert store.list() == [] and store.runs.list_runs() == []
    assert backup.read_bytes() == original


# -- locked, in the way, full ---------------------------------------------------------------

def test_a_locked_store_is_waited_for_then_a_clear_error(tmp_path):
    path = tmp_path / "runs.sqlite"
    make_store(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process writing
    try:
        with RunStore(path, wait_s=0.1) as store:
            assert [r.id for r in store.list_runs()] == [RUN]  # WAL: reading never waits
            with pytest.raises(StoreBusy) as caught:
                store.rename(RUN, "new")
        assert str(caught.value) == ("the run store is busy (locked by another process for "
                                     f"more than 0.1 s): {path}; try again")
        before = files(tmp_path)
        with RunStore(path, wait_s=0.1) as runs, pytest.raises(StoreBusy, match="busy"):
            ExperimentStore(runs)  # its tables must be made: a write
        assert files(tmp_path) == before
    finally:
        other.execute("ROLLBACK")
        other.close()
    with RunStore(path) as store:
        assert store.get(RUN).name == "run aaaa"


def test_the_wait_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("RESNET_STUDIO_STORE_WAIT_S", "0.25")
    assert sqlite_store.wait_seconds(5.0) == 0.25
    monkeypatch.setenv("RESNET_STUDIO_STORE_WAIT_S", "soon")
    assert sqlite_store.wait_seconds(5.0) == 5.0


def test_a_folder_in_the_way(tmp_path):
    path = tmp_path / "runs.sqlite"
    path.mkdir()
    (path / "keep.txt").write_text("mine")
    for open_store in (RunStore, ExperimentStore):
        with pytest.raises(StoreError) as caught:
            open_store(path)
        assert isinstance(caught.value, OSError)
        assert str(caught.value) == (f"the run store {path} is a folder, not a file: move it "
                                     "away and try again")
    assert files(path) == {"keep.txt": b"mine"}


def test_a_full_disk_fails_the_write_and_keeps_the_store(tmp_path):
    path = tmp_path / "runs.sqlite"
    make_store(path)
    with RunStore(path) as store:
        pages = store.db.row("PRAGMA page_count")[0]
        store.db.execute(f"PRAGMA max_page_count={pages}")  # sqlite: the disk is full
        before = path.read_bytes()
        with pytest.raises(StoreError) as caught:
            store.add_metrics(RUN, [(s, "train/loss", 1.0) for s in range(30, 5000)], step=5000)
        assert str(caught.value) == (f"the disk is full: could not write the run store {path}; "
                                     "free some space and try again")
        assert store.metrics(RUN) == {"train/loss": [(10, 2.0), (20, 1.5)]}  # rolled back
        assert store.get(RUN).step == 0
    assert path.read_bytes() == before
