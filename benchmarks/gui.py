"""The window for benchmarks: a MainWindow on Qt's offscreen platform, and an event-loop wait."""

from __future__ import annotations

import os
import time


def wait_until(predicate, timeout_s: float, poll_ms: int = 100) -> None:
    """Run the event loop until `predicate()` holds; TimeoutError after `timeout_s`. The loop
    sleeps between events as the app's own does (a busy-polling wait would steal a core from
    the training threads and measure itself)."""
    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.monotonic() + timeout_s
    loop = QEventLoop()
    timer = QTimer(interval=poll_ms)
    timer.timeout.connect(lambda: (predicate() or time.monotonic() > deadline) and loop.quit())
    timer.start()
    if not predicate():
        loop.exec()
    timer.stop()
    if not predicate():
        raise TimeoutError(f"still waiting after {timeout_s:.0f} s")


def offscreen_window():
    """A shown MainWindow (settings not remembered) with PyTorch loaded."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from resnet_studio.qt.app import make_app
    from resnet_studio.qt.main_window import MainWindow

    make_app()._gui_gc.freeze_at_start = True  # as run_app does
    window = MainWindow(remember=False)
    window.resize(1600, 1000)
    window.show()
    window.start_loading()
    wait_until(lambda: window.runtime is not None and window.summary is not None, 120)
    return window
