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


def _apply_theme(app: QApplication, remember: bool, choice: str | None) -> None:
    """Light or dark before any widget is built (`--theme` chooses, and is remembered)."""
    from resnet_studio.qt.kit.settings import Settings
    from resnet_studio.qt.kit.theme import Theme

    theme = Theme.of(app, Settings(remember))
    if choice:
        theme.set_choice(choice)


def run_app(args) -> int:
    app = make_app()
    screenshot = getattr(args, "screenshot", None)
    _apply_theme(app, remember=not screenshot, choice=getattr(args, "theme", None))
    from resnet_studio.qt.main_window import MainWindow

    app._gui_gc.freeze_at_start = True
    compare = getattr(args, "compare", None)
    tab = getattr(args, "tab", None)
    every_tab = screenshot and (tab or "").lower() == "all"
    if screenshot:
        from resnet_studio.qt.screenshots import parse_sizes, plan_shots
        from resnet_studio.qt.tab_pages import TABS

        try:
            shots = plan_shots(screenshot, [e.key for e in TABS] if every_tab else None,
                               parse_sizes(args.size))
        except ValueError as e:
            print(f"resnet-studio gui: error: {e}", file=sys.stderr)
            return 2
    window = MainWindow(initial_model=getattr(args, "model", None),
                        initial_tab=None if every_tab else tab or ("Architecture" if compare
                                                                   else None),
                        remember=not screenshot)
    if compare:
        window.architecture.compare_with(compare)
    if screenshot:
        from resnet_studio.qt.screenshots import ScreenshotRunner

        window.resize(*shots[0].size)
        runner = ScreenshotRunner(window, shots)
        if compare:
            runner.wait_for("compare")
            view = window.architecture.compare_view
            view.comparisonShown.connect(lambda _c: runner.ready("compare"))
            view.comparisonFailed.connect(lambda _m: runner.ready("compare"))
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
