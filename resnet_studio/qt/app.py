"""Start the application: the window first, then the heavy imports in the background."""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from resnet_studio.app.desktop import DESKTOP_FILE
from resnet_studio.qt.kit.garbage import collect_garbage_on_gui_thread


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


GUI_SWITCH_INTERVAL_S = 0.001


def make_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    collect_garbage_on_gui_thread(app)
    # A worker running Python (building a model, inspecting one) keeps the interpreter until
    # another thread has waited this long; a redraw asks for it at every Python call, so the
    # default 5 ms turns a 20 ms paint into hundreds. Torch's kernels release it anyway.
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)
    QCoreApplication.setOrganizationName("ResNet Studio")
    QCoreApplication.setApplicationName("ResNet Studio")
    # the window belongs to `install-desktop`'s menu entry (its Wayland app id, the dock icon)
    app.setDesktopFileName(DESKTOP_FILE.removesuffix(".desktop"))
    app.setStyle("Fusion")
    icon = Path(__file__).resolve().parent.parent / "assets" / "icon.svg"
    app.setWindowIcon(QIcon(str(icon)))
    return app


def _install_excepthook(window) -> None:
    """An error that escapes a slot (outside any Job or session) goes through the same boundary
    as the command line: a user error is its sentence; a bug writes its crash log and the box
    names it. The app (and the user's work) stays up."""

    def hook(exc_type, exc, tb):
        from resnet_studio.app.errors import describe_failure, is_expected

        text = "".join(traceback.format_exception(exc_type, exc, tb))
        print(text, file=sys.stderr)
        box = QMessageBox(QMessageBox.Icon.Warning if is_expected(exc) else QMessageBox.Icon.Critical,
                          "Could not do that" if is_expected(exc) else "Unexpected error",
                          describe_failure(exc), parent=window)
        box.setDetailedText(text)
        box.exec()

    sys.excepthook = hook


def _parse_size(text: str) -> tuple[int, int]:
    w, h = (int(v) for v in text.lower().split("x"))
    return w, h


def run_app(args) -> int:
    app = make_app()
    from resnet_studio.qt.main_window import MainWindow

    app._gui_gc.freeze_at_start = True
    screenshot = getattr(args, "screenshot", None)
    compare = getattr(args, "compare", None)
    window = MainWindow(initial_model=getattr(args, "model", None),
                        initial_tab=getattr(args, "tab", None) or ("Architecture" if compare
                                                                   else None),
                        remember=not screenshot)
    if compare:
        window.architecture.compare_with(compare)
    if screenshot:
        window.resize(*_parse_size(args.size))

        waiting = {"summary", "counts", "runtime"}

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
        window.runtimeReady.connect(lambda _info: ready("runtime"))
        if compare:
            waiting.add("compare")
            view = window.architecture.compare_view
            view.comparisonShown.connect(lambda _c: ready("compare"))
            view.comparisonFailed.connect(lambda _m: ready("compare"))
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
