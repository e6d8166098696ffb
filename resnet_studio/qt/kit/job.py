"""Background work for the tabs: one `Job` (progress, cancel, one error path) on superqt workers.

A Job runs `func(*args, progress=Progress, **kwargs)` - an app-layer use case - in the global
QThreadPool through a superqt `WorkerBase`. Every `progress(...)` report is a yield point:
it reaches the GUI thread as `progressed` (at most `PROGRESS_HZ` times a second), and once
`cancel()` (superqt's `quit()`) was called it raises `Cancelled` in the worker. A generator
function is run by superqt's own `GeneratorWorker` instead: each yielded `(done, total, text)`
is progress and `quit()` takes effect at the next yield.

Signals (all delivered on the GUI thread, in this order; `failed`'s line is
`app.errors.describe_failure`'s: a bug's says where its crash log is):

| signal       | when                                   | payload                                 |
|--------------|----------------------------------------|-----------------------------------------|
| `progressed` | a report, throttled                    | done, total, text                       |
| `succeeded`  | the function returned                  | its result: plain data, never a tensor |
| `failed`     | it raised (not Cancelled)              | one line for the user; `error` keeps it |
| `cancelled`  | cancel() took effect                   |                                         |
| `finished`   | always, last                           |                                         |

`LatestJob` is the variant for views that follow a control (a layer picker, the builder form):
a new `start` cancels the running call and only the newest call's signals are delivered.

Every Job (and every `QueueSession`) is tracked by the window's `JobRegistry`
(`job_registry()`), which the jobs panel shows: while it runs, a job is listed under its
`title` ("Gradients: measuring ResNet-56 at initialisation"; set it before `start` for a
per-call title; an untitled job is named after its tab and function) with its progress, elapsed
time and time left (an `EtaMeter` fed by `progressed`). A `heavy` job (seconds or more of the
processor) started while another heavy one runs makes the registry say `notice`: both slow down.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QThreadPool, Signal
from superqt.utils import GeneratorWorker, WorkerBase

from resnet_studio.app.errors import describe_failure
from resnet_studio.core.common.eta import EtaMeter
from resnet_studio.core.common.progress import Cancelled, Progress
from resnet_studio.qt.kit.priority import run_in_background_priority

PROGRESS_HZ = 20


class _ProgressSignals(QObject):
    """The signals superqt's WorkerBase.run emits, plus a generator worker's `yielded` and
    `aborted` (its signals class is not public)."""

    started = Signal()
    finished = Signal()
    _finished = Signal(object)
    returned = Signal(object)
    errored = Signal(object)
    warned = Signal(tuple)
    yielded = Signal(object)
    aborted = Signal()


class _ProgressWorker(WorkerBase):
    """superqt's WorkerBase around a function that takes `progress=`: reports become `yielded`
    and `quit()` cancels at the next report."""

    def __init__(self, func: Callable, *args, **kwargs):
        super().__init__(SignalsClass=_ProgressSignals)
        self.progress = Progress(self._report, interval_s=1 / PROGRESS_HZ)
        self._call = lambda: func(*args, progress=self.progress, **kwargs)

    def _report(self, done: int, total: int, text: str) -> None:
        try:
            self.yielded.emit((done, total, text))
        except RuntimeError:  # the Job (its tab) was deleted: nobody waits for this work
            raise Cancelled() from None

    def quit(self) -> None:
        super().quit()
        self.progress.cancel()

    def work(self):
        run_in_background_priority()
        return self._call()


class Job(QObject):
    """One piece of background work at a time, with progress and cancel (see the module doc)."""

    progressed = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()
    runningChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None, *, title: str = "", heavy: bool = False):
        super().__init__(parent)
        self.title = title  # what the jobs panel calls it
        self.heavy = heavy  # seconds or more of the processor: running two slows both
        self.call_title = title  # the running call's (the tab's and function's name if untitled)
        self._worker: WorkerBase | None = None
        self._generation = 0
        self._answered = True  # the newest call has emitted succeeded, failed or cancelled
        self.error: BaseException | None = None  # the last failure, for details and tests
        self.result: Any = None  # the last result
        # A Job deleted with its view (a closed tab, a test's widget) stops its call: the worker
        # would otherwise run on and report to a deleted object.
        running: list[WorkerBase] = []
        self._running = running
        self.destroyed.connect(lambda: [w.quit() for w in running])
        job_registry().track(self)

    def bind(self, **handlers: Callable) -> None:
        """Connect signals by name: `job.bind(succeeded=self._show, failed=self._say)`."""
        for name, handler in handlers.items():
            getattr(self, name).connect(handler)

    # -- control -----------------------------------------------------------------------------
    def start(self, func: Callable, *args, **kwargs) -> bool:
        """Run `func` in the background; False (and nothing started) if a call still runs."""
        if self.is_running():
            return False
        self._launch(func, args, kwargs)
        return True

    def cancel(self) -> None:
        """Ask the running call to stop at its next progress report (or yield)."""
        if self._worker is not None:
            self._worker.quit()

    def is_running(self) -> bool:
        return self._worker is not None

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until the call has ended and its signals were delivered (window close, tests)."""
        deadline = time.monotonic() + timeout_ms / 1000
        while self.is_running() and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            time.sleep(0.005)
        return not self.is_running()

    # -- plumbing -----------------------------------------------------------------------------
    def _launch(self, func: Callable, args: tuple, kwargs: dict) -> None:
        self._generation += 1
        generation = self._generation
        self.call_title = self.title or _default_title(self, func)
        if inspect.isgeneratorfunction(func):
            worker: WorkerBase = GeneratorWorker(func, *args, **kwargs)
        else:
            worker = _ProgressWorker(func, *args, **kwargs)
        self._answered = False

        def current() -> bool:  # a stale call, or one whose Job was deleted, is silent
            return shiboken6.isValid(self) and generation == self._generation

        worker.yielded.connect(lambda v: current() and self._progress(v))
        worker.returned.connect(lambda r: current() and self._succeeded(r))
        worker.errored.connect(lambda e: current() and self._errored(e))
        worker.aborted.connect(lambda: current() and self._cancelled())
        worker.finished.connect(lambda: shiboken6.isValid(self)
                                and self._finished(worker, generation))
        was_running = self.is_running()
        self._worker = worker
        self._running[:] = [worker]
        worker.start()
        if not was_running:
            self.runningChanged.emit(True)

    def _progress(self, value) -> None:
        if isinstance(value, tuple) and len(value) == 3:
            self.progressed.emit(int(value[0]), int(value[1]), str(value[2]))

    def _succeeded(self, result) -> None:
        self._answered = True
        self.result = result
        self.succeeded.emit(result)

    def _errored(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled):
            self._cancelled()
            return
        self._answered = True
        self.error = exc
        self.failed.emit(describe_failure(exc))

    def _cancelled(self) -> None:
        self._answered = True
        self.cancelled.emit()

    def _finished(self, worker: WorkerBase, generation: int) -> None:
        if worker is not self._worker:
            return  # a superseded LatestJob call ended; the newest one is still running
        self._worker = None
        self._running.clear()
        if generation == self._generation:
            if not self._answered:  # cancelled after its last report: it returned unheard
                self._cancelled()
            self.finished.emit()
        self.runningChanged.emit(False)


class LatestJob(Job):
    """A Job whose `start` supersedes the running call: it is cancelled and only the newest
    call's results reach the view, so a view never jumps back to an older request."""

    def start(self, func: Callable, *args, **kwargs) -> bool:
        if self._worker is not None:
            self._worker.quit()
        self._launch(func, args, kwargs)
        return True


def _default_title(job: QObject, func: Callable) -> str:
    """ "Images: classify" - the nearest tab's title and the function's name."""
    name = getattr(func, "__name__", "work").strip("_").replace("_", " ")
    owner = job.parent()
    while owner is not None:
        if isinstance(getattr(type(owner), "title", None), str):
            return f"{type(owner).title}: {name}"
        owner = owner.parent()
    return name[:1].upper() + name[1:]


class RunningWork:
    """One job as the panel shows it, from its start to its end."""

    def __init__(self, work: QObject, clock: Callable[[], float]):
        self.work = work
        self.meter = EtaMeter(clock)
        self.text = ""  # the last progress report's

    @property
    def title(self) -> str:
        return getattr(self.work, "call_title", "") or self.work.title or "Background work"

    @property
    def heavy(self) -> bool:
        return bool(getattr(self.work, "heavy", False))

    def progressed(self, done: int, total: int, text: str) -> None:
        self.meter.report(done, total)
        self.text = text

    def remaining(self) -> float | None:
        """Seconds left: the work's own estimate where it has one (an experiment's runs differ
        in speed), else the meter's."""
        own = getattr(self.work, "time_left", None)
        return own() if own is not None else self.meter.remaining()

    def cancel(self) -> None:
        self.work.cancel()


class JobRegistry(QObject):
    """The running jobs of the window (see the module doc). GUI thread only."""

    changed = Signal()  # a job started or ended
    notice = Signal(str)  # heavy work started while other heavy work runs

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.clock = clock
        self._running: dict[int, RunningWork] = {}

    def track(self, work: QObject) -> None:
        """Follow a Job or QueueSession: `runningChanged`, `progressed`, maybe `pausedChanged`."""
        key = id(work)
        work.runningChanged.connect(self._running_changed)
        work.progressed.connect(self._progressed)
        if hasattr(work, "pausedChanged"):
            work.pausedChanged.connect(self._paused)
        work.destroyed.connect(lambda *_: self._ended(key))

    def running(self) -> list[RunningWork]:
        """The running jobs, oldest first."""
        return list(self._running.values())

    def _running_changed(self, on: bool) -> None:
        work = self.sender()
        if work is None:
            return
        if not on:
            self._ended(id(work))
            return
        entry = RunningWork(work, self.clock)
        others = [w.title for w in self._running.values() if w.heavy]
        self._running[id(work)] = entry
        self.changed.emit()
        if entry.heavy and others:
            self.notice.emit(contention_notice(entry.title, others))

    def _progressed(self, done: int, total: int, text: str) -> None:
        entry = self._running.get(id(self.sender()))
        if entry is not None:
            entry.progressed(done, total, text)

    def _paused(self, paused: bool) -> None:
        entry = self._running.get(id(self.sender()))
        if entry is not None:
            (entry.meter.pause if paused else entry.meter.resume)()

    def _ended(self, key: int) -> None:
        if self._running.pop(key, None) is not None:
            self.changed.emit()


def contention_notice(started: str, running: list[str]) -> str:
    cores = os.cpu_count() or 1
    return (f"{started} started while {' and '.join(running)} "
            f"{'runs' if len(running) == 1 else 'run'}: both will be slower, they share this "
            f"computer's {cores} processor core{'s' if cores != 1 else ''}.")


_registry: JobRegistry | None = None


def job_registry() -> JobRegistry:
    """The one registry every Job and QueueSession of the application reports to."""
    global _registry
    if _registry is None:
        _registry = JobRegistry()
    return _registry


def wait_for_background_work(timeout_ms: int = 30_000) -> bool:
    """Block until every pool job is done (window close, tests). False if some still run."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
