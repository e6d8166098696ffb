"""What the Depth Lab shows, without Qt: the experiment open in it, each run's numbers (from the
store, then as they arrive), the results computed from them, and how far each training run has
got. The tab draws from it; tests read it instead of label texts.

Threads: one object, used on the GUI thread only. The live records (`run_started`, `logged`,
`evaluated`, `run_finished`, `finished`) are the ExperimentSession's, which delivers them on the
GUI thread at its UI tick. The store here is the GUI thread's own connection; the runner writes
through another, so what it reads back is what the runner has committed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from resnet_studio.core.experiments import (
    Cell,
    Experiment,
    ExperimentResults,
    ExperimentStore,
    RunRow,
    RunSeries,
    compute_results,
)

if TYPE_CHECKING:
    from resnet_studio.app.experiments import ExperimentPlan
    from resnet_studio.core.training.callbacks import EvalResult, TrainLog


@dataclass(frozen=True)
class ExperimentProgress:
    """Steps trained over all the runs that are not cancelled, and runs done."""

    steps: int
    total_steps: int
    runs: int
    total_runs: int


class ExperimentState:
    def __init__(self, store_path: str | None = None):
        self.store_path = store_path
        self._store: ExperimentStore | None = None
        self.experiment: Experiment | None = None
        self.series: dict[int, RunSeries] = {}  # cell index -> its numbers
        self.steps: dict[int, tuple[int, int]] = {}  # cell index -> (step, total) while training
        self._results: ExperimentResults | None = None

    @property
    def store(self) -> ExperimentStore:
        if self._store is None:
            self._store = ExperimentStore(self.store_path)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- which experiment --------------------------------------------------------------------
    def experiments(self) -> list[Experiment]:
        return self.store.list()

    def show(self, exp: Experiment) -> Experiment:
        """Show a stored experiment: its cells and every run's stored numbers."""
        self.experiment = exp
        self.series = self.store.series(exp)
        self.steps = {}
        self._results = None
        return exp

    def open(self, ref: str) -> Experiment:
        """Show the stored experiment `ref` (an id, a unique prefix or "last")."""
        return self.show(self.store.get(ref))

    def create(self, plan: ExperimentPlan) -> Experiment:
        """Store a plan as a new experiment and show it. Called on the GUI thread: the memory
        check asks no GPU for its free memory (a first CUDA call would freeze the window)."""
        return self.show(plan.create(self.store, query_device=False))

    def delete(self, ref: str) -> None:
        """Delete a stored experiment and its runs (with their checkpoints)."""
        exp_id = self.store.resolve(ref)
        self.store.delete(exp_id, delete_runs=True)
        if self.experiment is not None and self.experiment.id == exp_id:
            self.experiment, self.series, self.steps, self._results = None, {}, {}, None

    def reload(self) -> None:
        """Read the shown experiment's cells again (a run was cancelled or added)."""
        if self.experiment is not None:
            self._set(self.store.get(self.experiment.id))

    def is_shown(self, ref: str) -> bool:
        return self.experiment is not None and self.store.resolve(ref) == self.experiment.id

    # -- changes from the user -----------------------------------------------------------------
    def cancel_run(self, index: int) -> None:
        """Mark one run of the shown experiment cancelled (a running runner stops it too)."""
        if self.experiment is not None:
            self.store.set_cancelled(self.experiment.id, index, True)
            self.reload()

    def add_run(self, depth: int, variant: str, seed: int = 0) -> Cell:
        """Add a run to the shown experiment, through the store: a running runner picks it up."""
        if self.experiment is None:
            raise ValueError("Open or run an experiment first.")
        cell = self.store.add_cell(self.experiment.id, depth, variant, seed)
        self.reload()
        return cell

    # -- the session's records (GUI thread) ------------------------------------------------------
    def cells_changed(self, exp: Experiment) -> None:
        self._set(exp)

    def run_started(self, cell: Cell, run_id: str, resumed: bool) -> None:
        # a resumed run's curve so far comes from the store
        self.series[cell.index] = (RunSeries.from_metrics(self.store.runs.metrics(run_id))
                                   if resumed else RunSeries())
        self.reload()

    def logged(self, items: Iterable[tuple[int, TrainLog]]) -> None:
        for index, log in items:
            self.series.setdefault(index, RunSeries()).add_log(log)
            self.steps[index] = (log.step, log.total_steps)
        self._results = None

    def evaluated(self, items: Iterable[tuple[int, EvalResult]]) -> None:
        for index, result in items:
            self.series.setdefault(index, RunSeries()).add_eval(result)
        self._results = None

    def run_finished(self, cell: Cell) -> None:
        # the stored numbers are the record: show exactly what a re-open will show
        self.reload()
        if cell.run_id and self.store.runs.exists(cell.run_id):
            self.series[cell.index] = RunSeries.from_metrics(self.store.runs.metrics(cell.run_id))
        self.steps.pop(cell.index, None)

    def finished(self, exp: Experiment) -> None:
        self.show(exp)

    # -- what is shown ---------------------------------------------------------------------------
    @property
    def results(self) -> ExperimentResults | None:
        """The table, curves and degradation readout of what is shown (computed when asked
        after a change)."""
        if self._results is None and self.experiment is not None:
            self._results = compute_results(self.experiment, self.series)
        return self._results

    def step_of(self, row: RunRow) -> tuple[int, int]:
        """(step, total steps) of a run: as last logged while it trains, else as stored."""
        return self.steps.get(row.index, (row.step, row.total_steps))

    def progress(self) -> ExperimentProgress | None:
        exp = self.experiment
        if exp is None:
            return None
        active = [c for c in exp.cells if not c.cancelled]
        steps = sum(exp.config.steps if c.done else self.steps.get(c.index, (c.step, 0))[0]
                    for c in active)
        done, total = exp.progress
        return ExperimentProgress(steps=min(steps, max(1, exp.config.steps) * len(active)),
                                  total_steps=max(1, exp.config.steps) * len(active),
                                  runs=done, total_runs=total)

    def _set(self, exp: Experiment) -> None:
        self.experiment = exp
        self._results = None


__all__ = ["ExperimentProgress", "ExperimentState"]
