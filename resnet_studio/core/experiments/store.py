"""Experiments next to the runs, in the RunStore's SQLite file: an experiment's config and its
cells (depth, variant, seed -> run id) in two small tables. Every run of an experiment is an
ordinary run of the RunStore (with its `experiment_id`), so `resnet-studio runs` and the Train
tab see it too. It shares the RunStore's connection (`core.common.sqlite_store`): the same
read-only fallback, damaged-file handling, bounded wait and StoreError messages.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_studio.core.common.sqlite_store import StoreBusy, Tables
from resnet_studio.core.experiments.plan import (
    Cell,
    Experiment,
    ExperimentError,
    check_depth,
    get_experiment_preset,
    normalize_variant,
)
from resnet_studio.core.experiments.results import ExperimentResults, RunSeries, compute_results
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.core.training.store import RunStore, pid_alive

if TYPE_CHECKING:
    from resnet_studio.core.experiments.plan import ExperimentPreset

_SCHEMA = """
CREATE TABLE IF NOT EXISTS experiments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    preset TEXT NOT NULL DEFAULT '',
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    pid INTEGER,
    host TEXT
);
CREATE TABLE IF NOT EXISTS experiment_cells (
    experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    depth INTEGER NOT NULL,
    variant TEXT NOT NULL,
    seed INTEGER NOT NULL,
    run_id TEXT,
    cancelled INTEGER NOT NULL DEFAULT 0,
    seconds REAL,
    PRIMARY KEY (experiment_id, idx)
);
"""
EXPERIMENT_TABLES = Tables(_SCHEMA)


def new_experiment_id() -> str:
    return "exp-" + time.strftime("%Y%m%d-%H%M%S") + "-" + os.urandom(2).hex()


class ExperimentStore:
    """Experiments next to the runs, in the RunStore's SQLite file and through its connection
    (the RunStore's API stays as it is). Thread-safe; several processes may share it."""

    def __init__(self, runs: RunStore | str | Path | None = None):
        self.runs = runs if isinstance(runs, RunStore) else RunStore(runs)
        self._owns_runs = not isinstance(runs, RunStore)
        self.path = self.runs.path
        self.db = self.runs.db
        try:
            self.db.add_tables(EXPERIMENT_TABLES)
            if not self.read_only:
                with contextlib.suppress(StoreBusy):  # housekeeping: the next opening does it
                    self.mark_interrupted()
        except BaseException:
            self.close()
            raise

    @property
    def read_only(self) -> str:
        """Why the store cannot be written ('' when it can)."""
        return self.runs.read_only

    @property
    def notice(self) -> str:
        """What a user should hear about how the store was opened (see RunStore.notice)."""
        return self.runs.notice

    def close(self) -> None:
        if self._owns_runs:
            self.runs.close()

    def __enter__(self) -> ExperimentStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _write(self, statements: list[tuple[str, tuple]]) -> None:
        with self.db.transaction() as db:
            for sql, params in statements:
                db.execute(sql, params)

    def mark_interrupted(self) -> list[str]:
        """Experiments left "running" by a process that no longer exists -> "interrupted"."""
        host = socket.gethostname()
        gone = [r["id"] for r in self.db.rows("SELECT id, pid, host FROM experiments WHERE "
                                              "status='running'")
                if r["host"] == host and not pid_alive(r["pid"] or 0)]
        for exp_id in gone:
            self.db.execute("UPDATE experiments SET status='interrupted', updated=?, message=? "
                            "WHERE id=?", (time.time(), "the process running it ended (killed "
                                           "or crashed); run it again to finish the missing "
                                           "runs", exp_id))
        return gone

    # -- experiments --------------------------------------------------------------------------
    def create(self, name: str, cells: Iterable[tuple[int, str, int]], config: TrainConfig, *,
               preset: str = "") -> Experiment:
        cells = [(check_depth(d), normalize_variant(v), int(s)) for d, v, s in cells]
        if not cells:
            raise ExperimentError("an experiment needs at least one run")
        if len(set(cells)) != len(cells):
            raise ExperimentError("the same (depth, variant, seed) appears twice")
        config = config.validate()
        exp_id = new_experiment_id()
        while self.db.row("SELECT 1 FROM experiments WHERE id=?", (exp_id,)):
            exp_id = new_experiment_id()
        now = time.time()
        stmts = [("INSERT INTO experiments (id, name, preset, config, status, created, updated) "
                  "VALUES (?, ?, ?, ?, 'created', ?, ?)",
                  (exp_id, name.strip() or exp_id, preset, config.to_json(indent=None), now,
                   now))]
        stmts += [("INSERT INTO experiment_cells (experiment_id, idx, depth, variant, seed) "
                   "VALUES (?, ?, ?, ?, ?)", (exp_id, i, d, v, s))
                  for i, (d, v, s) in enumerate(cells)]
        self._write(stmts)
        return self.get(exp_id)

    def create_from_preset(self, preset: ExperimentPreset | str, *, name: str | None = None,
                           **config_changes: Any) -> Experiment:
        p = get_experiment_preset(preset) if isinstance(preset, str) else preset
        config = p.config.replace(**config_changes) if config_changes else p.config
        return self.create(name or p.title, p.cells, config, preset=p.key)

    def resolve(self, ref: str) -> str:
        """A full id, a unique prefix (with or without "exp-"), or "last"."""
        ref = str(ref).strip()
        if ref in ("last", "latest"):
            row = self.db.row("SELECT id FROM experiments ORDER BY created DESC, rowid DESC "
                              "LIMIT 1")
            if row is None:
                raise KeyError("there are no experiments yet")
            return row["id"]
        for prefix in (ref, "exp-" + ref):
            rows = self.db.rows("SELECT id FROM experiments WHERE id LIKE ?",
                                (prefix.replace("%", "") + "%",))
            ids = [r["id"] for r in rows]
            if ref in ids:
                return ref
            if len(ids) == 1:
                return ids[0]
            if len(ids) > 1:
                raise KeyError(f"experiment '{ref}' is ambiguous: {', '.join(ids[:5])}")
        raise KeyError(f"no experiment '{ref}' (see `resnet-studio sweep --list`)")

    def get(self, ref: str) -> Experiment:
        exp_id = self.resolve(ref)
        row = self.db.row("SELECT * FROM experiments WHERE id=?", (exp_id,))
        cells = self.db.rows("SELECT c.*, r.status AS run_status, r.step AS run_step, "
                             "r.total_steps AS run_total FROM experiment_cells c LEFT JOIN runs r "
                             "ON r.id = c.run_id WHERE c.experiment_id=? ORDER BY c.idx",
                             (exp_id,))
        config = TrainConfig.from_json(row["config"])
        out = []
        for c in cells:
            if c["cancelled"]:
                status = "cancelled"
            elif c["run_id"] is None or c["run_status"] is None:
                status = "pending"
            else:
                status = c["run_status"]
            out.append(Cell(index=c["idx"], depth=c["depth"], variant=c["variant"],
                            seed=c["seed"], run_id=c["run_id"], cancelled=bool(c["cancelled"]),
                            seconds=c["seconds"], status=status, step=c["run_step"] or 0,
                            total_steps=c["run_total"] or config.steps))
        return Experiment(id=row["id"], name=row["name"], config=config, cells=tuple(out),
                          status=row["status"], created=row["created"], updated=row["updated"],
                          preset=row["preset"], message=row["message"])

    def list(self) -> list[Experiment]:
        ids = [r["id"] for r in self.db.rows("SELECT id FROM experiments ORDER BY created, "
                                             "rowid")]
        return [self.get(i) for i in ids]

    def rename(self, ref: str, name: str) -> None:
        if not name.strip():
            raise ValueError("an experiment name cannot be empty")
        self.db.execute("UPDATE experiments SET name=?, updated=? WHERE id=?",
                        (name.strip(), time.time(), self.resolve(ref)))

    def delete(self, ref: str, *, delete_runs: bool = True) -> None:
        exp = self.get(ref)
        if exp.status == "running":
            raise ExperimentError(f"experiment {exp.id} is running; stop it first")
        self._write([("DELETE FROM experiment_cells WHERE experiment_id=?", (exp.id,)),
                     ("DELETE FROM experiments WHERE id=?", (exp.id,))])
        if delete_runs:
            for c in exp.cells:
                if c.run_id and self.runs.exists(c.run_id):
                    self.runs.delete(c.run_id, delete_files=True)

    # -- cells ---------------------------------------------------------------------------------
    def add_cell(self, ref: str, depth: int, variant: str, seed: int = 0) -> Cell:
        """Add a run to the experiment (also while it runs: the runner picks it up). Adding a
        cancelled cell again brings it back (resumed from its checkpoint if it has one)."""
        exp = self.get(ref)
        depth, variant, seed = check_depth(depth), normalize_variant(variant), int(seed)
        old = exp.find(depth, variant, seed)
        if old is not None:
            if old.cancelled:
                self.db.execute("UPDATE experiment_cells SET cancelled=0 WHERE experiment_id=? "
                                "AND idx=?", (exp.id, old.index))
                self._touch(exp.id)
            return self.get(exp.id).cell(old.index)
        with self.db.transaction() as db:  # another process may be adding a cell too
            idx = db.row("SELECT COALESCE(MAX(idx), -1) + 1 AS n FROM experiment_cells "
                         "WHERE experiment_id=?", (exp.id,))["n"]
            db.execute("INSERT INTO experiment_cells (experiment_id, idx, depth, variant, seed) "
                       "VALUES (?, ?, ?, ?, ?)", (exp.id, idx, depth, variant, seed))
        self._touch(exp.id)
        return self.get(exp.id).cell(idx)

    def set_cancelled(self, ref: str, index: int, cancelled: bool = True) -> None:
        exp_id = self.resolve(ref)
        self.db.execute("UPDATE experiment_cells SET cancelled=? WHERE experiment_id=? AND "
                        "idx=?", (int(cancelled), exp_id, index))
        self._touch(exp_id)

    def set_cell_run(self, exp_id: str, index: int, run_id: str | None,
                     seconds: float | None = None) -> None:
        self.db.execute("UPDATE experiment_cells SET run_id=?, seconds=? WHERE experiment_id=? "
                        "AND idx=?", (run_id, seconds, exp_id, index))

    def set_status(self, exp_id: str, status: str, message: str = "") -> None:
        self.db.execute("UPDATE experiments SET status=?, message=?, updated=?, pid=?, host=? "
                        "WHERE id=?", (status, message, time.time(), os.getpid(),
                                       socket.gethostname(), exp_id))

    def claim(self, exp_id: str) -> None:
        """This process runs the experiment now; refuses if a live process already does."""
        with self.db.transaction() as db:
            row = db.row("SELECT status, pid, host FROM experiments WHERE id=?", (exp_id,))
            if (row["status"] == "running" and row["pid"] != os.getpid()
                    and row["host"] == socket.gethostname() and pid_alive(row["pid"] or 0)):
                raise ExperimentError(f"experiment {exp_id} is already running (process "
                                      f"{row['pid']})")
            self.set_status(exp_id, "running")

    def _touch(self, exp_id: str) -> None:
        self.db.execute("UPDATE experiments SET updated=? WHERE id=?", (time.time(), exp_id))

    # -- results ---------------------------------------------------------------------------------
    def series(self, ref: str | Experiment) -> dict[int, RunSeries]:
        """Each run's stored numbers, by cell index (cells without a run have none)."""
        exp = ref if isinstance(ref, Experiment) else self.get(ref)
        return {c.index: RunSeries.from_metrics(self.runs.metrics(c.run_id))
                for c in exp.cells if c.run_id and self.runs.exists(c.run_id)}

    def results(self, ref: str | Experiment) -> ExperimentResults:
        exp = ref if isinstance(ref, Experiment) else self.get(ref)
        return compute_results(exp, self.series(exp))
