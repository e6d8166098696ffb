"""A long-running object (a Trainer, an ExperimentRunner) in a QThread, its records handed to
the GUI at a UI tick, not per step.

The object's callbacks run on the session's thread and only `post(kind, payload)` plain
records (TrainLog, EvalResult, Cell... never live tensors) on a queue; a timer on the GUI
thread drains it `1000 / TICK_MS` times a second, so a fast GPU loop never floods the event
loop and views redraw at most once per tick. Records of a `BATCHED` kind arrive as one list per
tick and are always delivered before the event that followed them (a run's last logs come
before its "finished").

| member                       | thread                 | what it does                          |
|------------------------------|------------------------|---------------------------------------|
| `_run(build, work)`          | GUI                    | starts the thread: `build(post)` makes |
|                              |                        | the object there, `work(obj)` runs it  |
| `post(kind, payload)`        | the session's thread   | queues a record (thread-safe)         |
| `deliver(kind, payload)`     | GUI, at a tick         | emits the subclass's signal           |
| `stop()`, `is_running()`     | GUI                    | `stop()` calls the object's `stop()`  |

A subclass declares its signals and `SIGNALS = {kind: signal name}`; tuple payloads are
spread over the signal's arguments. `finished` (the work's return value) and `failed` (one
line for the user, `app.errors.describe_failure`'s) are posted by the thread itself. Like a
Job, a session is listed in the jobs panel (`kit.job.job_registry()`) under its `title`, with
the progress it `report`s.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import QObject, QThread, QTimer, Signal

from resnet_studio.app.errors import describe_failure
from resnet_studio.qt.kit.job import job_registry
from resnet_studio.qt.kit.priority import run_in_background_priority

TICK_MS = 50


class _SessionThread(QThread):
    def __init__(self, build: Callable, work: Callable, post: Callable[[str, Any], None]):
        super().__init__()
        self._build = build
        self._work = work
        self._post = post
        self.target: Any = None
        self.stop_early = False  # Stop pressed before the object existed (data still loading)

    def run(self) -> None:
        run_in_background_priority()  # before torch makes its thread team: they inherit it
        try:
            self.target = self._build(self._post)
            if self.stop_early:
                self.target.stop()
            self._post("finished", self._work(self.target))
        except BaseException as exc:  # noqa: BLE001 - shown to the user, the app stays up
            self._post("failed", describe_failure(exc))


class QueueSession(QObject):
    """Base of the training and experiment sessions (see the module doc)."""

    failed = Signal(str)
    runningChanged = Signal(bool)
    progressed = Signal(int, int, str)  # for the jobs panel: done, total, text

    SIGNALS: ClassVar[dict[str, str]] = {}
    BATCHED: ClassVar[tuple[str, ...]] = ("log",)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: _SessionThread | None = None
        self._timer = QTimer(self, interval=TICK_MS)
        self._timer.timeout.connect(self._drain)
        self.title = type(self).__name__  # the jobs panel's name for it; set before a start
        self.heavy = True  # trains: other heavy work beside it slows both
        job_registry().track(self)

    @property
    def target(self) -> Any:
        """The object the thread built (a Trainer, a runner), or None before it exists."""
        return self._thread.target if self._thread is not None else None

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def bind(self, **handlers: Callable) -> None:
        """Connect signals by name: `session.bind(logged=self._logged, failed=...)`."""
        for name, handler in handlers.items():
            getattr(self, name).connect(handler)

    def post(self, kind: str, payload: Any = None) -> None:
        self._events.put((kind, payload))

    def stop(self) -> None:
        """Ask the object to stop (it ends at its next step, writing what it must)."""
        if self._thread is None:
            return
        self._thread.stop_early = True
        if self.target is not None:
            self.target.stop()

    def cancel(self) -> None:
        """The jobs panel's Cancel: stop (what was trained is kept)."""
        self.stop()

    def report(self, done: int, total: int, text: str = "") -> None:
        """Progress for the jobs panel (GUI thread)."""
        self.progressed.emit(done, total, text)

    def wait(self, timeout_ms: int = 60_000) -> bool:
        """Block until the thread has ended and deliver what it left (window close, tests)."""
        if self._thread is None:
            return True
        done = self._thread.wait(timeout_ms)
        self._drain()
        return done

    def _run(self, build: Callable[[Callable[[str, Any], None]], Any],
             work: Callable[[Any], Any]) -> None:
        if self.is_running():
            raise RuntimeError(f"{type(self).__name__}: already running")
        self._events = queue.SimpleQueue()
        events = self._events
        self._thread = _SessionThread(build, work, lambda k, p=None: events.put((k, p)))
        self._thread.finished.connect(self._thread_done)
        self._thread.start()
        self._timer.start()
        self.runningChanged.emit(True)

    def _thread_done(self) -> None:
        self._drain()
        # A run started right after the last one ended (Resume in a runs list) can receive the
        # last thread's `finished` late, from the event queue: it must not stop the new run's
        # tick. (QThread.isRunning() is already False inside its own `finished`.)
        if self.is_running():
            return
        self._timer.stop()
        self.runningChanged.emit(False)

    def deliver(self, kind: str, payload: Any) -> None:
        name = "failed" if kind == "failed" else self.SIGNALS.get(kind)
        if name is None:
            return
        signal = getattr(self, name)
        if isinstance(payload, tuple):
            signal.emit(*payload)
        else:
            signal.emit(payload)

    def _drain(self) -> None:
        batches: dict[str, list] = {kind: [] for kind in self.BATCHED}

        def flush() -> None:
            for kind in self.BATCHED:
                if batches[kind]:
                    self.deliver(kind, batches[kind])
                    batches[kind] = []

        while True:
            try:
                kind, payload = self._events.get_nowait()
            except queue.Empty:
                break
            if kind in batches:
                batches[kind].append(payload)
                continue
            flush()  # keep the order: numbers before the event that followed them
            self.deliver(kind, payload)
        flush()
