"""The selected image: its picture scaled to fit, what the file was, and the top-k bars.

Imports no torch: it shows numpy arrays, strings and numbers."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from resnet_studio.app.images_state import ImageEntry
from resnet_studio.qt.kit.palette import INFO, MUTED, TEXT, muted_style
from resnet_studio.qt.kit.plotting import with_alpha
from resnet_studio.qt.tabs.images.image_strip import qimage_from_array

INK = QColor(TEXT)
ACCENT = QColor(INFO)  # the most probable class
ACCENT_LIGHT = with_alpha(INFO, 110)  # the others
TRACK = with_alpha(MUTED, 30)
DISPLAY_SIDE = 1024


def display_array(entry: ImageEntry, side: int = DISPLAY_SIDE) -> np.ndarray:
    image = entry.record.image.image
    if max(image.size) > side:
        image = image.copy()
        image.thumbnail((side, side))
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


class ImagePanel(QWidget):
    """Title, picture, file facts and the top-k bars of one image (or a hint without one)."""

    def __init__(self, placeholder: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel(textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.preview = ImagePreview(placeholder)
        self.details = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bars = TopKBars()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.details)
        layout.addWidget(self.bars)
        self._uid = -1
        self.show_entry(None)

    def show_entry(self, entry: ImageEntry | None, message: str = "") -> None:
        """`entry` and its prediction, or `message` (why there is none) in the bars."""
        if entry is None:
            self.title.setText("")
            self.preview.set_array(None)
            self.details.setText("")
            self.bars.set_message("")
            self.bars.setVisible(False)
            self._uid = -1
            return
        self.bars.setVisible(True)
        if self._uid != entry.uid:
            self.preview.set_array(display_array(entry))
            self._uid = entry.uid
        self.title.setText(f"<b style='font-size:14px'>{escape(entry.name)}</b>")
        im = entry.record.image
        w, h = im.original_size
        facts = [f"{w}×{h}", im.format or "", im.original_mode, *im.notes]
        self.details.setText(f"<span style='color:{MUTED}'>"
                             f"{escape(' · '.join(f for f in facts if f))}</span>")
        p = entry.prediction
        if p is not None:
            self.bars.set_prediction(p.labels, p.probabilities)
        else:
            self.bars.set_message(message)


TINY_SIDE = 64  # pixels: shown as blocks when enlarged


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
        self.setStyleSheet(muted_style())
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
        # a tiny image (the built-in 16-pixel glyphs) shows its pixels rather than a blur
        tiny = max(self._image.width(), self._image.height()) <= TINY_SIDE
        mode = Qt.TransformationMode.FastTransformation if tiny else \
            Qt.TransformationMode.SmoothTransformation
        scaled = self._image.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, mode)
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
