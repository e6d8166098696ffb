"""`gui --screenshot`: render the window once what it shows has loaded, save PNGs, and exit.

One shot (`--screenshot shot.png`), or every tab at every size in one process (`--tab all
--size 1280x720,1920x1080 --screenshot 'assets/tabs/{tab}-{size}.png'`: `make screenshots`).
Each shot waits for the window's start-up (model summary, preset counts, PyTorch), then for the
tab shown to finish its background work (at most `TAB_WAIT_MS`), then lets it paint once.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QCoreApplication, QIODevice, QObject, QTimer
from PySide6.QtGui import QImage

from resnet_studio.core.common.files import write_bytes_atomic


# What a user presses first in a tab that measures only on request, so its shot shows a result
def _landscape_showcase(tab) -> None:
    tab.form.set_value({"grid": 11, "batches": 2})  # seconds, not the default's minute
    tab.compute()


SHOWCASE = {"gradients": lambda tab: tab.init_view.measure(),
            "attributions": lambda tab: tab.run(),
            "landscape": _landscape_showcase}
TAB_WAIT_MS = 45_000  # a tab still busy after this is shot as it is (its progress shown)
SETTLE_MS = 600  # the graph lays out, plots paint
GIVE_UP_MS = 600_000  # never hang a script


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """'1280x720,1920x1080' -> [(1280, 720), (1920, 1080)]; ValueError on anything else."""
    sizes = []
    for part in filter(None, (p.strip() for p in text.lower().split(","))):
        w, _, h = part.partition("x")
        if not (w.isdigit() and h.isdigit()) or int(w) < 200 or int(h) < 200:
            raise ValueError(f"--size: '{part}' is not a window size such as 1280x720")
        sizes.append((int(w), int(h)))
    if not sizes:
        raise ValueError("--size: give a window size such as 1280x720")
    return sizes


@dataclass(frozen=True)
class Shot:
    tab: str | None  # a tab key; None: the tab the window opened on
    size: tuple[int, int]
    path: Path


def plan_shots(template: str, tabs: list[str] | None, sizes: list[tuple[int, int]]) -> list[Shot]:
    """One shot per size and tab (None: the tab shown); `{tab}` and `{size}` in the template
    name the file (ValueError when several shots would write one file)."""
    shots = []
    for w, h in sizes:
        for tab in tabs or [None]:
            path = Path(template.format(tab=(tab or "window").replace("_", "-"),
                                        size=f"{w}x{h}"))
            shots.append(Shot(tab, (w, h), path))
    if len({s.path for s in shots}) != len(shots):
        raise ValueError("--screenshot: put {tab} and {size} in the file name to write "
                         "several shots")
    return shots


def save_png(image: QImage, path: Path) -> None:
    """A window picture as a 256-colour PNG (a third of the size; the UI's flat colours and
    antialiased text survive it), written atomically. OSError if it cannot be written."""
    from PIL import Image

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buf, "PNG"):
        raise OSError(f"could not encode {path.name}")
    picture = Image.open(io.BytesIO(bytes(data.data()))).convert("RGB")
    small = picture.quantize(colors=256, method=Image.Quantize.FASTOCTREE,
                             dither=Image.Dither.NONE)
    out = io.BytesIO()
    small.save(out, "PNG", optimize=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, out.getvalue())


class ScreenshotRunner(QObject):
    """Takes the shots in turn once the window has started; exits the app with 0 when every
    PNG was written, 1 otherwise."""

    def __init__(self, window, shots: list[Shot]):
        super().__init__(window)
        self.window, self.shots = window, list(shots)
        self.failed = 0
        self._waiting = {"summary", "counts", "runtime"}
        self._busy: set[str] = set()
        self._deadline = QTimer(self, singleShot=True, interval=TAB_WAIT_MS)
        self._poll = QTimer(self, interval=250)
        self._poll.timeout.connect(self._poll_tab)
        window.summaryShown.connect(lambda _s: self.ready("summary"))
        window.presetCountsShown.connect(lambda: self.ready("counts"))
        window.runtimeReady.connect(lambda _info: self.ready("runtime"))
        window.tabs.tabBuilt.connect(self._watch)
        for tab in window.tabs.built():
            self._watch(None, tab)
        QTimer.singleShot(GIVE_UP_MS, lambda: QCoreApplication.exit(3))

    def wait_for(self, what: str) -> None:
        """One more start-up event to wait for (the comparison of `--compare`)."""
        self._waiting.add(what)

    def ready(self, what: str) -> None:
        if what in self._waiting:
            self._waiting.discard(what)
            if not self._waiting:
                self._next()

    def _watch(self, _key, tab) -> None:
        tab.busyChanged.connect(lambda busy, t=tab: self._busy_changed(t, busy))

    def _busy_changed(self, tab, busy: bool) -> None:
        (self._busy.add if busy else self._busy.discard)(id(tab))

    def _next(self) -> None:
        if not self.shots:
            QCoreApplication.exit(1 if self.failed else 0)
            return
        shot = self.shots[0]
        self.window.resize(*shot.size)
        if shot.tab:
            tab = self.window.show_tab(shot.tab)
            if shot.tab in SHOWCASE:
                SHOWCASE[shot.tab](tab)
        self._deadline.start()
        QTimer.singleShot(SETTLE_MS, self._poll.start)  # a tab starts its work when shown

    def _poll_tab(self) -> None:
        tab = self.window.current_tab()
        if id(tab) in self._busy and self._deadline.isActive():
            return
        self._poll.stop()
        QTimer.singleShot(SETTLE_MS, self._grab)

    def _grab(self) -> None:
        shot = self.shots.pop(0)
        try:
            save_png(self.window.grab().toImage(), shot.path)
            ok = True
        except OSError:
            ok = False
        self.failed += not ok
        print(f"saved {shot.path}" if ok else f"could not write {shot.path}", flush=True)
        self._next()
