"""At initialisation: three quantities over depth (log y), residual vs plain, and the plain ÷
residual ratio under each -- the conv weight-gradient norms, ‖∂L/∂x‖ at each block input and
the response std per block (He et al. 2015, Fig. 7)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from resnet_studio.qt.kit.palette import PLAIN, RATIO, RESIDUAL
from resnet_studio.qt.kit.plotting import layout_widget, style_plot
from resnet_studio.qt.tabs.gradients.axes import fit_log_range, log_plot, positive, set_title

if TYPE_CHECKING:
    from resnet_studio.core.analysis.gradients import GradientReport


class DepthPlots(QWidget):
    """Three panels over depth (log y), residual vs plain, and plain ÷ residual under each."""

    PANELS = (
        ("weight", "Weight-gradient norm per conv", "|∂L/∂W|  (log scale)", "depth (conv index)"),
        ("input", "Gradient at each block input", "|∂L/∂x|  (log scale)", "depth (block's first conv)"),
        ("response", "Block response std (Fig. 7)", "std of branch output (log scale)",
         "depth (block's first conv)"),
    )

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = layout_widget()
        # the legend is a coloured line above the plots: it never covers a curve
        self.caption = self.view.addLabel("", row=0, col=0, colspan=3, size="10pt",
                                          color="#455a64")
        self.plots: dict[str, pg.PlotItem] = {}
        self.ratio_plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self.ratio_curves: dict[str, pg.PlotDataItem] = {}
        for col, (key, title, left, bottom) in enumerate(self.PANELS):
            plot = style_plot(log_plot(self.view, row=1, col=col), left)
            set_title(plot, title)
            ratio = style_plot(log_plot(self.view, row=2, col=col), "plain ÷ residual", bottom)
            ratio.setXLink(plot)
            ratio.setMaximumHeight(170)
            ratio.addItem(pg.InfiniteLine(pos=0, angle=0, movable=False,  # log10(1) = 0
                                          pen=pg.mkPen("#78909c", width=1,
                                                       style=Qt.PenStyle.DashLine)),
                          ignoreBounds=True)
            self.plots[key], self.ratio_plots[key] = plot, ratio
            for which, colour, symbol, z in (("residual", RESIDUAL, "o", 2),
                                             ("plain", PLAIN, "t", 1)):
                curve = plot.plot(pen=pg.mkPen(colour, width=2.2), symbol=symbol, symbolSize=6,
                                  symbolBrush=colour, symbolPen=None, connect="finite")
                curve.setZValue(z)  # the residual net on top of its (often far larger) twin
                self.curves[(key, which)] = curve
            self.ratio_curves[key] = ratio.plot(pen=pg.mkPen(RATIO, width=2), symbol="s",
                                                symbolSize=4, symbolBrush=RATIO, symbolPen=None,
                                                connect="finite")
        self.view.ci.layout.setRowStretchFactor(1, 3)
        self.view.ci.layout.setRowStretchFactor(2, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.report: GradientReport | None = None

    def clear(self) -> None:
        self.report = None
        for item in (*self.curves.values(), *self.ratio_curves.values()):
            item.setData([], [])
        self.caption.setText("")

    @staticmethod
    def legend_html(residual: str, plain: str | None, note: str = "") -> str:
        parts = [f"<span style='color:{RESIDUAL};font-weight:700'>●━ {residual}</span>"]
        if plain:
            parts.append(f"<span style='color:{PLAIN};font-weight:700'>▼━ {plain}</span>")
            parts.append(f"<span style='color:{RATIO};font-weight:700'>■━ plain ÷ residual"
                         "</span>")
        text = "&nbsp;&nbsp;&nbsp;&nbsp;".join(parts)
        note = note.replace(" · ", "<br>", 1)  # two lines: the label never wraps (1280 px)
        return text + (f"<br><span style='color:#607d8b;font-size:9pt'>{note}</span>"
                       if note else "")

    def show_report(self, report: GradientReport, caption: str = "") -> None:
        self.report = report
        net, plain = report.net, report.plain
        self.caption.setText(self.legend_html(net.label, plain.label if plain else None,
                                              caption))
        series = {
            "weight": lambda n: (n.conv_depths, n.conv_grad_norms),
            "input": lambda n: (n.block_depths, n.input_grad_norms),
            "response": lambda n: (n.block_depths, n.response_stds),
        }
        ratios: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if plain is not None:
            ratios["weight"] = (np.array([p.depth for p in report.ratio_strip], float),
                                report.ratio_array)
            ratios["input"] = (np.array([p.depth for p in report.block_ratio_strip], float),
                               np.array([p.ratio for p in report.block_ratio_strip], float))
            with np.errstate(divide="ignore", invalid="ignore"):
                ratios["response"] = (net.block_depths.astype(float),
                                      plain.response_stds / net.response_stds)
        for key, get in series.items():
            x, y = get(net)
            self.curves[(key, "residual")].setData(x.astype(float), positive(y))
            shown = [y]
            if plain is not None:
                px, py = get(plain)
                self.curves[(key, "plain")].setData(px.astype(float), positive(py))
                shown.append(py)
            else:
                self.curves[(key, "plain")].setData([], [])
            rx, ry = ratios.get(key, (np.zeros(0), np.zeros(0)))
            self.ratio_curves[key].setData(rx, positive(ry))
            fit_log_range(self.plots[key], *shown)
            fit_log_range(self.ratio_plots[key], ry, np.ones(1),  # always show the line at 1
                          min_decades=1.0, pad=0.16)
            self.ratio_plots[key].setVisible(plain is not None)

    def point_counts(self) -> dict[tuple[str, str], int]:
        """How many points each curve shows (for tests and the status line)."""
        out = {}
        for k, c in self.curves.items():
            x, _ = c.getData()
            out[k] = 0 if x is None else len(x)
        return out
