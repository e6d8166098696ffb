"""The Depth Lab figure, in the style of He et al. 2015 Fig. 6: one panel per family (plain |
residual ...), error (%) against iterations, one colour per depth, training error thin and
dashed, test error bold; with several seeds, the seed mean and a ±std band.

Curves are created once per (variant, depth) and updated with setData.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from resnet_studio.core.experiments import VARIANT_LABELS, model_label
from resnet_studio.qt.kit.palette import SERIES
from resnet_studio.qt.kit.plotting import export_figure, layout_widget, style_plot, with_alpha

# the palette's colour-blind-safe series, so the two depths of the quick demo are far apart
# (blue vs red); depths off the paper's list take the colours after them
DEPTH_COLOURS = dict(zip((20, 32, 44, 56, 110, 1202), SERIES))
EXTRA_COLOURS = SERIES[len(DEPTH_COLOURS):]
TRAIN_SMOOTHING = 0.6  # EMA weight on the logged training error (each point: one log window)


def depth_colour(depth: int, others: list[int]) -> str:
    if depth in DEPTH_COLOURS:
        return DEPTH_COLOURS[depth]
    extra = sorted(d for d in others if d not in DEPTH_COLOURS)
    return EXTRA_COLOURS[extra.index(depth) % len(EXTRA_COLOURS)] if depth in extra \
        else EXTRA_COLOURS[0]


class _Curves:
    """The items of one (variant, depth): train mean, its band, test mean, its band."""

    def __init__(self, plot, colour: str, label: str):
        self.train = plot.plot(pen=pg.mkPen(colour, width=1.3, style=Qt.PenStyle.DashLine))
        self.test = plot.plot(pen=pg.mkPen(colour, width=3.0), name=label)
        # the band edges are not drawn themselves; FillBetweenItem fills between their paths
        self.train_lo, self.train_hi = pg.PlotCurveItem(), pg.PlotCurveItem()
        self.test_lo, self.test_hi = pg.PlotCurveItem(), pg.PlotCurveItem()
        self.train_band = pg.FillBetweenItem(self.train_lo, self.train_hi,
                                             brush=pg.mkBrush(with_alpha(colour, 40)))
        self.test_band = pg.FillBetweenItem(self.test_lo, self.test_hi,
                                            brush=pg.mkBrush(with_alpha(colour, 70)))
        for item in (self.train_band, self.test_band):
            item.setZValue(-10)
            item.setVisible(False)
            plot.addItem(item)

    def set(self, train, test) -> None:
        self.train.setData(np.asarray(train.steps), np.asarray(train.mean))
        self.test.setData(np.asarray(test.steps), np.asarray(test.mean))
        for lo, hi, band, curve in ((self.train_lo, self.train_hi, self.train_band, train),
                                    (self.test_lo, self.test_hi, self.test_band, test)):
            x = np.asarray(curve.steps, dtype=float)
            m, s = np.asarray(curve.mean), np.asarray(curve.std)
            show = len(x) > 1 and bool(np.any(s > 0))
            if show:
                lo.setData(x, m - s)
                hi.setData(x, m + s)
            band.setVisible(show)


class DepthPlots(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = layout_widget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.panels: dict[str, pg.PlotItem] = {}
        self.legends: dict[str, pg.LegendItem] = {}
        self.curves: dict[tuple[str, int], _Curves] = {}
        self._layout_key: tuple = ()
        self.total_steps = 0

    def set_layout(self, variants: list[str], depths: list[int], total_steps: int) -> None:
        """One panel per variant, one colour per depth; kept if nothing changed."""
        key = (tuple(variants), tuple(depths), total_steps)
        if key == self._layout_key:
            return
        self._layout_key = key
        self.total_steps = total_steps
        self.view.clear()
        for items in (self.panels, self.legends, self.curves):
            items.clear()
        first = None
        for col, v in enumerate(variants):
            # no context menu: its widgets cost 10 ms a panel, rebuilt with every new grid
            plot = style_plot(self.view.addPlot(row=0, col=col, enableMenu=False),
                              "error (%)" if col == 0 else None, "iterations",
                              title=VARIANT_LABELS[v], live=True)
            plot.setXRange(0, max(1, total_steps), padding=0.02)
            plot.setYRange(0, 100, padding=0)
            plot.getViewBox().setLimits(xMin=0, yMin=0, yMax=100)
            # bottom left: error curves start high and end low on the right, so it stays clear
            legend = plot.addLegend(offset=(8, -8), labelTextSize="8pt", colCount=1)
            legend.setBrush(pg.mkBrush(255, 255, 255, 210))
            if first is None:
                first = plot
            else:
                plot.setYLink(first)
                plot.setXLink(first)
            self.panels[v] = plot
            self.legends[v] = legend
            for d in depths:
                c = _Curves(plot, depth_colour(d, depths), model_label(d, v))
                self.curves[(v, d)] = c
            if col == len(variants) - 1:  # the line styles, once, as in the paper's caption
                grey = "#616161"
                legend.addItem(pg.PlotDataItem(pen=pg.mkPen(grey, width=1.3,
                                                            style=Qt.PenStyle.DashLine)),
                               "training error")
                legend.addItem(pg.PlotDataItem(pen=pg.mkPen(grey, width=3.0)), "test error")

    def show_results(self, results) -> None:
        """Redraw every curve from an ExperimentResults (live or stored)."""
        exp = results.experiment
        self.set_layout(exp.variants, exp.depths, exp.config.steps)
        ymax = 0.0
        for (v, d), items in self.curves.items():
            train = results.curves(v, d, "train", smoothing=TRAIN_SMOOTHING)
            test = results.curves(v, d, "val")
            items.set(train, test)
            for band in (train, test):
                if band.mean:
                    ymax = max(ymax, max(m + s for m, s in zip(band.mean, band.std)))
        top = 100.0
        if ymax > 0 and self.panels:
            first = next(iter(self.panels.values()))
            top = min(100.0, ymax * 1.08 + 1)
            first.setYRange(0, top, padding=0)
        self._place_legends(top)

    def _place_legends(self, top: float) -> None:
        """Each legend goes to the corner (top right or bottom left) its curves leave emptier."""
        xmax = max(1, self.total_steps)
        for v, legend in self.legends.items():
            crowd = {"top_right": 0, "bottom_left": 0}
            for (variant, _d), items in self.curves.items():
                if variant != v:
                    continue
                for item in (items.train, items.test):
                    x, y = item.getData()
                    if x is None or not len(x):
                        continue
                    x, y = np.asarray(x) / xmax, np.asarray(y) / top
                    crowd["top_right"] += int(np.sum((x > 0.6) & (y > 0.6)))
                    crowd["bottom_left"] += int(np.sum((x < 0.4) & (y < 0.45)))
            if crowd["bottom_left"] <= crowd["top_right"]:
                legend.anchor((0, 1), (0, 1), offset=(8, -8))
            else:
                legend.anchor((1, 0), (1, 0), offset=(-8, 8))

    def curve_data(self) -> dict[tuple[str, int], dict[str, list[float]]]:
        """What is drawn (tests, exports): x and y of every curve."""
        out = {}
        for key, items in self.curves.items():
            tx, ty = items.train.getData()
            vx, vy = items.test.getData()
            lx, ly = items.train_lo.getData() if items.train_band.isVisible() else (None, None)
            out[key] = {name: [] if arr is None else [float(v) for v in arr]
                        for name, arr in (("train_x", tx), ("train_y", ty), ("test_x", vx),
                                          ("test_y", vy), ("band_lo", ly))}
        return out

    def export(self, path: str | Path, width: int = 1600) -> Path:
        """The figure as PNG or SVG (by the path's suffix), written atomically."""
        return export_figure(self.view.ci, path, width=width,
                             title="ResNet Studio - Depth Lab")
