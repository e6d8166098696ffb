"""Small widgets of the Images tab: the thumbnail strip, the skipped-files list, a scaled image
preview and the top-k probability bars.

Imports no torch: they show numpy arrays, strings and numbers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

INK = QColor("#1f2937")
MUTED = QColor("#64748b")
ACCENT = QColor("#2563eb")
ACCENT_LIGHT = QColor("#93b4ee")
TRACK = QColor("#eef2f7")
UID_ROLE = Qt.ItemDataRole.UserRole

THUMB_SIDE = 96


def qimage_from_array(arr: np.ndarray) -> QImage:
    """H x W x 3 (or H x W) uint8 -> a QImage that owns its pixels."""
    a = np.ascontiguousarray(arr, dtype=np.uint8)
    h, w = a.shape[:2]
    if a.ndim == 2:
        return QImage(a.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def _square_icon(thumb: np.ndarray, side: int = THUMB_SIDE) -> QIcon:
    """The thumbnail centred on a fixed square, so every item lines up in the strip."""
    canvas = QPixmap(side, side)
    canvas.fill(QColor("#f1f5f9"))
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
        self.title.setText(f"<b>Skipped ({n})</b> <span style='color:#64748b'>— hover for "
                           "the full path</span>" if n else "<b>Skipped</b>")
        self.setVisible(n > 0)


class ImagePreview(QLabel):
    """An image scaled to fit, keeping its aspect ratio; a hint text when empty."""

    def __init__(self, placeholder: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self._image: QImage | None = None
        self._placeholder = placeholder
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setWordWrap(True)
        self.setStyleSheet("color:#64748b")
        self.set_array(None)

    def set_array(self, arr: np.ndarray | None, placeholder: str | None = None) -> None:
        if placeholder is not None:
            self._placeholder = placeholder
        self._image = qimage_from_array(arr) if arr is not None else None
        self._rescale()

    def has_image(self) -> bool:
        return self._image is not None

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._image is None:
            self.setPixmap(QPixmap())
            self.setText(self._placeholder)
            return
        size = self.contentsRect().size()
        if size.width() < 2 or size.height() < 2:
            return
        scaled = self._image.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                                    Qt.TransformationMode.SmoothTransformation)
        self.setPixmap(QPixmap.fromImage(scaled))


class TopKBars(QWidget):
    """Horizontal bars: class name, a bar as long as its probability, the percentage."""

    ROW = 24

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._rows: list[tuple[str, float]] = []
        self._message = "No prediction yet"
        self.setMinimumHeight(self.ROW * 5 + 8)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_prediction(self, labels: Sequence[str], probabilities: Sequence[float]) -> None:
        self._rows = [(str(lb), float(p)) for lb, p in zip(labels, probabilities)]
        self.setFixedHeight(self.ROW * max(5, len(self._rows)) + 8)
        self.setToolTip("\n".join(f"{p:7.2%}  {lb}" for lb, p in self._rows))
        self.update()

    def set_message(self, text: str) -> None:
        self._rows = []
        self._message = text
        self.setToolTip("")
        self.update()

    def rows(self) -> list[tuple[str, float]]:
        return list(self._rows)

    def message(self) -> str:
        return "" if self._rows else self._message

    def sizeHint(self) -> QSize:
        return QSize(320, self.ROW * max(5, len(self._rows)) + 8)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        w = self.width()
        if not self._rows:
            painter.setPen(MUTED)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._message)
            return
        fm = painter.fontMetrics()
        label_w = int(min(max(w * 0.42, 110), 260))
        pct_w = fm.horizontalAdvance("100.0%") + 8
        bar_x = label_w + 8
        bar_w = max(10, w - bar_x - pct_w)
        for i, (label, p) in enumerate(self._rows):
            y = 4 + i * self.ROW
            painter.setPen(INK)
            text = fm.elidedText(label, Qt.TextElideMode.ElideRight, label_w - 4)
            painter.drawText(QRectF(0, y, label_w - 4, self.ROW), Qt.AlignmentFlag.AlignRight
                             | Qt.AlignmentFlag.AlignVCenter, text)
            track = QRectF(bar_x, y + 5, bar_w, self.ROW - 10)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(TRACK)
            painter.drawRoundedRect(track, 3, 3)
            painter.setBrush(ACCENT if i == 0 else ACCENT_LIGHT)
            painter.drawRoundedRect(QRectF(bar_x, y + 5, max(2.0, bar_w * min(max(p, 0.0), 1.0)),
                                           self.ROW - 10), 3, 3)
            painter.setPen(INK if i == 0 else MUTED)
            painter.drawText(QRectF(bar_x + bar_w + 6, y, pct_w, self.ROW),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             _percent(p))


def _percent(p: float) -> str:
    return "<0.1%" if p < 0.001 else f"{100 * p:.1f}%"
