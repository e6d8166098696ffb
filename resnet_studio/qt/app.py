"""Start the application: the window first, then the heavy imports in the background."""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox


class GuiThreadGarbageCollector(QObject):
    """Python's cyclic GC runs in whichever thread happens to allocate. When a worker thread
    (training, a summary) collects a cycle that holds a closed window's Qt objects, their C++
    destructors run there, take Qt's locks and wait for the GIL the GUI thread holds: a
    deadlock (seen in the test suite). As pyqtgraph's GarbageCollector does, automatic
    collection is turned off and the GUI thread collects on a timer, each generation when its
    threshold is reached (written here so start-up does not import pyqtgraph)."""

    def __init__(self, parent: QObject, interval_ms: int = 1000):
        super().__init__(parent)
        gc.disable()
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def check(self) -> None:
        for generation, (count, threshold) in reversed(list(enumerate(
                zip(gc.get_count(), gc.get_threshold(), strict=True)))):
            if count > threshold:
                gc.collect(generation)
                return


def collect_garbage_on_gui_thread(app: QApplication) -> None:
    if getattr(app, "_gui_gc", None) is None:
        app._gui_gc = GuiThreadGarbageCollector(app)


class FirstPaint(QObject):
    """Emits `painted` once, after the window's first paint event has been handled."""

    painted = Signal()

    def __init__(self, window):
        super().__init__(window)
        self._seen = False
        window.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt)
        if not self._seen and event.type() == QEvent.Type.Paint:
            self._seen = True
            QTimer.singleShot(0, self.painted.emit)  # once this paint is on screen
        return False


class StartupProbe(QObject):
    """With $RESNET_STUDIO_STARTUP_PROBE=FILE, writes one JSON line per start-up milestone
    ({"event": "painted", "t": time.monotonic()}: the window's first paint, then "torch" when
    PyTorch is loaded) so a benchmark in another process can time the start-up from outside;
    with $RESNET_STUDIO_STARTUP_EXIT=EVENT the app quits after that milestone."""

    def __init__(self, window, first_paint: FirstPaint, path: str):
        super().__init__(window)
        self.path = path
        self.quit_after = os.environ.get("RESNET_STUDIO_STARTUP_EXIT", "")
        first_paint.painted.connect(lambda: self.mark("painted"))
        window.runtimeReady.connect(lambda _info: self.mark("torch"))

    def mark(self, name: str) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"event": name, "t": time.monotonic()}) + "\n")
        if name == self.quit_after:
            QCoreApplication.exit(0)


def make_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    collect_garbage_on_gui_thread(app)
    QCoreApplication.setOrganizationName("ResNet Studio")
    QCoreApplication.setApplicationName("ResNet Studio")
    app.setStyle("Fusion")
    icon = Path(__file__).resolve().parent.parent / "assets" / "icon.svg"
    app.setWindowIcon(QIcon(str(icon)))
    return app


def _install_excepthook(window) -> None:
    """An unexpected error shows a message and keeps the app (and the user's work) up."""

    def hook(exc_type, exc, tb):
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        print(text, file=sys.stderr)
        box = QMessageBox(QMessageBox.Icon.Critical, "Unexpected error",
                          str(exc) or exc_type.__name__, parent=window)
        box.setDetailedText(text)
        box.exec()

    sys.excepthook = hook


def _parse_size(text: str) -> tuple[int, int]:
    w, h = (int(v) for v in text.lower().split("x"))
    return w, h


def run_app(args) -> int:
    app = make_app()
    from resnet_studio.qt.main_window import MainWindow

    screenshot = getattr(args, "screenshot", None)
    window = MainWindow(initial_model=getattr(args, "model", None),
                        initial_tab=getattr(args, "tab", None), remember=not screenshot)
    if screenshot:
        window.resize(*_parse_size(args.size))

        waiting = {"summary", "counts"}

        def grab():
            ok = window.grab().save(screenshot)
            print(f"saved {screenshot}" if ok else f"could not write {screenshot}")
            app.exit(0 if ok else 1)

        def ready(what):
            waiting.discard(what)
            if not waiting:
                QTimer.singleShot(400, grab)  # let the graph lay out and paint once

        window.summaryShown.connect(lambda _s: ready("summary"))
        window.presetCountsShown.connect(lambda: ready("counts"))
        QTimer.singleShot(120_000, lambda: app.exit(3))  # never hang a script
    else:
        _install_excepthook(window)
    # PyTorch loads once the window is on screen: its import holds the interpreter for seconds.
    first_paint = FirstPaint(window)
    first_paint.painted.connect(window.start_loading)
    if os.environ.get("RESNET_STUDIO_STARTUP_PROBE"):
        StartupProbe(window, first_paint, os.environ["RESNET_STUDIO_STARTUP_PROBE"])
    window.show()
    code = app.exec()
    window.close()
    return code
