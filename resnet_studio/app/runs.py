"""The run history, as `resnet-studio runs` and the Train tab's runs list show it: list, show,
rename, delete, export a run's metrics as CSV, read its curves back.

`RunHistory` opens its run store on first use (marking runs whose process died as
"interrupted") and is used from one thread (the GUI thread, or the command's). Importing this
module does not import torch.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from resnet_studio.core.training.curves import RunCurves
from resnet_studio.core.training.store import RunRecord, RunStore

# A run that ended early and kept a checkpoint can be continued.
RESUMABLE = ("stopped", "interrupted", "paused", "diverged")


@dataclass(frozen=True)
class RunRow:
    """One recorded run as the lists show it; errors are the last logged, as fractions."""

    id: str
    name: str
    model: str
    dataset: str
    status: str
    step: int
    total_steps: int
    train_error: float | None
    val_error: float | None
    created: float  # seconds since the epoch
    checkpoint: str | None
    message: str  # why a run failed or was interrupted

    @property
    def created_text(self) -> str:
        """Local time to the minute: "2026-01-23 14:25"."""
        return _dt.datetime.fromtimestamp(self.created).strftime("%Y-%m-%d %H:%M")

    @property
    def resumable(self) -> bool:
        return bool(self.checkpoint) and self.status in RESUMABLE

    def to_dict(self) -> dict[str, Any]:
        """The row of `runs --json`."""
        d = asdict(self)
        del d["message"]
        return d


class RunHistory:
    """The runs recorded in one run store (None: the user's own)."""

    def __init__(self, path: str | Path | None = None):
        self.path = path
        self._store: RunStore | None = None

    @property
    def store(self) -> RunStore:
        if self._store is None:
            self._store = RunStore(self.path)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> RunHistory:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def rows(self, *, experiment_id: str | None = None, errors: bool = True) -> list[RunRow]:
        """Oldest first; `errors=False` skips reading the last metrics of every run."""
        return [self._row(rec, errors) for rec in
                self.store.list_runs(experiment_id=experiment_id)]

    def row(self, ref: str, *, errors: bool = True) -> RunRow:
        """One run by id, unique id prefix or "last"; KeyError if there is none."""
        return self._row(self.store.get(ref), errors)

    def get(self, ref: str) -> RunRecord:
        return self.store.get(ref)

    def details(self, ref: str) -> dict[str, Any]:
        """Everything recorded of a run (spec, config...) and its last metrics: `runs show`."""
        rec = self.store.get(ref)
        return {**rec.to_dict(), "last": self.store.last_metrics(rec.id)}

    def rename(self, ref: str, name: str) -> None:
        self.store.rename(ref, name)

    def delete(self, ref: str, *, delete_files: bool = False) -> None:
        """ValueError while the run's process still trains it."""
        self.store.delete(ref, delete_files=delete_files)

    def export_csv(self, ref: str, path: str | Path | None = None) -> str:
        """One row per step, one column per metric; written atomically if `path` is given."""
        return self.store.export_csv(self.store.resolve(ref), path)

    def curves(self, ref: str) -> RunCurves:
        return RunCurves.from_metrics(self.store.metrics(ref))

    def _row(self, rec: RunRecord, errors: bool) -> RunRow:
        last = self.store.last_metrics(rec.id) if errors else {}
        return RunRow(id=rec.id, name=rec.name, model=rec.model, dataset=rec.dataset,
                      status=rec.status, step=rec.step, total_steps=rec.total_steps,
                      train_error=last.get("train/error"), val_error=last.get("val/error"),
                      created=rec.created, checkpoint=rec.checkpoint, message=rec.message)


def runs_table(rows: list[RunRow]) -> str:
    """The text table of `resnet-studio runs`."""
    if not rows:
        return "no runs yet (start one with `resnet-studio train resnet20`)\n"
    pct = lambda v: "-" if v is None else f"{100 * v:.1f}%"
    lines = [f"{'id':<21} {'model':<18} {'dataset':<14} {'status':<11} {'steps':>13} "
             f"{'train err':>9} {'val err':>8}  {'created':<16} name"]
    for r in rows:
        steps = f"{r.step}/{r.total_steps}"
        lines.append(f"{r.id:<21} {r.model[:18]:<18} {r.dataset[:14]:<14} {r.status:<11} "
                     f"{steps:>13} {pct(r.train_error):>9} {pct(r.val_error):>8}  "
                     f"{r.created_text:<16} {r.name}")
    return "\n".join(lines) + "\n"


def remove_interrupted_writes() -> list[Path]:
    """Delete the temp files that writers killed mid-write left in the data folder and the run
    folders (a checkpoint's, the speed cache's); returns them. Called before training starts
    (`TrainingRun.build`, `resnet-studio sweep`): a live writer's temp file is kept."""
    from resnet_studio.core.common.files import remove_stale_temp_files
    from resnet_studio.core.common.paths import data_dir, runs_dir

    return [*remove_stale_temp_files(data_dir()), *remove_stale_temp_files(runs_dir())]


__all__ = ["RESUMABLE", "RunHistory", "RunRow", "remove_interrupted_writes", "runs_table"]
