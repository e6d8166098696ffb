"""Progress and cancel: the one contract between long work and whoever waits for it.

A use case takes `progress: Progress | None`. It reports with `progress(done, total, text)`;
every report is also a cancellation point: once `cancel()` has been called (from any thread),
the next report - or an explicit `progress.check()` - raises `Cancelled`. Front-ends give the
Progress a sink: the command line prints to stderr, a Qt `Job` emits a signal that reaches the
GUI thread. A plain `(done, total, text)` callable is accepted wherever a Progress is, so core
functions stay usable from a notebook with a lambda.

Threading contract:

| call            | from which thread            | cost                                   |
|-----------------|------------------------------|----------------------------------------|
| `progress(...)` | the worker's                 | a flag test; the sink at most every    |
|                 |                              | `interval_s` (the last report always)  |
| `check()`       | the worker's                 | a flag test                            |
| `cancel()`      | any (GUI thread, SIGINT)     | sets a `threading.Event`               |
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

ProgressFn = Callable[[int, int, str], None]


class Cancelled(Exception):
    """The user asked to stop. Not an error: front-ends say "cancelled", not "failed"."""

    def __init__(self, message: str = "cancelled"):
        super().__init__(message)


class Progress:
    """A progress sink with a cancel flag, handed from a front-end down to a use case."""

    def __init__(self, sink: ProgressFn | None = None, *, interval_s: float = 0.0,
                 _event: threading.Event | None = None):
        self._sink = sink
        self._interval = interval_s
        self._last = -float("inf")
        self._event = _event if _event is not None else threading.Event()

    @classmethod
    def of(cls, progress: Progress | ProgressFn | None) -> Progress:
        """A Progress for whatever the caller passed: itself, a wrapped callable, or a silent one."""
        if isinstance(progress, Progress):
            return progress
        return cls(progress)

    def __call__(self, done: int, total: int, text: str = "") -> None:
        self.check()
        if self._sink is None:
            return
        now = time.monotonic()
        if done < total and now - self._last < self._interval:
            return  # throttled; the final report of a stage always goes through
        self._last = now
        self._sink(int(done), int(total), text)

    def check(self) -> None:
        """Raise Cancelled if cancel() was called: a cancellation point without a report."""
        if self._event.is_set():
            raise Cancelled()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def span(self, start: int, end: int, total: int) -> Progress:
        """A child for one stage: its reports 0..n map onto start..end of `total`; it shares
        this Progress's cancel flag, so cancelling either cancels both."""

        def sink(done: int, n: int, text: str) -> None:
            self(start + round((end - start) * done / max(n, 1)), total, text)

        return Progress(sink, _event=self._event)
