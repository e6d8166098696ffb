"""The bridge from core to Qt: core functions run off the GUI thread, results come back as signals.

Built on superqt's workers (a QRunnable in the global QThreadPool): `returned`, `errored`,
`finished`. Results are plain dataclasses/numbers, never live tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from superqt.utils import create_worker


def run_in_background(func: Callable, *args, on_result: Callable[[Any], None] | None = None,
                      on_error: Callable[[BaseException], None] | None = None,
                      on_finished: Callable[[], None] | None = None, **kwargs):
    """Start `func(*args, **kwargs)` in the thread pool; callbacks run on the GUI thread."""
    # Without an error handler superqt re-raises on the GUI thread (the app's excepthook shows it).
    worker = create_worker(func, *args, _start_thread=False, _ignore_errors=on_error is not None,
                           **kwargs)
    if on_result:
        worker.returned.connect(on_result)
    if on_error:
        worker.errored.connect(on_error)
    if on_finished:
        worker.finished.connect(on_finished)
    worker.start()
    return worker


class LatestOnly(QObject):
    """Runs one job at a time per purpose and drops stale results.

    Editing the builder form quickly starts many summaries; only the newest request's result
    (or error) is delivered, so the view never jumps back to an older model.
    """

    result = Signal(object)
    error = Signal(object)
    busy = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._generation = 0
        self._running = 0

    def submit(self, func: Callable, *args, **kwargs) -> None:
        self._generation += 1
        generation = self._generation
        self._running += 1
        self.busy.emit(True)

        def deliver(signal):
            def emit(value):
                if generation == self._generation:
                    signal.emit(value)
            return emit

        def done():
            self._running -= 1
            if not self._running:
                self.busy.emit(False)

        run_in_background(func, *args, on_result=deliver(self.result),
                          on_error=deliver(self.error), on_finished=done, **kwargs)
