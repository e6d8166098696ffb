"""Elapsed time and time left of a running experiment and of each of its runs, without Qt.

Fed with the runner's records as they arrive (`started`, `cells_changed`, `run_started`,
`logged`, `run_finished`), it keeps an `EtaMeter` per training run. The experiment's time left
is the running runs' time left plus what each run still to come will take: as long as a
finished run of the same net took, else the measured estimate's time for it (`TimeEstimate`,
when it was made for these settings), else the slowest-known net's time per step scaled by
depth (a step costs about in proportion to the number of layers). Until one of these is known
it says nothing rather than a guess. Runs are counted one after the other, as the Depth Lab
trains them by default; with parallel runs the time left is an upper bound.

Threads: used on one thread (the GUI's, at the session's tick). The clock is a parameter so
tests drive it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace

from resnet_studio.app.time_estimate import TimeEstimate
from resnet_studio.core.common.eta import Clock, EtaMeter
from resnet_studio.core.common.formatting import duration
from resnet_studio.core.experiments import Cell, Experiment, model_label


class ExperimentClock:
    def __init__(self, clock: Clock = time.monotonic):
        self._clock = clock
        self._started: float | None = None
        self._ended: float | None = None
        self.experiment: Experiment | None = None
        self.estimate: TimeEstimate | None = None  # measured before the run, if it was
        self.meters: dict[int, EtaMeter] = {}  # cell index -> its running run's meter
        self._took: dict[str, float] = {}  # net label -> seconds a finished run of it took
        self._step_s: dict[int, float] = {}  # depth -> seconds per step seen while training

    # -- the runner's records ------------------------------------------------------------------
    def started(self) -> None:
        self._started, self._ended = self._clock(), None
        self.meters, self._took, self._step_s = {}, {}, {}

    def cells_changed(self, exp: Experiment) -> None:
        self.experiment = exp

    def run_started(self, cell: Cell) -> None:
        self._keep(cell)
        self.meters[cell.index] = EtaMeter(self._clock)

    def logged(self, items: Iterable[tuple[int, object]]) -> None:
        """[(cell index, TrainLog)] in the order they were logged."""
        for index, log in items:
            meter = self.meters.get(index)
            if meter is not None:
                meter.report(log.step, log.total_steps)
                rate = meter.seconds_per_unit()
                if rate is not None and self.experiment is not None:
                    self._step_s[self.experiment.cell(index).depth] = rate

    def run_finished(self, cell: Cell) -> None:
        self._keep(cell)
        meter = self.meters.pop(cell.index, None)
        if meter is not None and cell.status == "finished" and meter.done >= meter.total > 0:
            self._took[model_label(cell.depth, cell.variant)] = meter.elapsed()

    def _keep(self, cell: Cell) -> None:
        """The runner's newest word on one cell (its status, its time)."""
        if self.experiment is not None:
            self.experiment = replace(self.experiment, cells=tuple(
                cell if c.index == cell.index else c for c in self.experiment.cells))

    def ended(self) -> None:
        self._ended = self._clock()
        self.meters = {}

    # -- what is shown ---------------------------------------------------------------------------
    def elapsed(self) -> float | None:
        if self._started is None:
            return None
        return (self._ended if self._ended is not None else self._clock()) - self._started

    def run_times(self, index: int) -> tuple[float, float | None] | None:
        """(elapsed, time left) of a running run; None if it is not running."""
        meter = self.meters.get(index)
        if meter is None:
            return None
        left = meter.remaining()
        if left is None and self.experiment is not None:
            expected = self.expected(self.experiment.cell(index))
            left = None if expected is None else max(0.0, expected - meter.elapsed())
        return meter.elapsed(), left

    def expected(self, cell: Cell) -> float | None:
        """Seconds a whole run of `cell`'s net takes, from what is known (see the module doc)."""
        exp = self.experiment
        if exp is None:
            return None
        label = model_label(cell.depth, cell.variant)
        if label in self._took:
            return self._took[label]
        if self.estimate is not None:
            seconds = self.estimate.seconds_for([(cell.depth, cell.variant, cell.seed)],
                                                exp.config)
            if seconds is not None:
                return seconds - self.estimate.data_s
        if self._step_s:
            depth, step_s = max(self._step_s.items())
            return step_s * cell.depth / depth * exp.config.steps
        return None

    def steps(self) -> tuple[int, int] | None:
        """(steps trained, steps in all) over the runs that are not cancelled."""
        exp = self.experiment
        if exp is None:
            return None
        active = [c for c in exp.cells if not c.cancelled]
        done = sum(exp.config.steps if c.done else
                   (self.meters[c.index].done if c.index in self.meters else 0) for c in active)
        return done, exp.config.steps * len(active)

    def remaining(self) -> float | None:
        """Seconds until the experiment is done; None while unknown or when it is not running."""
        exp = self.experiment
        if exp is None or self._started is None or self._ended is not None:
            return None
        total = 0.0
        for cell in exp.cells:
            if cell.done:
                continue
            if cell.index in self.meters:
                times = self.run_times(cell.index)
                left = times[1] if times else None
            else:
                left = self.expected(cell)
            if left is None:
                return None
            total += left
        return total

    def describe(self) -> str:
        """What the Depth Lab shows under its progress bar: the experiment's elapsed time and
        time left, then each running run's ("" before a start)."""
        elapsed = self.elapsed()
        if elapsed is None:
            return ""
        if self._ended is not None:
            return f"took {duration(elapsed)}"
        left = self.remaining()
        lines = [f"elapsed {duration(elapsed)} · "
                 + (f"about {duration(left)} left" if left is not None
                    else "time left: after the first steps")]
        for index in sorted(self.meters):
            times = self.run_times(index)
            if times is None or self.experiment is None:
                continue
            run_elapsed, run_left = times
            lines.append(f"{self.experiment.cell(index).label}: {duration(run_elapsed)}"
                         + (f", about {duration(run_left)} left" if run_left is not None else ""))
        return "\n".join(lines)


__all__ = ["ExperimentClock"]
