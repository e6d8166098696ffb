"""RunStore: every training run and its metrics in one SQLite file (`data_dir()/runs.sqlite`).

WAL mode, so a window can read while a training process writes. A run records the pid, host and
a heartbeat of the process that owns it; opening the store marks runs whose owner is gone as
"interrupted" (the process was killed, the machine lost power). Metrics arrive in batches
(`training.recorder.RunRecorder` flushes every couple of seconds), so a killed run keeps
everything up to its last flush.

The store degrades instead of dying (`core.common.sqlite_store`): a store that cannot be written
opens read-only (`read_only` says why; writes raise StoreReadOnly), a damaged or foreign file is
moved aside and a new store started (`notice` names the backup), a store locked by another
process is waited for (BUSY_WAIT_S, a recording run RECORDING_WAIT_S;
$RESNET_STUDIO_STORE_WAIT_S overrides both), and every sqlite error reaches the caller as a
StoreError (an OSError). Opening a healthy store writes nothing unless a run's process died.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_studio.core.common.sqlite_store import (
    StoreBusy,
    StoreConnection,
    Tables,
    wait_seconds,
)
from resnet_studio.core.training.recorder import RunRecorder  # importable from here too

ACTIVE = ("running", "paused")
SCHEMA_VERSION = 1
# A live training process beats at least every flush; a "running" row on this host whose
# process still exists but has not beaten for this long is taken as a reused pid.
STALE_AFTER_S = 15 * 60
# How long to wait for a store another process keeps locked (WAL: only writers wait for
# writers, each for milliseconds): a command or the window says so after a few seconds; a
# training run would rather wait than fail.
BUSY_WAIT_S = 5.0
RECORDING_WAIT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    model TEXT NOT NULL,
    dataset TEXT NOT NULL DEFAULT '',
    spec TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    heartbeat REAL NOT NULL,
    pid INTEGER,
    host TEXT,
    checkpoint TEXT,
    run_dir TEXT,
    step INTEGER NOT NULL DEFAULT 0,
    total_steps INTEGER NOT NULL DEFAULT 0,
    experiment_id TEXT
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL
);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics(run_id, name, step);
CREATE INDEX IF NOT EXISTS runs_experiment ON runs(experiment_id);
"""
RUN_TABLES = Tables(_SCHEMA)


@dataclass(frozen=True)
class RunRecord:
    id: str
    name: str
    model: str
    dataset: str
    spec: dict
    config: dict
    status: str
    message: str
    created: float
    updated: float
    heartbeat: float
    pid: int | None
    host: str | None
    checkpoint: str | None
    run_dir: str | None
    step: int
    total_steps: int
    experiment_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(RunRecord))


def new_run_id() -> str:
    """Sortable and readable: 20260123-142501-3f9a."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + os.urandom(2).hex()


def default_store_path() -> Path:
    from resnet_studio.core.common.paths import data_dir

    return data_dir() / "runs.sqlite"


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (killed, not yet reaped by its parent) counts as gone
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


class RunStore:
    """Thread-safe (one connection behind a lock); several processes may share the file.

    `require_write`: a store that cannot be written is a StoreReadOnly error at once (a
    training run records into it) instead of a read-only store. `wait_s`: how long to wait for
    another process's lock (default BUSY_WAIT_S, RECORDING_WAIT_S with require_write).
    """

    def __init__(self, path: str | Path | None = None, *, check_interrupted: bool = True,
                 require_write: bool = False, wait_s: float | None = None):
        path = Path(path) if path is not None else default_store_path()
        if wait_s is None:
            wait_s = wait_seconds(RECORDING_WAIT_S if require_write else BUSY_WAIT_S)
        self.db = StoreConnection(path, RUN_TABLES, version=SCHEMA_VERSION,
                                  require_write=require_write, wait_s=wait_s)
        self.path = self.db.path
        if check_interrupted and not self.read_only:
            with contextlib.suppress(StoreBusy):  # housekeeping: the next opening does it
                self.mark_interrupted()

    @property
    def read_only(self) -> str:
        """Why the store cannot be written ('' when it can)."""
        return self.db.read_only

    @property
    def notice(self) -> str:
        """What a user should hear about how the store was opened ('' if nothing): a damaged
        file moved aside (naming the backup), or a store shown read-only."""
        if self.db.moved_aside:
            return self.db.moved_aside
        if self.read_only:
            return f"the run store is read-only: {self.read_only}; showing it without changes"
        return ""

    # -- housekeeping ----------------------------------------------------------------------
    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def mark_interrupted(self) -> list[str]:
        """Runs left running/paused by a process that no longer exists -> "interrupted"."""
        host = socket.gethostname()
        now = time.time()
        gone = []
        for row in self.db.rows("SELECT id, status, pid, host, heartbeat FROM runs "
                                "WHERE status IN (?, ?)", ACTIVE):
            if row["host"] == host:
                dead = not pid_alive(row["pid"] or 0) or (
                    row["status"] == "running" and row["pid"] != os.getpid()
                    and now - row["heartbeat"] > STALE_AFTER_S)
            else:  # another machine sharing the folder: only the heartbeat tells
                dead = row["status"] == "running" and now - row["heartbeat"] > STALE_AFTER_S
            if dead:
                gone.append(row["id"])
        for run_id in gone:
            self.db.execute("UPDATE runs SET status='interrupted', updated=?, message=? WHERE "
                            "id=?", (now, "the training process ended without saying goodbye "
                                     "(killed or crashed); resume from its last checkpoint",
                                     run_id))
        return gone

    # -- runs ------------------------------------------------------------------------------
    def create_run(self, *, run_id: str | None = None, name: str, model: str, spec: dict,
                   config: dict, dataset: str = "", status: str = "running",
                   run_dir: str | None = None, total_steps: int = 0,
                   experiment_id: str | None = None) -> RunRecord:
        run_id = run_id or new_run_id()
        now = time.time()
        self.db.execute("INSERT INTO runs (id, name, model, dataset, spec, config, status, "
                        "created, updated, heartbeat, pid, host, run_dir, total_steps, "
                        "experiment_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (run_id, name, model, dataset, json.dumps(spec), json.dumps(config),
                         status, now, now, now, os.getpid(), socket.gethostname(), run_dir,
                         total_steps, experiment_id))
        return self.get(run_id)

    def claim(self, run_id: str, *, step: int, status: str = "running") -> None:
        """A resumed run: this process owns it now; metrics after `step` are dropped (they
        belong to the part of the old run that the checkpoint does not contain)."""
        now = time.time()
        with self.db.transaction() as db:
            db.execute("DELETE FROM metrics WHERE run_id=? AND step>?", (run_id, step))
            db.execute("UPDATE runs SET status=?, message='', pid=?, host=?, heartbeat=?, "
                       "updated=?, step=? WHERE id=?",
                       (status, os.getpid(), socket.gethostname(), now, now, step, run_id))

    def exists(self, run_id: str) -> bool:
        return self.db.row("SELECT 1 FROM runs WHERE id=?", (run_id,)) is not None

    def update(self, run_id: str, **fields: Any) -> None:
        allowed = {"name", "status", "message", "checkpoint", "run_dir", "step", "total_steps",
                   "experiment_id", "config", "spec"}
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"cannot update {', '.join(sorted(bad))}")
        for key in ("config", "spec"):
            if key in fields and not isinstance(fields[key], str):
                fields[key] = json.dumps(fields[key])
        now = time.time()
        cols = ", ".join(f"{k}=?" for k in fields)
        self.db.execute(f"UPDATE runs SET {cols}, updated=?, heartbeat=? WHERE id=?",
                        (*fields.values(), now, now, run_id))

    def set_status(self, run_id: str, status: str, message: str = "") -> None:
        self.update(run_id, status=status, message=message)

    def heartbeat(self, run_id: str) -> None:
        self.db.execute("UPDATE runs SET heartbeat=? WHERE id=?", (time.time(), run_id))

    def resolve(self, ref: str) -> str:
        """A full id, a unique prefix of one, or "last"/"latest" (the newest run)."""
        ref = str(ref).strip()
        if ref in ("last", "latest"):
            row = self.db.row("SELECT id FROM runs ORDER BY created DESC LIMIT 1")
            if row is None:
                raise KeyError("there are no runs yet")
            return row["id"]
        if self.exists(ref):
            return ref
        rows = self.db.rows("SELECT id FROM runs WHERE id LIKE ? ORDER BY created",
                            (ref.replace("%", "") + "%",))
        if len(rows) == 1:
            return rows[0]["id"]
        if len(rows) > 1:
            raise KeyError(f"run '{ref}' is ambiguous: {', '.join(r['id'] for r in rows[:5])}")
        raise KeyError(f"no run '{ref}' (see `resnet-studio runs`)")

    def get(self, ref: str) -> RunRecord:
        row = self.db.row("SELECT * FROM runs WHERE id=?", (self.resolve(ref),))
        return _record(row)

    def list_runs(self, *, experiment_id: str | None = None,
                  status: str | None = None) -> list[RunRecord]:
        sql, params = "SELECT * FROM runs", []
        where = []
        if experiment_id is not None:
            where.append("experiment_id=?")
            params.append(experiment_id)
        if status is not None:
            where.append("status=?")
            params.append(status)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [_record(r) for r in self.db.rows(sql + " ORDER BY created", params)]

    def rename(self, ref: str, name: str) -> None:
        if not name.strip():
            raise ValueError("a run name cannot be empty")
        self.update(self.resolve(ref), name=name.strip())

    def delete(self, ref: str, *, delete_files: bool = False) -> None:
        """Remove the run and its metrics; with delete_files also its folder (checkpoints)."""
        rec = self.get(ref)
        if rec.status in ACTIVE and rec.pid and pid_alive(rec.pid):
            raise ValueError(f"run {rec.id} is still {rec.status}; stop it first")
        with self.db.transaction() as db:
            db.execute("DELETE FROM metrics WHERE run_id=?", (rec.id,))
            db.execute("DELETE FROM runs WHERE id=?", (rec.id,))
        if delete_files and rec.run_dir:
            import shutil

            from resnet_studio.core.common.paths import runs_dir

            folder = Path(rec.run_dir)
            # only ever delete inside the app's own runs folder
            if folder.is_dir() and runs_dir().resolve() in folder.resolve().parents:
                shutil.rmtree(folder, ignore_errors=True)

    # -- metrics ---------------------------------------------------------------------------
    def add_metrics(self, run_id: str, rows: Iterable[tuple[int, str, float]],
                    step: int | None = None) -> None:
        """Append (step, name, value) rows in one transaction and beat the heart."""
        rows = [(run_id, int(s), str(n), None if v is None else float(v)) for s, n, v in rows]
        now = time.time()
        with self.db.transaction() as db:
            if rows:
                db.executemany("INSERT INTO metrics (run_id, step, name, value) "
                               "VALUES (?, ?, ?, ?)", rows)
            if step is not None:
                db.execute("UPDATE runs SET heartbeat=?, updated=?, step=? WHERE id=?",
                           (now, now, step, run_id))
            else:
                db.execute("UPDATE runs SET heartbeat=? WHERE id=?", (now, run_id))

    def metrics(self, ref: str, name: str | None = None) -> dict[str, list[tuple[int, float]]]:
        run_id = self.resolve(ref)
        sql = "SELECT step, name, value FROM metrics WHERE run_id=?"
        params: list[Any] = [run_id]
        if name is not None:
            sql += " AND name=?"
            params.append(name)
        out: dict[str, list[tuple[int, float]]] = {}
        for r in self.db.rows(sql + " ORDER BY name, step, rowid", params):
            out.setdefault(r["name"], []).append((r["step"], r["value"]))
        return out

    def has_metrics(self, ref: str, prefix: str = "") -> bool:
        """Whether the run has a metric whose name starts with `prefix` ("grad/": gradient
        norms); one indexed probe, without reading the metrics."""
        run_id = self.resolve(ref)
        if not prefix:
            sql, params = "SELECT 1 FROM metrics WHERE run_id=? LIMIT 1", (run_id,)
        else:  # the names in [prefix, prefix with its last character incremented)
            end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
            sql = "SELECT 1 FROM metrics WHERE run_id=? AND name>=? AND name<? LIMIT 1"
            params = (run_id, prefix, end)
        return self.db.row(sql, params) is not None

    def last_metrics(self, ref: str) -> dict[str, float]:
        """The latest value of every metric of a run (for tables)."""
        run_id = self.resolve(ref)
        rows = self.db.rows("SELECT m.name, m.value FROM metrics m JOIN (SELECT name, MAX(step) "
                            "AS s FROM metrics WHERE run_id=? GROUP BY name) last "
                            "ON m.name=last.name AND m.step=last.s WHERE m.run_id=?",
                            (run_id, run_id))
        return {r["name"]: r["value"] for r in rows}

    def export_csv(self, ref: str, path: str | Path | None = None) -> str:
        """Wide CSV: one row per step, one column per metric. Written atomically if `path`."""
        series = self.metrics(ref)
        names = sorted(series)
        table: dict[int, dict[str, float]] = {}
        for name, points in series.items():
            for step, value in points:
                table.setdefault(step, {})[name] = value
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["step", *names])
        for step in sorted(table):
            row = table[step]
            w.writerow([step, *("" if row.get(n) is None else repr(row[n]) for n in names)])
        text = buf.getvalue()
        if path is not None:
            from resnet_studio.core.common.files import write_text_atomic

            write_text_atomic(Path(path), text)
        return text


def _record(row: sqlite3.Row) -> RunRecord:
    d = {name: row[name] for name in _RECORD_FIELDS}  # a column added by hand stays out
    d["spec"] = json.loads(d["spec"])
    d["config"] = json.loads(d["config"])
    return RunRecord(**d)


__all__ = ["ACTIVE", "RUN_TABLES", "RunRecord", "RunRecorder", "RunStore", "default_store_path",
           "new_run_id"]
