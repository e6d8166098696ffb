"""Lesion study: the accuracy drop per deleted block (Veit et al. 2016), residual vs plain, as
bars; the legend line above carries each model's mean drop."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from resnet_studio.qt.kit.palette import PLAIN, RESIDUAL
from resnet_studio.qt.kit.plotting import layout_widget, style_plot

if TYPE_CHECKING:
    from resnet_studio.core.analysis.lesion import LesionReport


class LesionBars(QWidget):
    """Accuracy drop (percentage points) per deleted block, residual vs plain."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = layout_widget()
        # the legend (with the mean drops) is the coloured line above the plot
        self.caption = self.view.addLabel("", row=0, col=0, size="10pt", color="#455a64")
        self.plot = style_plot(self.view.addPlot(row=1, col=0),
                               "accuracy drop (percentage points)", "deleted block",
                               title="Accuracy drop when one block is deleted at test time")
        self.plot.grid.x = False  # bars along x: horizontal lines only
        self.plot.addItem(pg.InfiniteLine(pos=0, angle=0, movable=False,
                                          pen=pg.mkPen("#78909c", width=1)), ignoreBounds=True)
        self.bars: list[pg.BarGraphItem] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.reports: list[LesionReport] = []

    def clear(self) -> None:
        for b in self.bars:
            self.plot.removeItem(b)
        self.bars = []
        self.reports = []
        self.caption.setText("")
        self.plot.getAxis("bottom").setTicks(None)

    def show_reports(self, reports: list[LesionReport], caption: str = "") -> None:
        self.clear()
        self.reports = list(reports)
        legend = []
        ids: list[str] = []
        for r in reports:
            for b in r.blocks:
                if b.id not in ids:
                    ids.append(b.id)
        pos = {bid: i for i, bid in enumerate(ids)}
        n = max(1, len(reports))
        width = 0.8 / n
        for k, r in enumerate(reports):
            colour = PLAIN if r.plain else RESIDUAL
            x = np.array([pos[b.id] for b in r.blocks], float) - 0.4 + width * (k + 0.5)
            bars = pg.BarGraphItem(x=x, height=100 * r.drops, width=width * 0.92,
                                   brush=pg.mkBrush(colour), pen=pg.mkPen(colour))
            self.plot.addItem(bars)
            self.bars.append(bars)
            mean = "–" if not math.isfinite(r.mean_drop) else f"{100 * r.mean_drop:.1f}"
            legend.append(f"<span style='color:{colour};font-weight:700'>■ {r.model}: mean drop "
                          f"{mean} points (intact {100 * r.intact_accuracy:.0f}%)</span>")
        self.caption.setText("&nbsp;&nbsp;&nbsp;&nbsp;".join(legend) + (
            f"<br><span style='color:#607d8b;font-size:9pt'>{caption}</span>" if caption else ""))
        step = max(1, math.ceil(len(ids) / 14))  # keep the labels readable on deep nets
        self.plot.getAxis("bottom").setTicks([[(i, bid) for i, bid in enumerate(ids)
                                               if i % step == 0],
                                              [(i, "") for i in range(len(ids))]])
        heights = [100 * r.drops for r in reports if len(r.blocks)]
        top = max([float(np.nanmax(h)) for h in heights] + [1.0])
        low = min([float(np.nanmin(h)) for h in heights] + [0.0])
        self.plot.setXRange(-0.6, max(len(ids), 1) - 0.4, padding=0)
        self.plot.setYRange(low - 0.03 * (top - low), top * 1.06, padding=0)

    def legend_text(self) -> str:
        return self.caption.text
