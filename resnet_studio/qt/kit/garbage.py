"""Python's cyclic garbage collector, run on the GUI thread, briefly.

Python's cyclic GC runs in whichever thread happens to allocate. When a worker thread (training,
a summary) collects a cycle that holds a closed window's Qt objects, their C++ destructors run
there, take Qt's locks and wait for the GIL the GUI thread holds: a deadlock (seen in the test
suite). As pyqtgraph's GarbageCollector does, automatic collection is turned off and the GUI
thread collects on a timer, each generation when its threshold is reached (written here so
start-up does not import pyqtgraph).

A full collection walks every object: 275,000 once PyTorch and the tabs are loaded, 150 ms on
the GUI thread. `freeze_long_lived_objects()` moves what start-up and each tab's first build
made into the permanent generation (they live as long as the app), and full collections come
at most every FULL_EVERY_S seconds; then one takes a few milliseconds.
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

FULL_EVERY_S = 30.0


class GuiThreadGarbageCollector(QObject):
    def __init__(self, parent: QObject, interval_ms: int = 1000):
        super().__init__(parent)
        gc.disable()
        # the app freezes its start-up objects; a test process that makes and closes a
        # hundred windows must not keep them all
        self.freeze_at_start = False
        self._last_full = time.monotonic()
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def check(self) -> None:
        for generation, (count, threshold) in reversed(list(enumerate(
                zip(gc.get_count(), gc.get_threshold(), strict=True)))):
            if count <= threshold:
                continue
            if generation == 2:
                if time.monotonic() - self._last_full < FULL_EVERY_S:
                    continue
                self._last_full = time.monotonic()
            gc.collect(generation)
            return


def collect_garbage_on_gui_thread(app: QApplication) -> None:
    if getattr(app, "_gui_gc", None) is None:
        app._gui_gc = GuiThreadGarbageCollector(app)


def freeze_long_lived_objects() -> None:
    """What exists now (PyTorch's modules, a tab just built, pyqtgraph) lives as long as the
    app: keep it out of every later collection. Called once torch is loaded and after each
    tab is built; only in the app (see `freeze_at_start`)."""
    collector = getattr(QApplication.instance(), "_gui_gc", None)
    if collector is not None and collector.freeze_at_start and not gc.isenabled():
        gc.freeze()
