"""The Images tab's list of images: a strip of thumbnails, and the files skipped with reasons.

Imports no torch: they show numpy arrays and strings."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.qt.kit.palette import CARD, MUTED

UID_ROLE = Qt.ItemDataRole.UserRole

THUMB_SIDE = 96


def qimage_from_array(arr: np.ndarray) -> QImage:
    """H x W x 3 (or H x W) uint8 -> a QImage that owns its pixels."""
    a = np.ascontiguousarray(arr, dtype=np.uint8)
    h, w = a.shape[:2]
    if a.ndim == 2:
        return QImage(a.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def qimage_to_pil(qimage: QImage):
    """A QImage (the clipboard's) -> an RGBA PIL image that owns its pixels."""
    from PIL import Image

    q = qimage.convertToFormat(QImage.Format.Format_RGBA8888)
    w, h, stride = q.width(), q.height(), q.bytesPerLine()
    buf = np.frombuffer(q.constBits(), np.uint8, count=q.sizeInBytes()).reshape(h, stride)
    return Image.fromarray(buf[:, :w * 4].reshape(h, w, 4).copy(), "RGBA")


def _square_icon(thumb: np.ndarray, side: int = THUMB_SIDE) -> QIcon:
    """The thumbnail centred on a fixed square, so every item lines up in the strip."""
    canvas = QPixmap(side, side)
    canvas.fill(QColor(CARD))
    image = qimage_from_array(thumb).scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                            Qt.TransformationMode.SmoothTransformation)
    painter = QPainter(canvas)
    painter.drawImage((side - image.width()) // 2, (side - image.height()) // 2, image)
    painter.end()
    return QIcon(canvas)


class ImageStrip(QListWidget):
    """Thumbnails in one scrolling row; each item carries the uid of its image."""

    currentUidChanged = Signal(int)  # -1: none

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setIconSize(QSize(THUMB_SIDE, THUMB_SIDE))
        self.setGridSize(QSize(THUMB_SIDE + 32, THUMB_SIDE + 44))
        self.setUniformItemSizes(True)
        self.setWordWrap(True)
        self.setSpacing(2)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setFixedHeight(THUMB_SIDE + 44 + 2 * self.frameWidth() + 18)  # + scroll bar
        self._items: dict[int, QListWidgetItem] = {}
        self.currentItemChanged.connect(self._current_changed)

    def add_image(self, uid: int, name: str, thumb: np.ndarray, caption: str = "",
                  tooltip: str = "") -> None:
        item = QListWidgetItem(_square_icon(thumb), "")
        item.setData(UID_ROLE, uid)
        item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self._items[uid] = item
        self.addItem(item)
        self.set_caption(uid, name, caption, tooltip)

    def set_caption(self, uid: int, name: str, caption: str, tooltip: str = "") -> None:
        item = self._items.get(uid)
        if item is None:
            return
        fm = QFontMetrics(self.font())
        width = self.gridSize().width() - 6
        lines = [fm.elidedText(name, Qt.TextElideMode.ElideMiddle, width)]
        if caption:
            lines.append(fm.elidedText(caption, Qt.TextElideMode.ElideRight, width))
        item.setText("\n".join(lines))
        item.setToolTip(tooltip or name)

    def clear_images(self) -> None:
        self._items.clear()
        self.clear()

    def uids(self) -> list[int]:
        return [self.item(i).data(UID_ROLE) for i in range(self.count())]

    def current_uid(self) -> int:
        item = self.currentItem()
        return int(item.data(UID_ROLE)) if item is not None else -1

    def select_uid(self, uid: int) -> None:
        item = self._items.get(uid)
        if item is not None:
            self.setCurrentItem(item)
            self.scrollToItem(item)

    def caption_of(self, uid: int) -> str:
        item = self._items.get(uid)
        return item.text() if item is not None else ""

    def tooltip_of(self, uid: int) -> str:
        item = self._items.get(uid)
        return item.toolTip() if item is not None else ""

    def _current_changed(self, current, _previous) -> None:
        self.currentUidChanged.emit(int(current.data(UID_ROLE)) if current is not None else -1)


class SkippedList(QWidget):
    """Files that were not loaded, one line each: "notes.png: not an image (...)"."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel()
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)
        self._update_title()

    def add_failures(self, failures: Sequence) -> None:
        """`LoadFailure`s (path, reason)."""
        for f in failures:
            name = f.path.name or str(f.path)
            item = QListWidgetItem(f"{name}: {f.reason}")
            item.setToolTip(f"{f.path}\n{f.reason}")
            self.list.addItem(item)
        self._update_title()

    def clear(self) -> None:
        self.list.clear()
        self._update_title()

    def count(self) -> int:
        return self.list.count()

    def texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _update_title(self) -> None:
        n = self.list.count()
        self.title.setText(f"<b>Skipped ({n})</b> <span style='color:{MUTED}'>— hover for "
                           "the full path</span>" if n else "<b>Skipped</b>")
        self.setVisible(n > 0)
