"""During training: a block × step heatmap (log10 of the recorded gradient norms) per run, two
runs side by side on one colour scale, and lines for chosen blocks below."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from resnet_studio.qt.kit.palette import TEXT, series_colour
from resnet_studio.qt.kit.plotting import layout_widget, style_plot
from resnet_studio.qt.tabs.gradients.axes import fit_log_range, log_plot, positive, set_title

if TYPE_CHECKING:
    from resnet_studio.core.training.gradlog import GradientHistory

HEAT_MAP = "viridis"


def heat_matrix(history: GradientHistory | None) -> np.ndarray:
    """blocks × records of log10(norm); zeros and non-finite values become NaN."""
    if history is None or not len(history.steps):
        return np.zeros((0, 0))
    values = positive(history.blocks.T)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(values)


def _step_rect(steps: np.ndarray, rows: int) -> QRectF:
    """Each record a column centred on its step."""
    steps = np.asarray(steps, dtype=float)
    spacing = float(np.median(np.diff(steps))) if len(steps) > 1 else 1.0
    x0 = steps[0] - spacing / 2
    width = max(steps[-1] - steps[0] + spacing, spacing)
    return QRectF(x0, 0, width, rows)


def _block_ticks(names: list[str]) -> list[list[tuple[float, str]]]:
    """Stem, the first block of each stage and head as major ticks; the others minor."""
    major, minor = [], []
    for i, n in enumerate(names):
        (major if n in ("stem", "head") or n.endswith(".0") else minor).append((i + 0.5, n))
    return [major, minor]


class GradientHeatmaps(QWidget):
    """Run A (and optionally run B) side by side, one colour scale, lines below."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = layout_widget()
        self.caption = self.view.addLabel("", row=0, col=0, colspan=3, size="9pt",
                                          color="#455a64")
        self.heat_plots: list[pg.PlotItem] = []
        self.images: list[pg.ImageItem] = []
        for col in range(2):
            plot = style_plot(self.view.addPlot(row=1, col=col),
                              "block (input at top)" if col == 0 else None, "step")
            plot.getAxis("left").setStyle(hideOverlappingLabels=False,
                                          textFillLimits=[(0, 0.9), (8, 0.9), (30, 0.7)])
            plot.invertY(True)
            plot.grid.setVisible(False)  # an image fills the plot
            image = pg.ImageItem(axisOrder="row-major")
            plot.addItem(image)
            self.heat_plots.append(plot)
            self.images.append(image)
        self.colorbar = pg.ColorBarItem(values=(-3, 0), colorMap=pg.colormap.get(HEAT_MAP),
                                        label="log10 of the block's gradient norm",
                                        interactive=False, width=16)
        self.colorbar.setImageItem(self.images)
        self.colorbar.axis.setTextPen(TEXT)
        self.colorbar.axis.setLabel("log10 of the block's gradient norm", color=TEXT)
        self.view.addItem(self.colorbar, row=1, col=2)
        # the lines' legend is a row of its own between the heatmaps and the lines
        self.line_legend = pg.LegendItem(labelTextSize="9pt", labelTextColor=TEXT, colCount=8)
        self.view.addItem(self.line_legend, row=2, col=0, colspan=2)
        self.lines = style_plot(log_plot(self.view, row=3, col=0, colspan=2),
                                "gradient norm of the block", "step", live=True)
        self.view.ci.layout.setRowStretchFactor(1, 3)
        self.view.ci.layout.setRowStretchFactor(3, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.histories: list[GradientHistory | None] = [None, None]
        self.labels: list[str] = ["", ""]
        self.matrices: list[np.ndarray] = [np.zeros((0, 0)), np.zeros((0, 0))]
        self.line_items: list[pg.PlotDataItem] = []

    def show_runs(self, runs: list[tuple[str, GradientHistory | None]],
                  selected: list[str], caption: str = "") -> None:
        """runs: up to two (label, history) pairs; selected: block names drawn as lines."""
        runs = list(runs[:2]) + [("", None)] * (2 - len(runs[:2]))
        self.caption.setText(caption)
        finite = []
        for i, (label, hist) in enumerate(runs):
            self.histories[i], self.labels[i] = hist, label
            m = heat_matrix(hist)
            self.matrices[i] = m
            plot, image = self.heat_plots[i], self.images[i]
            plot.setVisible(i == 0 or hist is not None)
            if m.size:
                image.setImage(m, autoLevels=False)
                rect = _step_rect(hist.steps, m.shape[0])
                image.setRect(rect)
                plot.setXRange(rect.left(), rect.right(), padding=0.01)
                plot.setYRange(0, m.shape[0], padding=0)
                finite.append(m[np.isfinite(m)])
                plot.getAxis("left").setTicks(_block_ticks(hist.block_names))
                plot.getAxis("left").setStyle(showValues=True)
            else:
                image.clear()
                plot.getAxis("left").setTicks([])
            set_title(plot, label or ("no run chosen" if i == 0 else ""))
        vals = np.concatenate(finite) if finite else np.zeros(0)
        if vals.size:
            lo, hi = float(np.min(vals)), float(np.max(vals))
            if hi - lo < 1e-6:
                lo, hi = lo - 0.5, hi + 0.5
            self.colorbar.setLevels((lo, hi))
        self.draw_lines(selected)

    def draw_lines(self, selected: list[str]) -> None:
        """One line per chosen block and run: solid for the first run, dashed for the second."""
        for item in self.line_items:
            self.lines.removeItem(item)
        self.line_items = []
        self.line_legend.clear()
        styles = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine)
        values = []
        named: set[str] = set()
        for k, name in enumerate(selected):
            colour = series_colour(k)
            for i, hist in enumerate(self.histories):
                if hist is None or name not in hist.block_names or not len(hist.steps):
                    continue
                y = positive(hist.values[:, hist.names.index(name)])
                item = self.lines.plot(hist.steps.astype(float), y, connect="finite",
                                       pen=pg.mkPen(colour, width=2, style=styles[i]))
                if name not in named:  # one entry per block: the colour says which
                    self.line_legend.addItem(item, name)
                    named.add(name)
                self.line_items.append(item)
                values.append(y)
        self.line_legend.setVisible(bool(self.line_items))
        runs = [label for label, h in zip(self.labels, self.histories) if h is not None]
        self.lines.setTitle(
            f"<span style='color:{TEXT};font-size:9pt'>solid: {runs[0]} · dashed: "
            f"{runs[1]}</span>" if len(runs) == 2 else None)
        fit_log_range(self.lines, *values)
