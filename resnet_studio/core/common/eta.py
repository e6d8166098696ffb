"""Elapsed time and time left of one piece of work, from its progress reports.

An `EtaMeter` is fed `report(done, total)` as the work goes and asked `elapsed()` and
`remaining()` at any time (a view's 1-2 Hz refresh). The rate is measured from the first report
on, so what comes before it (loading data, building the model) does not count as speed; between
reports the time left counts down. While paused, neither elapsed nor the time left moves: a
paused run does not "finish" on the screen. The clock is a parameter, so tests drive it.

Threads: one meter is used from one thread (the GUI's, where the reports arrive).
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


class EtaMeter:
    """Elapsed and remaining seconds of one job (see the module doc)."""

    def __init__(self, clock: Clock = time.monotonic):
        self._clock = clock
        self._started = clock()
        self._paused_at: float | None = None
        self._paused_total = 0.0
        self._first: tuple[float, int] | None = None  # (active seconds, done) at the first report
        self._last: tuple[float, int] | None = None
        self.done = 0
        self.total = 0

    def elapsed(self) -> float:
        """Seconds the work has run, pauses left out."""
        now = self._paused_at if self._paused_at is not None else self._clock()
        return now - self._started - self._paused_total

    def report(self, done: int, total: int) -> None:
        at = self.elapsed()
        if self._last is None or done < self._last[1]:  # the first report, or a restart
            self._first = (at, done)
        self._last = (at, done)
        self.done, self.total = done, total

    def remaining(self) -> float | None:
        """Seconds left at the rate measured so far; None until two reports apart."""
        if self._first is None or self._last is None or self.total <= 0:
            return None
        (t0, d0), (t1, d1) = self._first, self._last
        if d1 <= d0 or t1 <= t0:
            return None
        per_unit = (t1 - t0) / (d1 - d0)
        return max(0.0, per_unit * (self.total - d1) - (self.elapsed() - t1))

    def seconds_per_unit(self) -> float | None:
        """The measured rate (seconds per unit of `done`), None before two reports."""
        if self._first is None or self._last is None or self._last[1] <= self._first[1]:
            return None
        return (self._last[0] - self._first[0]) / (self._last[1] - self._first[1])

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def pause(self) -> None:
        if self._paused_at is None:
            self._paused_at = self._clock()

    def resume(self) -> None:
        if self._paused_at is not None:
            self._paused_total += self._clock() - self._paused_at
            self._paused_at = None


__all__ = ["Clock", "EtaMeter"]
