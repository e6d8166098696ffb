"""Start the application: the window first, then the heavy imports in the background."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox


def collect_garbage_on_gui_thread(app: QApplication) -> None:
    """Python's cyclic GC runs in whichever thread happens to allocate. When a worker thread
    (training, a summary) collects a cycle that holds a closed window's Qt objects, their C++
    destructors run there, take Qt's locks and wait for the GIL the GUI thread holds: a
    deadlock (seen in the test suite). pyqtgraph's GarbageCollector turns automatic collection
    off and collects on a GUI-thread timer instead."""
    if getattr(app, "_gui_gc", None) is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        app._gui_gc = GarbageCollector(interval=1.0)


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
    window.show()
    QTimer.singleShot(0, window.start_loading)
    code = app.exec()
    window.close()
    return code
