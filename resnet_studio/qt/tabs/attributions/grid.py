"""The grid of attribution maps: one row per model (the model, then what it is compared with),
one column per method, each cell an overlay with its caption and an Export button."""

from __future__ import annotations

import html
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.attribution import AttributionCell
from resnet_studio.core.analysis.attribution_names import METHODS

CELL, MIN_CELL = 224, 128  # shown size of one overlay: at most, at least
HEADER = 130  # width of the rows' headers
PLACEHOLDER = "Open an image, pick methods and press Compute."


def caption(cell: AttributionCell) -> str:
    """The method, the class the map explains (and whether this net predicts it), the time."""
    r = cell.result
    predicted = cell.predicted_label
    own = "" if not predicted else " (its prediction)" if predicted == cell.target_label else \
        f" (predicts {html.escape(predicted)})"
    text = (f"<b>{html.escape(r.label)}</b><br>class {r.target}: "
            f"<b>{html.escape(cell.target_label)}</b>{own}<br>")
    if r.delta is not None:
        text += f"convergence δ = {r.delta:.3g} · "
    return text + f"{r.seconds:.2f} s"


def qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def pixels(rgb: np.ndarray, side: int) -> QPixmap:
    """`rgb` scaled to side x side; a small map (a 16-pixel input) keeps its pixels sharp."""
    smooth = rgb.shape[0] >= side / 2
    mode = Qt.TransformationMode.SmoothTransformation if smooth else \
        Qt.TransformationMode.FastTransformation
    return QPixmap.fromImage(qimage(rgb)).scaled(side, side,
                                                 Qt.AspectRatioMode.IgnoreAspectRatio, mode)


class CellView(QWidget):
    """One map: caption, overlay, Export."""

    exportRequested = Signal(object)  # AttributionCell

    def __init__(self, cell: AttributionCell, parent: QWidget | None = None):
        super().__init__(parent)
        self.cell = cell
        self.caption = QLabel(caption(cell), wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.picture = QLabel()
        self.picture.setFixedSize(CELL, CELL)
        self.caption.setFixedWidth(CELL)
        self.rgb = np.zeros((1, 1, 3), np.uint8)
        export = QPushButton("Export…")
        export.setToolTip("Save the overlay as PNG and the raw map as .npy")
        export.clicked.connect(lambda: self.exportRequested.emit(self.cell))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addStretch(1)  # captions of one row end at one line: the maps line up
        for w in (self.caption, self.picture, export):
            layout.addWidget(w)

    def show_picture(self, rgb: np.ndarray) -> None:
        self.rgb = rgb
        self.picture.setPixmap(pixels(rgb, self.picture.width()))

    def set_side(self, side: int) -> None:
        if side != self.picture.width():
            self.picture.setFixedSize(side, side)
            self.caption.setFixedWidth(side)
            self.show_picture(self.rgb)


class AttributionGrid(QScrollArea):
    exportRequested = Signal(object, str)  # AttributionCell, the PNG path the user chose

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        host = QWidget()
        self._grid = QGridLayout(host)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._placeholder = QLabel(PLACEHOLDER)
        self._grid.addWidget(self._placeholder, 0, 0)
        self.setWidget(host)
        self._rows: list[str] = []
        self._headers: list[QLabel] = []
        self.views: dict[tuple[str, str], CellView] = {}

    def clear(self) -> None:
        for w in [*self.views.values(), *self._headers]:
            self._grid.removeWidget(w)
            w.deleteLater()
        self.views.clear()
        self._headers.clear()
        self._rows.clear()
        self._placeholder.hide()

    def add(self, cell: AttributionCell, rgb: np.ndarray) -> None:
        """A new cell (a new row gets its header); the columns stay in the methods' order."""
        if cell.row not in self._rows:
            self._rows.append(cell.row)
            header = QLabel(f"<b>{html.escape(cell.row)}</b><br>{html.escape(cell.title)}",
                            wordWrap=True)
            header.setMaximumWidth(HEADER)
            self._headers.append(header)
            self._grid.addWidget(header, len(self._rows) - 1, 0)
        view = CellView(cell)
        view.exportRequested.connect(self._export_dialog)
        self.views[(cell.row, cell.method)] = view
        view.show_picture(rgb)
        columns = sorted({m for _, m in self.views}, key=METHODS.index)
        for (row, method), v in self.views.items():
            self._grid.addWidget(v, self._rows.index(row), 1 + columns.index(method))
        self._fit()

    def _fit(self) -> None:
        """Cells as large as fits the width (down to MIN_CELL; then the grid scrolls)."""
        columns = len({m for _, m in self.views})
        if not columns:
            return
        room = self.viewport().width() - HEADER - 12 * (columns + 1)
        side = max(MIN_CELL, min(CELL, room // columns))
        for v in self.views.values():
            v.set_side(side)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _export_dialog(self, cell: AttributionCell) -> None:
        default = f"{cell.method}_{cell.row.replace(' ', '_')}.png"
        path, _ = QFileDialog.getSaveFileName(self, "Export attribution", default,
                                              "PNG image (*.png)")
        if path:
            self.exportRequested.emit(cell, path)

    def redraw(self, render: Callable[[AttributionCell], np.ndarray]) -> None:
        for view in self.views.values():
            view.show_picture(render(view.cell))

    def pixmap(self, row: str, method: str) -> QPixmap:
        return self.views[(row, method)].picture.pixmap()

    def caption_text(self, row: str, method: str) -> str:
        return self.views[(row, method)].caption.text()
