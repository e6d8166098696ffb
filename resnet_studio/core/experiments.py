"""Experiments: a grid of CIFAR-style depths x variants x seeds trained under one TrainConfig, to
see the degradation problem (He et al. 2015, Fig. 6 and Table 6) with your own eyes.

    store = ExperimentStore()                         # the user's run store (or a path)
    exp = store.create("depth sweep", grid_cells((20, 56), ("plain", "residual"), (0,)),
                       EXPERIMENT_PRESETS["quick"].config)
    ExperimentRunner(store, exp.id).run()             # blocks; one Trainer at a time
    results = store.results(exp.id)                   # table, curves, degradation readout

Every run is an ordinary run of the RunStore (with its `experiment_id`), so `resnet-studio runs`
and the Train tab see it too. The experiment itself - its cells (depth, variant, seed -> run id)
and its config - lives in two small tables of the same SQLite file. A runner process that dies
leaves finished runs as they are; `ExperimentRunner(...).run()` on the same id later runs only
what is missing, resuming interrupted runs from their checkpoints.
"""

from __future__ import annotations

import math
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.training.callbacks import Callback, EvalResult, TrainLog, TrainResult
from resnet_studio.core.training.config import PRESETS as TRAIN_PRESETS
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.core.training.store import RunStore, _pid_alive

# -- the grid ----------------------------------------------------------------------------------

VARIANTS = ("plain", "residual", "residual_b", "preact")
VARIANT_LABELS = {"plain": "plain", "residual": "ResNet (A)", "residual_b": "ResNet (B)",
                  "preact": "pre-act ResNet"}
VARIANT_ALIASES = {"plain": "plain", "residual": "residual", "resnet": "residual",
                   "residual_a": "residual", "a": "residual", "residual_b": "residual_b",
                   "resnet_b": "residual_b", "b": "residual_b", "preact": "preact",
                   "pre_activation": "preact", "preact_resnet": "preact"}
STANDARD_DEPTHS = (20, 32, 44, 56, 110)
# He et al. 2015, Table 6: CIFAR-10 test error (%) of the option-A ResNets. Plain nets: none.
TABLE6 = {20: 8.75, 32: 7.51, 44: 7.17, 56: 6.97, 110: 6.43, 1202: 7.93}
# The last part of a run whose logged training error makes its "final training error" (one log
# window alone is a few hundred images: too noisy to compare two depths).
FINAL_FRACTION = 0.1
# A family "degrades" when the deepest net's training error exceeds the shallowest's by more
# than this (percentage points) and by more than the seed spread.
DEGRADATION_TOLERANCE = 1.0

# cell states: "pending" (not started), "cancelled" (skipped on purpose), or the run's status
DONE = ("finished", "diverged")  # a result; never re-run


class ExperimentError(ValueError):
    """A bad grid (depth not 6n+2, unknown variant) or an experiment that cannot run now."""


def normalize_variant(name: str) -> str:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in VARIANT_ALIASES:
        raise ExperimentError(f"unknown variant '{name}'; choose from {', '.join(VARIANTS)}")
    return VARIANT_ALIASES[key]


def check_depth(depth: int) -> int:
    depth = int(depth)
    if depth < 8 or (depth - 2) % 6:
        raise ExperimentError(f"depth {depth} is not a CIFAR ResNet depth: it must be 6n+2 with "
                              "n >= 1 (8, 14, 20, 32, 44, 56, 110, ...)")
    return depth


def make_spec(depth: int, variant: str) -> ArchSpec:
    """The CIFAR net of He et al. 2015 (3 stages of n basic blocks, widths 16/32/64) at `depth`:
    plain (no shortcuts), residual (option A, Table 6), residual_b (projection where the shape
    changes) or preact (He et al. 2016, pre-activation blocks, projection shortcuts)."""
    depth = check_depth(depth)
    variant = normalize_variant(variant)
    n = (depth - 2) // 6
    base = ArchSpec(name=f"resnet{depth}", block="basic", layers=(n, n, n), widths=(16, 32, 64),
                    stem="cifar", shortcut="A", num_classes=10)
    if variant == "plain":
        return base.plain_twin()
    if variant == "residual_b":
        return replace(base, name=f"resnet{depth}_b", shortcut="B")
    if variant == "preact":
        return replace(base, name=f"preact_resnet{depth}", shortcut="B", preact=True)
    return base


def model_label(depth: int, variant: str) -> str:
    """The paper's names: plain-20, ResNet-56, ResNet-B-56, pre-act-110."""
    return {"plain": f"plain-{depth}", "residual": f"ResNet-{depth}",
            "residual_b": f"ResNet-B-{depth}", "preact": f"pre-act-{depth}"}[variant]


@dataclass(frozen=True)
class Cell:
    """One run of an experiment: (depth, variant, seed) and what became of it."""

    index: int
    depth: int
    variant: str
    seed: int
    run_id: str | None = None
    cancelled: bool = False
    seconds: float | None = None  # training time of the run (resumed time included)
    status: str = "pending"  # pending | cancelled | the run's status (finished, running, ...)
    step: int = 0
    total_steps: int = 0

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.depth, self.variant, self.seed)

    @property
    def label(self) -> str:
        return f"{model_label(self.depth, self.variant)} seed {self.seed}"

    @property
    def done(self) -> bool:
        return self.cancelled or self.status in DONE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def grid_cells(depths: Iterable[int], variants: Iterable[str],
               seeds: Iterable[int] = (0,)) -> list[tuple[int, str, int]]:
    """Every (depth, variant, seed), variant-major like the paper's panels."""
    depths = sorted({check_depth(d) for d in depths})
    variants = list(dict.fromkeys(normalize_variant(v) for v in variants))
    seeds = list(dict.fromkeys(int(s) for s in seeds))
    if not depths or not variants or not seeds:
        raise ExperimentError("an experiment needs at least one depth, one variant and one seed")
    return [(d, v, s) for v in variants for d in depths for s in seeds]


@dataclass(frozen=True)
class Experiment:
    id: str
    name: str
    config: TrainConfig  # shared by every run; each run's seed replaces config.seed
    cells: tuple[Cell, ...]
    status: str  # created | running | finished | incomplete | stopped | interrupted | failed
    created: float
    updated: float
    preset: str = ""
    message: str = ""

    @property
    def depths(self) -> list[int]:
        return sorted({c.depth for c in self.cells})

    @property
    def variants(self) -> list[str]:
        return [v for v in VARIANTS if any(c.variant == v for c in self.cells)]

    @property
    def seeds(self) -> list[int]:
        return sorted({c.seed for c in self.cells})

    def missing(self) -> list[Cell]:
        """Cells a resume would run: not finished/diverged and not cancelled."""
        return [c for c in self.cells if not c.done]

    def cell(self, index: int) -> Cell:
        for c in self.cells:
            if c.index == index:
                return c
        raise KeyError(f"experiment {self.id} has no run #{index}")

    def find(self, depth: int, variant: str, seed: int) -> Cell | None:
        key = (int(depth), normalize_variant(variant), int(seed))
        return next((c for c in self.cells if c.key == key), None)

    def run_config(self, cell: Cell) -> TrainConfig:
        return self.config.replace(seed=cell.seed)

    @property
    def progress(self) -> tuple[int, int]:
        """(cells done or cancelled, all cells)."""
        return sum(c.done for c in self.cells), len(self.cells)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "status": self.status, "preset": self.preset,
                "message": self.message, "created": self.created, "updated": self.updated,
                "depths": self.depths, "variants": self.variants, "seeds": self.seeds,
                "config": self.config.to_dict(), "cells": [c.to_dict() for c in self.cells]}


# -- presets -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExperimentPreset:
    key: str
    title: str
    description: str
    cells: tuple[tuple[int, str, int], ...]
    config: TrainConfig

    @property
    def depths(self) -> list[int]:
        return sorted({d for d, _, _ in self.cells})

    @property
    def variants(self) -> list[str]:
        return [v for v in VARIANTS if any(c[1] == v for c in self.cells)]

    @property
    def seeds(self) -> list[int]:
        return sorted({s for _, _, s in self.cells})


# The offline demo (DOMAIN.md, "What a quick offline demo can show"): the built-in synthetic set
# (16x16, 10 classes), batch 64, 400 steps; four nets in about three minutes on a 2-core CPU.
# Pinned here rather than taken from the Train tab's quick_cpu preset, so that tuning that one
# never silently changes the demonstration. lr 0.1 without warm-up leaves ResNet-56 stuck near
# chance for most of the 400 steps on this data (77% training error at the end, measured); a
# short warm-up and lr 0.05 let the residual nets leave the initial plateau, while plain-56 stays
# near chance either way.
QUICK_CONFIG = TrainConfig(
    dataset="synthetic", steps=400, batch_size=64, optimizer="sgd", lr=0.05, momentum=0.9,
    nesterov=False, weight_decay=1e-4, schedule="cosine", warmup_steps=50, augment=True,
    eval_every=100, checkpoint_every=0, log_every=10, device="auto")

EXPERIMENT_PRESETS: dict[str, ExperimentPreset] = {
    "quick": ExperimentPreset(
        "quick", "Quick demo (CPU, about 3 minutes)",
        "Plain and residual nets of depth 20 and 56 on the built-in synthetic images, "
        f"{QUICK_CONFIG.steps} steps each: plain-56 ends with a higher training error than "
        "plain-20; ResNet-56 does not.",
        tuple(grid_cells((20, 56), ("plain", "residual"), (0,))), QUICK_CONFIG),
    "he2015_fig6": ExperimentPreset(
        "he2015_fig6", "He et al. 2015 Fig. 6 (GPU)",
        "CIFAR-10 with the paper's schedule (64k iterations, batch 128, lr 0.1 divided by 10 at "
        "32k and 48k): plain-20/32/44/56 and ResNet-20/32/44/56/110. Hours on a GPU per net. "
        "(The paper warms ResNet-110 up at lr 0.01 for ~400 iterations; this preset does not.)",
        tuple([(d, "plain", 0) for d in (20, 32, 44, 56)]
              + [(d, "residual", 0) for d in (20, 32, 44, 56, 110)]),
        TRAIN_PRESETS["he2015_cifar"]),
}


def get_experiment_preset(name: str) -> ExperimentPreset:
    key = name.strip().lower().replace("-", "_")
    aliases = {"quick_demo": "quick", "fig6": "he2015_fig6", "he2015": "he2015_fig6",
               "paper": "he2015_fig6"}
    key = aliases.get(key, key)
    if key not in EXPERIMENT_PRESETS:
        raise KeyError(f"unknown experiment preset '{name}'; choose one of "
                       f"{', '.join(EXPERIMENT_PRESETS)}")
    return EXPERIMENT_PRESETS[key]


# -- the store ---------------------------------------------------------------------------------------

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


def new_experiment_id() -> str:
    return "exp-" + time.strftime("%Y%m%d-%H%M%S") + "-" + os.urandom(2).hex()


class ExperimentStore:
    """Experiments next to the runs, in the RunStore's SQLite file (its own connection, so the
    RunStore's API and schema stay as they are). Thread-safe; several processes may share it."""

    def __init__(self, runs: RunStore | str | Path | None = None):
        self.runs = runs if isinstance(runs, RunStore) else RunStore(runs)
        self._owns_runs = not isinstance(runs, RunStore)
        self.path = self.runs.path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False,
                                   isolation_level=None)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
        self.mark_interrupted()

    def close(self) -> None:
        with self._lock:
            self._db.close()
        if self._owns_runs:
            self.runs.close()

    def __enter__(self) -> ExperimentStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _q(self, sql: str, params: Iterable = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, tuple(params))

    def _write(self, statements: list[tuple[str, tuple]]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    self._db.execute(sql, params)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def mark_interrupted(self) -> list[str]:
        """Experiments left "running" by a process that no longer exists -> "interrupted"."""
        host = socket.gethostname()
        gone = [r["id"] for r in self._q("SELECT id, pid, host FROM experiments WHERE "
                                         "status='running'").fetchall()
                if r["host"] == host and not _pid_alive(r["pid"] or 0)]
        for exp_id in gone:
            self._q("UPDATE experiments SET status='interrupted', updated=?, message=? "
                    "WHERE id=?", (time.time(), "the process running it ended (killed or "
                                   "crashed); run it again to finish the missing runs", exp_id))
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
        while self._q("SELECT 1 FROM experiments WHERE id=?", (exp_id,)).fetchone():
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
            row = self._q("SELECT id FROM experiments ORDER BY created DESC, rowid DESC "
                          "LIMIT 1").fetchone()
            if row is None:
                raise KeyError("there are no experiments yet")
            return row["id"]
        for prefix in (ref, "exp-" + ref):
            rows = self._q("SELECT id FROM experiments WHERE id LIKE ?",
                           (prefix.replace("%", "") + "%",)).fetchall()
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
        row = self._q("SELECT * FROM experiments WHERE id=?", (exp_id,)).fetchone()
        cells = self._q("SELECT c.*, r.status AS run_status, r.step AS run_step, "
                        "r.total_steps AS run_total FROM experiment_cells c LEFT JOIN runs r "
                        "ON r.id = c.run_id WHERE c.experiment_id=? ORDER BY c.idx",
                        (exp_id,)).fetchall()
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
        ids = [r["id"] for r in self._q("SELECT id FROM experiments ORDER BY created, rowid")]
        return [self.get(i) for i in ids]

    def rename(self, ref: str, name: str) -> None:
        if not name.strip():
            raise ValueError("an experiment name cannot be empty")
        self._q("UPDATE experiments SET name=?, updated=? WHERE id=?",
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
                self._q("UPDATE experiment_cells SET cancelled=0 WHERE experiment_id=? AND idx=?",
                        (exp.id, old.index))
                self._touch(exp.id)
            return self.get(exp.id).cell(old.index)
        with self._lock:  # one transaction: another process may be adding a cell too
            self._db.execute("BEGIN IMMEDIATE")
            try:
                idx = self._db.execute("SELECT COALESCE(MAX(idx), -1) + 1 AS n FROM "
                                       "experiment_cells WHERE experiment_id=?",
                                       (exp.id,)).fetchone()["n"]
                self._db.execute("INSERT INTO experiment_cells (experiment_id, idx, depth, "
                                 "variant, seed) VALUES (?, ?, ?, ?, ?)",
                                 (exp.id, idx, depth, variant, seed))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        self._touch(exp.id)
        return self.get(exp.id).cell(idx)

    def set_cancelled(self, ref: str, index: int, cancelled: bool = True) -> None:
        exp_id = self.resolve(ref)
        self._q("UPDATE experiment_cells SET cancelled=? WHERE experiment_id=? AND idx=?",
                (int(cancelled), exp_id, index))
        self._touch(exp_id)

    def set_cell_run(self, exp_id: str, index: int, run_id: str | None,
                     seconds: float | None = None) -> None:
        self._q("UPDATE experiment_cells SET run_id=?, seconds=? WHERE experiment_id=? AND "
                "idx=?", (run_id, seconds, exp_id, index))

    def set_status(self, exp_id: str, status: str, message: str = "") -> None:
        self._q("UPDATE experiments SET status=?, message=?, updated=?, pid=?, host=? WHERE id=?",
                (status, message, time.time(), os.getpid(), socket.gethostname(), exp_id))

    def claim(self, exp_id: str) -> None:
        """This process runs the experiment now; refuses if a live process already does."""
        with self._lock:
            row = self._q("SELECT status, pid, host FROM experiments WHERE id=?",
                          (exp_id,)).fetchone()
            if (row["status"] == "running" and row["pid"] != os.getpid()
                    and row["host"] == socket.gethostname() and _pid_alive(row["pid"] or 0)):
                raise ExperimentError(f"experiment {exp_id} is already running (process "
                                      f"{row['pid']})")
            self.set_status(exp_id, "running")

    def _touch(self, exp_id: str) -> None:
        self._q("UPDATE experiments SET updated=? WHERE id=?", (time.time(), exp_id))

    # -- results ---------------------------------------------------------------------------------
    def results(self, ref: str | Experiment) -> ExperimentResults:
        exp = ref if isinstance(ref, Experiment) else self.get(ref)
        series = {c.index: RunSeries.from_metrics(self.runs.metrics(c.run_id))
                  for c in exp.cells if c.run_id and self.runs.exists(c.run_id)}
        return compute_results(exp, series)


# -- results -------------------------------------------------------------------------------------

@dataclass
class RunSeries:
    """The numbers of one run as they arrive or as the store holds them (errors as fractions)."""

    steps: list[int] = field(default_factory=list)
    train_error: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_steps: list[int] = field(default_factory=list)
    val_error: list[float] = field(default_factory=list)

    @classmethod
    def from_metrics(cls, metrics: dict[str, list[tuple[int, float]]]) -> RunSeries:
        s = cls()
        err = metrics.get("train/error", [])
        s.steps = [int(k) for k, _ in err]
        s.train_error = [float(v) for _, v in err]
        s.train_loss = [float(v) for _, v in metrics.get("train/loss", [])]
        val = metrics.get("val/error", [])
        s.val_steps = [int(k) for k, _ in val]
        s.val_error = [float(v) for _, v in val]
        return s

    def add_log(self, log: TrainLog) -> None:
        if self.steps and log.step <= self.steps[-1]:
            return  # already there (a resumed run's history came from the store)
        self.steps.append(log.step)
        self.train_error.append(log.error)
        self.train_loss.append(log.loss)

    def add_eval(self, result: EvalResult) -> None:
        if self.val_steps and result.step <= self.val_steps[-1]:
            return
        self.val_steps.append(result.step)
        self.val_error.append(result.error)

    def final_train_error(self, total_steps: int) -> float | None:
        """Mean logged training error over the last FINAL_FRACTION of the run."""
        if not self.steps:
            return None
        last = self.steps[-1]
        if last < total_steps:  # an unfinished run: no final number yet
            return None
        start = total_steps - max(1, int(round(FINAL_FRACTION * total_steps)))
        vals = [e for s, e in zip(self.steps, self.train_error) if s > start and math.isfinite(e)]
        return sum(vals) / len(vals) if vals else self.train_error[-1]

    def final_val_error(self, total_steps: int) -> float | None:
        if not self.val_steps or self.val_steps[-1] < total_steps:
            return None
        return self.val_error[-1]


@dataclass(frozen=True)
class RunRow:
    """One run of the table."""

    index: int
    depth: int
    variant: str
    seed: int
    model: str  # plain-20, ResNet-56
    status: str
    run_id: str | None
    step: int
    total_steps: int
    train_error: float | None  # fraction; final (mean of the last 10% of the run)
    val_error: float | None  # fraction; the last validation
    params: int
    seconds: float | None


@dataclass(frozen=True)
class SummaryRow:
    """depth x variant, over seeds: the results table of the Depth Lab."""

    depth: int
    variant: str
    model: str
    runs: int  # runs with a final result
    train_error: float | None  # mean over seeds, percent
    train_error_std: float | None
    val_error: float | None  # percent
    val_error_std: float | None
    params: int
    seconds: float | None  # mean wall time of a run
    paper_error: float | None  # Table 6 test error (%), option-A ResNets only

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Degradation:
    """Training error of the deepest minus the shallowest net of one family (percentage points),
    paired by seed."""

    variant: str
    shallow: int
    deep: int
    delta: float  # mean over seeds, points
    std: float  # spread over seeds (0 with one seed)
    seeds: int
    shallow_error: float  # percent
    deep_error: float

    @property
    def degrades(self) -> bool:
        return self.delta > max(DEGRADATION_TOLERANCE, 2 * self.std)

    def line(self) -> str:
        fam = VARIANT_LABELS[self.variant]
        spread = f" ± {self.std:.1f}" if self.seeds > 1 else ""
        if self.degrades:
            verdict = "the deeper net trains WORSE: degradation"
        elif self.delta > DEGRADATION_TOLERANCE:
            verdict = "not clear: within the spread over seeds"
        elif self.delta < -DEGRADATION_TOLERANCE:
            verdict = "the deeper net trains better: no degradation"
        else:
            verdict = "no degradation"
        return (f"{fam}: {model_label(self.deep, self.variant)} − "
                f"{model_label(self.shallow, self.variant)} training error = "
                f"{self.delta:+.1f}{spread} points ({self.deep_error:.1f}% vs "
                f"{self.shallow_error:.1f}%, {self.seeds} seed{'s' if self.seeds != 1 else ''})"
                f" → {verdict}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "degrades": self.degrades, "line": self.line()}


@dataclass(frozen=True)
class CurveBand:
    """One depth x variant's curve: the mean over seeds and its ±std band (errors in %)."""

    steps: list[float]
    mean: list[float]
    std: list[float]


@dataclass
class ExperimentResults:
    experiment: Experiment
    runs: list[RunRow]
    summary: list[SummaryRow]
    degradation: list[Degradation]
    series: dict[int, RunSeries]  # cell index -> its numbers

    def to_dict(self) -> dict[str, Any]:
        return {"experiment": self.experiment.to_dict(),
                "runs": [asdict(r) for r in self.runs],
                "summary": [s.to_dict() for s in self.summary],
                "degradation": [d.to_dict() for d in self.degradation]}

    def to_csv(self) -> str:
        """The results table: one row per depth x variant."""
        import csv
        import io

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["model", "depth", "variant", "runs", "train_error_pct", "train_error_std",
                    "test_error_pct", "test_error_std", "params", "seconds",
                    "paper_table6_test_error_pct"])
        fmt = lambda v, nd=3: "" if v is None else f"{v:.{nd}f}"
        for s in self.summary:
            w.writerow([s.model, s.depth, s.variant, s.runs, fmt(s.train_error),
                        fmt(s.train_error_std), fmt(s.val_error), fmt(s.val_error_std), s.params,
                        fmt(s.seconds, 1), fmt(s.paper_error, 2)])
        return buf.getvalue()

    def degradation_lines(self) -> list[str]:
        return [d.line() for d in self.degradation]

    def curves(self, variant: str, depth: int, which: str = "train",
               smoothing: float = 0.0) -> CurveBand:
        """Seed mean and std of the training ("train") or test ("val") error, in %."""
        runs = [self.series[c.index] for c in self.experiment.cells
                if c.variant == variant and c.depth == depth and c.index in self.series]
        pairs = []
        for r in runs:
            steps, vals = (r.steps, r.train_error) if which == "train" else (r.val_steps,
                                                                            r.val_error)
            vals = [100 * v for v in vals]
            if smoothing and vals:
                vals = ema(vals, smoothing)
            pairs.append((steps, vals))
        return aggregate(pairs)


def ema(values: Sequence[float], weight: float) -> list[float]:
    """Debiased exponential moving average (TensorBoard's smoothing)."""
    out, avg = [], 0.0
    for i, v in enumerate(values):
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight ** (i + 1)))
    return out


def aggregate(pairs: Sequence[tuple[Sequence[int], Sequence[float]]]) -> CurveBand:
    """Mean and std over runs at each step any run has reached (runs still going count where
    they have numbers)."""
    at: dict[int, list[float]] = {}
    for steps, vals in pairs:
        for s, v in zip(steps, vals):
            if math.isfinite(v):
                at.setdefault(int(s), []).append(float(v))
    xs = sorted(at)
    mean = [sum(at[s]) / len(at[s]) for s in xs]
    std = [_std(at[s]) for s in xs]
    return CurveBand([float(s) for s in xs], mean, std)


def _std(values: Sequence[float]) -> float:
    n = len(values)
    if n < 2:
        return 0.0
    m = sum(values) / n
    return math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))


_PARAMS: dict[tuple, int] = {}


def params_of(depth: int, variant: str, num_classes: int = 10, in_channels: int = 3) -> int:
    key = (depth, variant, num_classes, in_channels)
    if key not in _PARAMS:
        from resnet_studio.core.models.builder import count_params

        spec = replace(make_spec(depth, variant), num_classes=num_classes,
                       in_channels=in_channels)
        _PARAMS[key] = count_params(spec)
    return _PARAMS[key]


def compute_results(exp: Experiment, series: dict[int, RunSeries], *,
                    io: tuple[int, int] | None = None) -> ExperimentResults:
    """The table and the degradation readout from each run's numbers (stored or live).
    `io`: (in_channels, num_classes) of the dataset for parameter counts (default: from the
    dataset name: 10 classes, 3 channels unless it says otherwise)."""
    in_ch, n_cls = io or _dataset_io(exp.config.dataset)
    total = exp.config.steps
    rows = []
    for c in exp.cells:
        s = series.get(c.index, RunSeries())
        finished = c.status == "finished"
        rows.append(RunRow(
            index=c.index, depth=c.depth, variant=c.variant, seed=c.seed,
            model=model_label(c.depth, c.variant), status=c.status, run_id=c.run_id,
            step=s.steps[-1] if s.steps else c.step, total_steps=total,
            train_error=s.final_train_error(total) if finished else None,
            val_error=s.final_val_error(total) if finished else None,
            params=params_of(c.depth, c.variant, n_cls, in_ch), seconds=c.seconds))
    summary = []
    for v in exp.variants:
        for d in exp.depths:
            group = [r for r in rows if r.variant == v and r.depth == d]
            if not group:
                continue
            tr = [100 * r.train_error for r in group if r.train_error is not None]
            va = [100 * r.val_error for r in group if r.val_error is not None]
            secs = [r.seconds for r in group if r.seconds is not None and r.status == "finished"]
            summary.append(SummaryRow(
                depth=d, variant=v, model=model_label(d, v), runs=len(tr),
                train_error=sum(tr) / len(tr) if tr else None,
                train_error_std=_std(tr) if tr else None,
                val_error=sum(va) / len(va) if va else None,
                val_error_std=_std(va) if va else None, params=group[0].params,
                seconds=sum(secs) / len(secs) if secs else None,
                paper_error=TABLE6.get(d) if v == "residual" else None))
    degradation = []
    for v in exp.variants:
        done = {(r.depth, r.seed): 100 * r.train_error for r in rows
                if r.variant == v and r.train_error is not None}
        depths = sorted({d for d, _ in done})
        if len(depths) < 2:
            continue
        lo, hi = depths[0], depths[-1]
        seeds = sorted({s for d, s in done if d == lo} & {s for d, s in done if d == hi})
        if not seeds:
            continue
        deltas = [done[(hi, s)] - done[(lo, s)] for s in seeds]
        degradation.append(Degradation(
            variant=v, shallow=lo, deep=hi, delta=sum(deltas) / len(deltas), std=_std(deltas),
            seeds=len(seeds), shallow_error=sum(done[(lo, s)] for s in seeds) / len(seeds),
            deep_error=sum(done[(hi, s)] for s in seeds) / len(seeds)))
    return ExperimentResults(exp, rows, summary, degradation, series)


def _dataset_io(dataset: str) -> tuple[int, int]:
    """(in_channels, num_classes) from a dataset name, without loading it."""
    kind = dataset.split(":", 1)[0].strip().lower().replace("-", "").replace("_", "")
    if kind == "synthetic":
        from resnet_studio.core.data import SyntheticOptions

        try:
            o = SyntheticOptions.parse(dataset.partition(":")[2])
            return o.channels, o.classes
        except ValueError:
            return 3, 10
    return {"cifar100": (3, 100), "mnist": (1, 10), "fashionmnist": (1, 10)}.get(kind, (3, 10))


# -- running ---------------------------------------------------------------------------------------

class ExperimentListener:
    """What a front-end hears while an experiment runs (on the runner's threads; keep it short).
    Every method does nothing by default."""

    def on_experiment_start(self, experiment: Experiment) -> None: ...

    def on_run_start(self, cell: Cell, run_id: str, resumed: bool) -> None: ...

    def on_data_progress(self, done: int, total: int, message: str) -> None: ...

    def on_log(self, cell: Cell, log: TrainLog) -> None: ...

    def on_validation_end(self, cell: Cell, result: EvalResult) -> None: ...

    def on_run_end(self, cell: Cell, result: TrainResult | None, message: str) -> None: ...

    def on_cells_changed(self, experiment: Experiment) -> None: ...

    def on_experiment_end(self, experiment: Experiment) -> None: ...


class _CellCallback(Callback):
    """Forwards one trainer's records to the listener, tagged with its cell."""

    def __init__(self, runner: ExperimentRunner, cell: Cell):
        self.runner = runner
        self.cell = cell

    def on_train_start(self, trainer) -> None:
        self.runner._run_started(self.cell, trainer)

    def on_log(self, trainer, log) -> None:
        self.runner.listener.on_log(self.cell, log)

    def on_validation_end(self, trainer, result) -> None:
        self.runner.listener.on_validation_end(self.cell, result)

    def on_data_progress(self, trainer, done, total, message) -> None:
        self.runner.listener.on_data_progress(done, total, message)


class ExperimentRunner:
    """Runs an experiment's missing cells as a queue and records each as a normal run.

    `concurrency` > 1 trains that many small models at once in threads (worth it on a GPU,
    where one CIFAR ResNet leaves most of the device idle; on a CPU they only compete). Cells
    added while it runs (`add_run`, or `ExperimentStore.add_cell` from anywhere) are picked up.
    `cancel_run` stops one run (it is marked cancelled, the others go on); `stop` ends the
    experiment (the running runs write a checkpoint and are resumed by the next `run()`).
    """

    def __init__(self, store: ExperimentStore, experiment_id: str, *,
                 listener: ExperimentListener | None = None, concurrency: int = 1,
                 callbacks: Sequence[Callback] = (), data: Any | None = None,
                 download: bool = True):
        self.store = store
        self.experiment_id = store.resolve(experiment_id)
        self.listener = listener or ExperimentListener()
        self.concurrency = max(1, int(concurrency))
        self.extra_callbacks = list(callbacks)
        self.data = data
        self.download = download
        self._lock = threading.RLock()
        self._setup_lock = threading.Lock()
        self._active: dict[int, Any] = {}  # cell index -> Trainer
        self._claimed: set[int] = set()
        self._stop = False
        self._error: BaseException | None = None

    # -- control (any thread) ---------------------------------------------------------------------
    def stop(self) -> None:
        """End the experiment: running runs stop with a checkpoint; it stays resumable."""
        with self._lock:
            self._stop = True
            trainers = list(self._active.values())
        for t in trainers:
            t.resume()
            t.stop()

    def cancel_run(self, index: int) -> None:
        """Cancel one cell: skipped if it has not started, stopped if it is running."""
        self.store.set_cancelled(self.experiment_id, index, True)
        with self._lock:
            trainer = self._active.get(index)
        if trainer is not None:
            trainer.resume()
            trainer.stop()
        self.listener.on_cells_changed(self.experiment)

    def add_run(self, depth: int, variant: str, seed: int = 0) -> Cell:
        cell = self.store.add_cell(self.experiment_id, depth, variant, seed)
        self.listener.on_cells_changed(self.experiment)
        return cell

    def running_cells(self) -> list[int]:
        with self._lock:
            return sorted(self._active)

    @property
    def experiment(self) -> Experiment:
        return self.store.get(self.experiment_id)

    @property
    def stopping(self) -> bool:
        return self._stop

    # -- the queue ---------------------------------------------------------------------------------
    def run(self) -> Experiment:
        """Run every missing cell (new, stopped, interrupted or failed; not cancelled ones).
        Returns the experiment as stored at the end. Exceptions other than ordinary errors
        (KeyboardInterrupt, a crash) propagate; the experiment then stays resumable."""
        exp_id = self.experiment_id
        self.store.claim(exp_id)
        self.listener.on_experiment_start(self.experiment)
        status, message = "finished", ""
        try:
            if self.data is None:
                self.data = self._load_data()
            if self.concurrency == 1:
                self._worker()
            else:
                threads = [threading.Thread(target=self._worker, name=f"experiment-{i}",
                                            daemon=True) for i in range(self.concurrency)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            if self._error is not None:
                raise self._error
            if self._stop:
                status, message = "stopped", "stopped; run it again to finish the missing runs"
        except Exception as e:  # the data could not be loaded, a store error
            status, message = "failed", f"{type(e).__name__}: {e}" if not str(e) else str(e)
            self.store.set_status(exp_id, status, message)
            self.listener.on_experiment_end(self.experiment)
            raise
        except BaseException:
            self.store.set_status(exp_id, "interrupted", "interrupted; run it again to finish "
                                  "the missing runs")
            raise
        exp = self.experiment
        if status == "finished" and exp.missing():
            status = "incomplete"
            message = "not finished: " + ", ".join(f"{c.label} ({c.status})"
                                                   for c in exp.missing())
        self.store.set_status(exp_id, status, message)
        exp = self.experiment
        self.listener.on_experiment_end(exp)
        return exp

    def _load_data(self):
        from resnet_studio.core.data import load_dataset

        cfg = self.store.get(self.experiment_id).config
        progress = lambda done, total, msg: self.listener.on_data_progress(done, total, msg)
        return load_dataset(cfg.dataset, val_fraction=cfg.val_fraction,
                            image_size=cfg.image_size or None, download=self.download,
                            progress=progress)

    def _next_cell(self) -> Cell | None:
        with self._lock:
            if self._stop:
                return None
            exp = self.store.get(self.experiment_id)
            for c in exp.cells:
                # failed runs of this session are not retried in a loop; a new run() retries
                if c.index in self._claimed or c.done:
                    continue
                self._claimed.add(c.index)
                return c
            return None

    def _worker(self) -> None:
        while self._error is None:
            cell = self._next_cell()
            if cell is None:
                return
            try:
                self._run_cell(cell)
            except Exception as e:  # a run that could not even start: record it, go on
                self.listener.on_run_end(cell, None, f"{type(e).__name__}: {e}")
            except BaseException as e:  # a crash: end the experiment (resumable)
                with self._lock:
                    self._error = self._error or e
                    trainers = list(self._active.values())
                for t in trainers:
                    t.stop()
                return

    def _run_cell(self, cell: Cell) -> None:
        from resnet_studio.core.training.trainer import Trainer

        exp = self.store.get(self.experiment_id)
        config = exp.run_config(cell)
        runs = self.store.runs
        rec = runs.get(cell.run_id) if cell.run_id and runs.exists(cell.run_id) else None
        name = f"{exp.name}: {cell.label}"
        trainer = None
        if rec is not None and rec.checkpoint and Path(rec.checkpoint).exists() \
                and rec.status != "finished":
            try:
                trainer = Trainer.from_checkpoint(rec.checkpoint, store=runs, run_name=name,
                                                  experiment_id=exp.id, data=self.data,
                                                  download=self.download)
            except (ValueError, OSError):  # an unreadable or incompatible checkpoint: restart
                trainer = None
        if trainer is None:
            if rec is not None:  # interrupted before its first checkpoint: start over
                runs.delete(rec.id, delete_files=True)
                self.store.set_cell_run(exp.id, cell.index, None)
            trainer = Trainer(make_spec(cell.depth, cell.variant), config, store=runs,
                              run_name=name, experiment_id=exp.id, data=self.data,
                              download=self.download)
        # after the trainer's RunRecorder, so the run's row exists when ours fire
        trainer.callbacks.append(_CellCallback(self, cell))
        for cb in self.extra_callbacks:
            trainer.callbacks.append(cb)
        prior = (cell.seconds or 0.0) if trainer.resumed else 0.0
        with self._lock:
            self._active[cell.index] = trainer
            cancelled_meanwhile = self._stop or self.store.get(exp.id).cell(cell.index).cancelled
        if cancelled_meanwhile:
            trainer.stop()
        result, message = None, ""
        t0 = time.perf_counter()
        try:
            if self.concurrency > 1:
                # the model's initial weights come from the global RNG: one setup at a time
                with self._setup_lock:
                    trainer.setup()
            result = trainer.fit()
            message = result.message
        except Exception as e:  # bad dataset, impossible spec, an error inside the loop
            message = f"{type(e).__name__}: {e}"
            if runs.exists(trainer.run_id):
                runs.set_status(trainer.run_id, "failed", message)
        finally:
            with self._lock:
                self._active.pop(cell.index, None)
            if runs.exists(trainer.run_id):
                self.store.set_cell_run(exp.id, cell.index, trainer.run_id,
                                        round(prior + time.perf_counter() - t0, 3))
        self.listener.on_run_end(self.store.get(exp.id).cell(cell.index), result, message)

    def _run_started(self, cell: Cell, trainer) -> None:
        # the run's row exists now (RunRecorder fires first): point the cell at it
        self.store.set_cell_run(self.experiment_id, cell.index, trainer.run_id)
        self.listener.on_run_start(self.store.get(self.experiment_id).cell(cell.index),
                                   trainer.run_id, trainer.resumed)


def run_experiment(store: ExperimentStore, experiment_id: str, **kwargs: Any) -> Experiment:
    return ExperimentRunner(store, experiment_id, **kwargs).run()


def describe_experiment(exp: Experiment) -> str:
    done, total = exp.progress
    depths = ",".join(str(d) for d in exp.depths)
    variants = ",".join(exp.variants)
    return (f"{exp.name} · {variants} × {depths} · {len(exp.seeds)} seed"
            f"{'s' if len(exp.seeds) != 1 else ''} · {exp.config.dataset}, "
            f"{exp.config.steps} steps · {done}/{total} done · {exp.status}")


__all__ = ["DEGRADATION_TOLERANCE", "EXPERIMENT_PRESETS", "STANDARD_DEPTHS", "TABLE6",
           "VARIANTS", "VARIANT_LABELS", "Cell", "CurveBand", "Degradation", "Experiment",
           "ExperimentError", "ExperimentListener", "ExperimentPreset", "ExperimentResults",
           "ExperimentRunner", "ExperimentStore", "RunRow", "RunSeries", "SummaryRow",
           "aggregate", "check_depth", "compute_results", "describe_experiment", "ema",
           "get_experiment_preset", "grid_cells", "make_spec", "model_label",
           "normalize_variant", "params_of", "run_experiment"]
