"""`resnet-studio runs` / `sweep` / `train` over a store that is read-only, damaged, foreign,
locked or in the way: one line on stderr, exit code 2 for what cannot be done, never a
traceback, and the exact bytes of the store's folder as they were (or the backup's)."""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from resnet_studio.cli import main
from resnet_studio.core.common import sqlite_store
from resnet_studio.core.training.store import RunStore
from tests.helpers import backup_in, files

RUN = "20260101-000000-aaaa"
READ_ONLY_NOTE = ("the run store is read-only: simulated: the disk is mounted read-only; "
                  "showing it without changes\n")


@pytest.fixture
def home():
    return Path(os.environ["RESNET_STUDIO_HOME"])  # tests/conftest.py: a fresh folder per test


@pytest.fixture
def store_path(home):
    path = home / "runs.sqlite"
    with RunStore(path) as store:
        store.create_run(run_id=RUN, name="first", model="resnet20", spec={}, config={},
                         status="finished")
        store.add_metrics(RUN, [(10, "train/loss", 2.0), (20, "train/loss", 1.5)])
    return path


def cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def simulate_read_only(monkeypatch):
    monkeypatch.setattr(sqlite_store, "_why_read_only",
                        lambda path: "simulated: the disk is mounted read-only")


# -- read-only ------------------------------------------------------------------------------

def test_listing_a_read_only_store_works_with_a_note(store_path, monkeypatch, capsys):
    before = files(store_path.parent)
    simulate_read_only(monkeypatch)
    code, out, err = cli(capsys, "runs")
    assert code == 0 and err == READ_ONLY_NOTE and f"{RUN}  resnet20" in out
    code, out, err = cli(capsys, "runs", "show", "last")
    assert code == 0 and err == READ_ONLY_NOTE and json.loads(out)["last"] == {"train/loss": 1.5}
    code, out, err = cli(capsys, "runs", "export", "last")
    assert (code, out, err) == (0, "step,train/loss\n10,2.0\n20,1.5\n", READ_ONLY_NOTE)
    code, out, err = cli(capsys, "sweep", "--list")
    assert (code, out, err) == (0, "no experiments yet (run `resnet-studio sweep`)\n",
                                READ_ONLY_NOTE)
    assert files(store_path.parent) == before


@pytest.mark.parametrize("args", [["runs", "rename", "last", "new name"],
                                  ["runs", "delete", RUN, "--files"]])
def test_changing_a_read_only_store_is_one_clear_error(store_path, monkeypatch, capsys, args):
    before = files(store_path.parent)
    simulate_read_only(monkeypatch)
    assert cli(capsys, *args) == (2, "", "resnet-studio runs: error: the run store is "
                                         "read-only: simulated: the disk is mounted read-only; "
                                         "nothing was changed\n")
    assert files(store_path.parent) == before


def test_training_into_a_read_only_store_stops_before_it_starts(store_path, monkeypatch, capsys):
    before = files(store_path.parent)
    simulate_read_only(monkeypatch)
    code, out, err = cli(capsys, "train", "resnet20", "--steps", "1", "--dataset",
                         "synthetic:size=8,train=16,val=16", "--offline", "--quiet")
    assert (code, out) == (2, "")
    assert err == ("resnet-studio train: error: the run store is read-only: simulated: the disk "
                   "is mounted read-only; nothing can be recorded\n")
    assert files(store_path.parent) == before


def _can_mount() -> bool:
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "--mount", "mount", "-t", "tmpfs", "tmpfs", "/mnt"],
                           capture_output=True)
    return probe.returncode == 0


needs_mounts = pytest.mark.skipif(not _can_mount(), reason="needs root and `unshare --mount` "
                                  "(a real read-only mount, a real full disk)")

# Run in a private mount namespace (the mounts vanish with it): "$PY" is this Python.
DRIVER = """
import json, sys
from resnet_studio.cli import main
print(json.dumps([main(args) for args in json.loads(sys.argv[1])]))
"""
FILES = """
import hashlib, json, pathlib, sys
print(json.dumps({p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                  for p in sorted(pathlib.Path(sys.argv[1]).iterdir())}))
"""


def unshared(script, *args):
    return subprocess.run(["unshare", "--mount", "sh", "-c", script, "sh", *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PY": sys.executable},
                          cwd=Path(__file__).resolve().parents[2])


@needs_mounts
def test_a_store_on_a_read_only_file_system(store_path, tmp_path):
    view = tmp_path / "read-only view"
    view.mkdir()
    before = files(store_path.parent)
    commands = [["runs"], ["runs", "export", "last"], ["runs", "rename", "last", "x"]]
    done = unshared('mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" && '
                    'RESNET_STUDIO_HOME="$2" "$PY" -c "$3" "$4"',
                    str(store_path.parent), str(view), DRIVER, json.dumps(commands))
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [0, 0, 2]
    note = (f"the run store is read-only: {view} is on a read-only file system; showing it "
            "without changes")
    assert done.stderr.splitlines() == [
        note, note, f"resnet-studio runs: error: the run store is read-only: {view} is on a "
                    "read-only file system; nothing was changed"]
    assert files(store_path.parent) == before


FILL_THE_DISK = """
import sys
from pathlib import Path
from resnet_studio.core.training.store import RunStore
home = Path(sys.argv[1])
with RunStore(home / "runs.sqlite") as store:
    store.create_run(run_id="r1", name="first", model="resnet20", spec={}, config={},
                     status="finished")
try:
    with open(home / "filler", "wb") as f:
        while True:
            f.write(b"x" * 65536)
            f.flush()
except OSError:
    pass
"""


@needs_mounts
def test_a_store_on_a_full_disk_lists_and_refuses_changes(tmp_path):
    disk = tmp_path / "small disk"
    disk.mkdir()
    commands = [["runs"], ["runs", "rename", "last", "a much longer name"], ["sweep", "--list"]]
    done = unshared('mount -t tmpfs -o size=4m tmpfs "$1" && "$PY" -c "$2" "$1" && '
                    '"$PY" -c "$3" "$1" && RESNET_STUDIO_HOME="$1" "$PY" -c "$4" "$5" && '
                    '"$PY" -c "$3" "$1"', str(disk), FILL_THE_DISK, FILES, DRIVER,
                    json.dumps(commands))
    lines = done.stdout.splitlines()
    assert "Traceback" not in done.stderr
    assert json.loads(lines[-2]) == [0, 2, 0]
    assert lines[-1] == lines[0]  # every file on the disk as it was, byte for byte
    note = (f"the run store is read-only: the disk holding {disk} is full; showing it without "
            "changes")
    assert done.stderr.splitlines() == [
        note, f"resnet-studio runs: error: the run store is read-only: the disk holding {disk} "
              "is full; nothing was changed", note]


# -- damaged and foreign --------------------------------------------------------------------

def test_a_corrupt_store_is_moved_aside_and_runs_goes_on(home, capsys):
    junk = os.urandom(8192)
    (home / "runs.sqlite").write_bytes(junk)
    code, out, err = cli(capsys, "runs")
    backup = backup_in(home)
    assert code == 0 and out.startswith("no runs yet")
    assert err == (f"the run store {home / 'runs.sqlite'} was unreadable (file is not a "
                   f"database); moved it to {backup} and started a new one\n")
    assert backup.read_bytes() == junk
    assert cli(capsys, "runs")[::2] == (0, "")  # the new store: no note any more


def test_a_page_damaged_inside_is_moved_aside_when_a_listing_meets_it(store_path, capsys):
    with sqlite3.connect(store_path) as db:
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name='metrics'").fetchone()[0]
    db.close()
    data = bytearray(store_path.read_bytes())
    data[(root - 1) * 4096:root * 4096] = b"\xff" * 4096
    store_path.write_bytes(bytes(data))
    code, out, err = cli(capsys, "runs")
    backup = backup_in(store_path.parent)
    assert (code, out) == (2, "")
    assert err == (f"resnet-studio runs: error: the run store {store_path} was unreadable "
                   f"(database disk image is malformed); moved it to {backup} and started a "
                   "new one; try again\n")
    assert backup.read_bytes() == bytes(data)
    assert cli(capsys, "runs") == (0, "no runs yet (start one with `resnet-studio train "
                                      "resnet20`)\n", "")


def test_a_corrupt_store_that_cannot_be_moved_is_refused(home, monkeypatch, capsys):
    (home / "runs.sqlite").write_bytes(b"\x00garbage" * 512)
    before = files(home)

    def refuse(src, dst):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(sqlite_store.os, "rename", refuse)
    for command in ("runs", "sweep"):
        code, out, err = cli(capsys, command, *(["--list"] if command == "sweep" else []))
        assert (code, out) == (2, "")
        assert err == (f"resnet-studio {command}: error: the run store {home / 'runs.sqlite'} "
                       "is unreadable (file is not a database) and could not be moved aside "
                       "(Read-only file system); move it away and try again\n")
    assert files(home) == before


def test_a_foreign_sqlite_file_is_moved_aside_by_sweep_too(home, capsys):
    path = home / "runs.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT)")
        db.execute("INSERT INTO photos (path) VALUES ('holiday.jpg')")
    db.close()
    original = path.read_bytes()
    code, out, err = cli(capsys, "sweep", "--list")
    backup = backup_in(home)
    assert (code, out) == (0, "no experiments yet (run `resnet-studio sweep`)\n")
    assert err == (f"the run store {path} was unreadable (a SQLite database of something else, "
                   f"with tables photos); moved it to {backup} and started a new one\n")
    assert backup.read_bytes() == original


def test_a_store_from_a_newer_version_is_refused_untouched(store_path, capsys):
    with sqlite3.connect(store_path) as db:
        db.execute("PRAGMA user_version=2")
    db.close()
    before = files(store_path.parent)
    assert cli(capsys, "runs", "show", "last") == (
        2, "", f"resnet-studio runs: error: the run store {store_path} was written by a newer "
               "ResNet Studio (store version 2; this one knows 1): update ResNet Studio to open "
               "it\n")
    assert files(store_path.parent) == before


# -- locked, in the way, full ---------------------------------------------------------------

def test_a_locked_store_waits_a_little_then_says_busy(store_path, monkeypatch, capsys):
    monkeypatch.setenv("RESNET_STUDIO_STORE_WAIT_S", "0.1")
    other = sqlite3.connect(store_path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process in the middle of a write
    try:
        before = files(store_path.parent)
        assert cli(capsys, "runs")[0] == 0  # WAL: a listing never waits for a writer
        busy = f"the run store is busy (locked by another process for more than 0.1 s): " \
               f"{store_path}; try again\n"
        assert cli(capsys, "runs", "rename", "last", "x") == (2, "", "resnet-studio runs: "
                                                                     "error: " + busy)
        assert cli(capsys, "sweep", "--list") == (2, "", "resnet-studio sweep: error: " + busy)
        assert files(store_path.parent) == before
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_locked_store_without_wal_is_busy_even_for_a_listing(store_path, monkeypatch, capsys):
    monkeypatch.setenv("RESNET_STUDIO_STORE_WAIT_S", "0.1")
    other = sqlite3.connect(store_path, isolation_level=None)
    other.execute("PRAGMA journal_mode=DELETE")  # as another tool may leave it
    other.execute("BEGIN EXCLUSIVE")
    try:
        before = files(store_path.parent)
        code, out, err = cli(capsys, "runs")
        assert (code, out) == (2, "") and err.startswith("resnet-studio runs: error: the run "
                                                         "store is busy")
        assert files(store_path.parent) == before
    finally:
        other.execute("ROLLBACK")
        other.close()


@pytest.mark.parametrize("args", [["runs"], ["runs", "export", "last"], ["sweep", "--list"]])
def test_a_folder_where_the_store_should_be(home, capsys, args):
    (home / "runs.sqlite").mkdir()
    (home / "runs.sqlite" / "notes.txt").write_text("mine")
    assert cli(capsys, *args) == (2, "", f"resnet-studio {args[0]}: error: the run store "
                                         f"{home / 'runs.sqlite'} is a folder, not a file: "
                                         "move it away and try again\n")
    assert files(home / "runs.sqlite") == {"notes.txt": b"mine"}


def test_a_full_disk_when_renaming(store_path, monkeypatch, capsys):
    prepare = sqlite_store.StoreConnection._prepare

    def no_room(self, db):  # sqlite's "database or disk is full", as from a full disk
        prepare(self, db)
        db.execute(f"PRAGMA max_page_count={db.execute('PRAGMA page_count').fetchone()[0]}")

    monkeypatch.setattr(sqlite_store.StoreConnection, "_prepare", no_room)
    before = files(store_path.parent)
    assert cli(capsys, "runs", "rename", "last", "x" * 100_000) == (
        2, "", f"resnet-studio runs: error: the disk is full: could not write the run store "
               f"{store_path}; free some space and try again\n")
    assert files(store_path.parent) == before
    assert cli(capsys, "runs", "rename", "last", "short")[0] == 0  # the store still works
