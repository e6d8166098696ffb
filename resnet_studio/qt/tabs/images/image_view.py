"""What the Images tab's model views share: an RGB picture in a zoomable view, and a base that
computes for the current model and image in the background, only while on screen.

Threading: `ModelImageView` runs one app-layer function at a time in a `LatestJob` (a newer
request supersedes the running one; only the newest result is shown). The function leases the
model from the shared `ModelSourceCache` in the worker and sends back numpy arrays; this
module imports no torch.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from resnet_studio.app.images import SourceInfo
from resnet_studio.app.model_sources import ModelSourceCache
from resnet_studio.core.images import LoadedImage
from resnet_studio.qt.kit.job import LatestJob
from resnet_studio.qt.kit.palette import BACKGROUND, ERROR, MUTED
from resnet_studio.qt.kit.stale import Stale


def muted(text: str) -> str:
    return f"<span style='color:{MUTED}'>{text}</span>"


def labelled(text: str, widget: QWidget) -> QWidget:
    """`widget` with a label on its left, as one widget for a row of controls."""
    w = QWidget()
    layout = QHBoxLayout(w)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(4)
    layout.addWidget(QLabel(text))
    layout.addWidget(widget)
    return w


def column(*widgets: QWidget, stretch: int = -1) -> QWidget:
    """The widgets one above the other, without margins; the `stretch`-th one takes the room."""
    w = QWidget()
    layout = QVBoxLayout(w)
    layout.setContentsMargins(0, 0, 0, 0)
    for i, widget in enumerate(widgets):
        layout.addWidget(widget, 1 if i == stretch else 0)
    return w


class ImageView(pg.GraphicsLayoutWidget):
    """One RGB image in a ViewBox (row-major, y down, square pixels); `clicked(col, row)`."""

    clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None, interactive: bool = True):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.view = self.addViewBox()
        self.view.setAspectLocked(True)
        self.view.invertY(True)
        self.view.setMenuEnabled(False)
        self.view.setMouseEnabled(interactive, interactive)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.item)
        self.scene().sigMouseClicked.connect(self._scene_clicked)
        self.setMinimumSize(120, 100)

    @property
    def image(self) -> np.ndarray | None:
        return self.item.image

    def set_rgb(self, rgb: np.ndarray | None) -> None:
        if rgb is None:
            self.item.clear()
            return
        old = self.item.image
        self.item.setImage(rgb, autoLevels=False, levels=(0, 255))
        if old is None or old.shape[:2] != rgb.shape[:2]:
            self.view.autoRange(padding=0.02)

    def _scene_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.item.image is None:
            return
        p = self.item.mapFromScene(event.scenePos())
        h, w = self.item.image.shape[:2]
        col, row = int(np.floor(p.x())), int(np.floor(p.y()))
        if 0 <= col < w and 0 <= row < h:
            self.clicked.emit(col, row)


class ModelImageView(QWidget):
    """The current model (a `SourceInfo`) and image, and compute-when-visible. Subclasses
    build their widgets, then implement `_submit` (start `self.job`), `_show(result)` and
    `_clear(message)`."""

    busyChanged = Signal(bool)
    shown = Signal()  # a new result is on screen

    def __init__(self, models: ModelSourceCache, parent: QWidget | None = None):
        super().__init__(parent)
        self.models = models
        self.source: SourceInfo | None = None
        self.uid = -1
        self.image: LoadedImage | None = None
        self._dirty = False
        self._waiting = "Waiting for the model…"
        self.job = LatestJob(self)
        self.job.succeeded.connect(self._show)
        self.job.failed.connect(self._failed)
        self.job.runningChanged.connect(self.busyChanged)
        # greyed while a newer request is computed (not for one that takes a blink)
        self.stale = Stale(self, delay_ms=300)
        self.stale.follow(self.job)
        self.info = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def is_busy(self) -> bool:
        return self.job.is_running()

    def set_source(self, source: SourceInfo | None) -> None:
        self.source = source
        self._source_changed()
        self.request()

    def set_hint(self, text: str) -> None:
        """What to say while there is no model."""
        self._waiting = text
        if self.source is None:
            self._clear(self._hint())

    def set_image(self, uid: int, image: LoadedImage | None) -> None:
        if uid == self.uid and image is self.image:
            return
        self.uid, self.image = uid, image
        self.request()

    def request(self) -> None:
        self.job.cancel()  # whatever runs now is for an older request
        if self.source is None or self.image is None:
            self._clear(self._hint())
            return
        if not self.isVisible():
            self._dirty = True
            return
        self._dirty = False
        self._submit()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self.request()

    def _start(self, what: str, func: Callable, *args, **kwargs) -> None:
        self.info.setText(muted(f"Computing {escape(what)}…"))
        self.job.start(func, self.models, self.source, self.image, *args, **kwargs)

    def _failed(self, message: str) -> None:
        self._clear(f"<span style='color:{ERROR}'>{escape(message)}</span>")

    def _hint(self) -> str:
        if self.source is None:
            return muted(escape(self._waiting))
        return muted("Add images and select one to look inside the model.")

    # for subclasses
    def _source_changed(self) -> None: ...
    def _submit(self) -> None: ...
    def _show(self, result) -> None: ...
    def _clear(self, message: str) -> None: ...
