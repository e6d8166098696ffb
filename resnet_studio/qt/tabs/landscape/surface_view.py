"""The Landscape tab's figure: one 2-D slice per run side by side on one log-loss colour scale
(a heat map, or filled contours; both with contour lines at log-spaced levels), and below them
the 1-D slices and the lines from initialisation (log loss)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from resnet_studio.qt.kit.palette import PLAIN, RESIDUAL, TEXT
from resnet_studio.qt.kit.plotting import layout_widget, style_plot

if TYPE_CHECKING:
    from resnet_studio.app.landscape import RunLandscape

COLOUR_MAP = "viridis"
LEVELS_PER_DECADE = 6
VIEWS = ("contour", "heat map")


def log_levels(lo: float, hi: float) -> np.ndarray:
    """log10 contour levels: LEVELS_PER_DECADE a decade between two log10 values."""
    return np.arange(np.floor(lo * LEVELS_PER_DECADE), np.ceil(hi * LEVELS_PER_DECADE) + 1) \
        / LEVELS_PER_DECADE


def filled_contours(m: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Each value replaced by the contour band it falls in (the band's lower level)."""
    idx = np.clip(np.searchsorted(levels, m, side="right") - 1, 0, len(levels) - 1)
    return np.where(np.isfinite(m), levels[idx], np.nan)


def nearest_filled(m: np.ndarray) -> np.ndarray:
    """A partly computed grid drawn whole: each NaN takes its nearest computed point's value
    (the coarse level's points, spread over the cells not refined yet)."""
    if np.isfinite(m).all() or not np.isfinite(m).any():
        return m
    rows, cols = np.nonzero(np.isfinite(m))
    r, c = np.indices(m.shape)
    d = (r[..., None] - rows) ** 2 + (c[..., None] - cols) ** 2
    return m[rows, cols][d.argmin(axis=-1)]


class LandscapeFigure:
    """Owns the GraphicsLayoutWidget (`view`); `show(landscapes, mode)` redraws it."""

    def __init__(self):
        self.view = layout_widget()
        self.caption = self.view.addLabel("", row=0, col=0, colspan=3, size="9pt", color=TEXT)
        self.plots: list[pg.PlotItem] = []
        self.images: list[pg.ImageItem] = []
        self.contours: list[list[pg.IsocurveItem]] = [[], []]
        for col in range(2):
            plot = style_plot(self.view.addPlot(row=1, col=col), "second direction η",
                              "first direction δ")
            plot.grid.setVisible(False)
            image = pg.ImageItem(axisOrder="row-major")
            plot.addItem(image)
            plot.addItem(pg.ScatterPlotItem([0], [0], symbol="+", size=14,
                                            pen=pg.mkPen("#d50000", width=2), brush=None))
            self.plots.append(plot)
            self.images.append(image)
        self.colorbar = pg.ColorBarItem(values=(-1, 1), colorMap=pg.colormap.get(COLOUR_MAP),
                                        interactive=False, width=16)
        self.colorbar.setImageItem(self.images)
        self.colorbar.axis.setTextPen(TEXT)
        self.view.addItem(self.colorbar, row=1, col=2)
        # log10 on a linear axis: pyqtgraph's log axes crowd minor labels within a decade
        self.slices = style_plot(self.view.addPlot(row=2, col=0), "log10 training loss",
                                 "step along δ", title="1-D slice through the trained weights")
        self.line = style_plot(self.view.addPlot(row=2, col=1), "log10 training loss",
                               "t (0: initial weights, 1: trained)",
                               title="From initialisation to the trained weights")
        for plot in (self.slices, self.line):
            plot.addLegend(offset=(10, -10), labelTextColor=TEXT)  # bottom left: clear of the
            #                                                       curves' high ends
        self.view.ci.layout.setRowStretchFactor(1, 3)
        self.view.ci.layout.setRowStretchFactor(2, 2)

    def show(self, landscapes: list[RunLandscape | None], mode: str = "contour",
             caption: str = "") -> None:
        """Up to two runs' slices (None: not computed yet), on one colour scale."""
        self.caption.setText(caption)
        logs = [None if ls is None else np.log10(np.maximum(ls.surface, 1e-12))
                for ls in landscapes]
        finite = [m[np.isfinite(m)] for m in logs if m is not None and np.isfinite(m).any()]
        lo, hi = (float(min(f.min() for f in finite)), float(max(f.max() for f in finite))) \
            if finite else (-1.0, 1.0)
        hi = max(hi, lo + 1e-3)
        levels = log_levels(lo, hi)
        self.colorbar.setLevels((lo, hi))
        for i in range(2):
            ls = landscapes[i] if i < len(landscapes) else None
            self._draw_surface(i, ls, None if ls is None else logs[i], levels, mode)
        self._draw_lines(landscapes)

    def _draw_surface(self, i: int, ls, m, levels, mode: str) -> None:
        plot, image = self.plots[i], self.images[i]
        for iso in self.contours[i]:
            plot.removeItem(iso)
        self.contours[i] = []
        plot.setVisible(i == 0 or ls is not None)
        if ls is None or not np.isfinite(m).any():
            image.clear()
            plot.setTitle(None)
            return
        whole = nearest_filled(m)
        image.setImage(filled_contours(whole, levels) if mode == "contour" else whole,
                       autoLevels=False)
        h = ls.coords[1] - ls.coords[0]
        lo = ls.coords[0] - h / 2
        image.setRect(QRectF(lo, lo, h * len(ls.coords), h * len(ls.coords)))
        for level in levels[1:-1]:
            iso = pg.IsocurveItem(whole, level=float(level), pen=pg.mkPen("w", width=1),
                                  axisOrder="row-major")
            iso.setParentItem(image)  # the image's pixel coordinates (centres at +0.5)
            self.contours[i].append(iso)
        plot.setRange(xRange=(ls.coords[0], ls.coords[-1]), yRange=(ls.coords[0], ls.coords[-1]),
                      padding=0.02)
        done = int(np.isfinite(m).sum())
        state = "" if done == m.size else f" — {done}/{m.size} points"
        plot.setTitle(f"<span style='color:{TEXT};font-size:10pt'>{ls.label}: loss "
                      f"{ls.origin_loss:.3g} at the trained weights{state}</span>")

    def _draw_lines(self, landscapes) -> None:
        for plot in (self.slices, self.line):
            plot.clear()
        for ls, colour in zip(landscapes, (RESIDUAL, PLAIN)):
            if ls is None:
                continue
            pen = pg.mkPen(colour, width=2)
            row = ls.slice_1d
            if np.isfinite(row).any():
                self.slices.plot(ls.coords, np.log10(np.maximum(row, 1e-12)), pen=pen,
                                 name=ls.label, connect="finite")
            if len(ls.line):
                self.line.plot(ls.line_coords, np.log10(np.maximum(ls.line, 1e-12)), pen=pen,
                               name=ls.label)
        self.line.setVisible(any(ls is not None and len(ls.line) for ls in landscapes))
