"""The Gradients tab's figures (pyqtgraph), fed with numpy arrays and core dataclasses only.

* `DepthPlots` -- at initialisation: the conv weight-gradient norms, ‖∂L/∂x‖ at each block
  input and the response std (He et al. 2015, Fig. 7) over depth, log-scale, residual vs plain,
  with the plain ÷ residual ratio strip under each.
* `GradientHeatmaps` -- during training: a block × step heatmap (log10 of the norms) per run,
  two runs side by side on one colour scale, and lines for chosen blocks.
* `LesionBars` -- the accuracy drop per deleted block, residual vs plain, as bars.

No torch here: the tab hands over `GradientReport` / `GradientHistory` / `LesionReport`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

if TYPE_CHECKING:
    from resnet_studio.core.analysis.gradients import GradientReport
    from resnet_studio.core.analysis.lesion import LesionReport
    from resnet_studio.core.training.gradlog import GradientHistory

RESIDUAL = "#1565c0"  # blue: the residual network
PLAIN = "#e65100"  # orange: its plain twin
RATIO = "#6a1b9a"
GRID_ALPHA = 0.25
LINE_COLOURS = ["#1565c0", "#2e7d32", "#c62828", "#6a1b9a", "#00838f", "#ef6c00", "#5d4037",
                "#ad1457", "#283593", "#9e9d24"]
HEAT_MAP = "viridis"


def positive(values) -> np.ndarray:
    """For a log axis: non-positive and non-finite values become NaN (gaps, not crashes)."""
    v = np.asarray(values, dtype=np.float64).copy()
    v[~np.isfinite(v) | (v <= 0)] = np.nan
    return v


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def log_label(value: float) -> str:
    """A tick label for a log axis: 0.01, 0.5, 3, 300, 3,000, 10⁻⁵, 10⁶, 2·10⁶."""
    if not math.isfinite(value) or value <= 0:
        return ""
    exp = math.floor(math.log10(value) + 1e-9)
    mant = value / 10 ** exp
    if 1e-3 <= value < 1e4:
        return f"{value:,.{max(0, -exp)}f}"
    m = round(mant)
    return (f"10{str(exp).translate(_SUPERSCRIPT)}" if m == 1
            else f"{m}·10{str(exp).translate(_SUPERSCRIPT)}")


class LogAxis(pg.AxisItem):
    """Log-mode ticks that stay readable: labelled decades (or 1-2-5 steps on a short range),
    unlabelled minor ticks; plain numbers between 0.001 and 10,000, powers of ten beyond."""

    def __init__(self, orientation: str = "left", **kwargs):
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)
        self.setStyle(maxTextLevel=0)

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802 (pyqtgraph)
        lo, hi = sorted((minVal, maxVal))
        first, last = math.floor(lo), math.ceil(hi)
        inside = lambda vals: [v for v in vals if lo <= v <= hi]
        room = max(2, int(size // 24))  # at most one label per ~24 px
        decades = inside([float(e) for e in range(first, last + 1)])
        minor = inside([e + math.log10(k) for e in range(first, last + 1) for k in range(2, 10)])
        if len(decades) >= 2:
            step = max(1, math.ceil(len(decades) / room))
            major = [d for d in decades if int(d) % step == 0]
            return [(float(step), major), (None, minor if hi - lo <= 6 else [])]
        for picks in ((1, 2, 5), (1, 1.5, 2, 3, 5, 7), (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9)):
            major = inside([e + math.log10(k) for e in range(first, last + 1) for k in picks])
            if len(major) >= 2:
                break
        if len(major) > room:
            major = major[:: math.ceil(len(major) / room)]
        return [(None, major), (None, minor)]

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph)
        return [log_label(10 ** v) for v in values]


def fit_log_range(plot: pg.PlotItem, *arrays, min_decades: float = 0.6,
                  pad: float = 0.06) -> None:
    """Y range of a log plot around the finite positive values, at least `min_decades` tall
    (a flat curve at 1 stays a flat line at 1 instead of a magnified wiggle)."""
    vals = np.concatenate([positive(a).ravel() for a in arrays]) if arrays else np.zeros(0)
    vals = vals[np.isfinite(vals)]
    if not vals.size:
        plot.enableAutoRange()
        return
    lo, hi = np.log10(vals.min()), np.log10(vals.max())
    if hi - lo < min_decades:
        mid = (hi + lo) / 2
        lo, hi = mid - min_decades / 2, mid + min_decades / 2
    margin = pad * (hi - lo)  # (a gridded axis drops a label that sticks out of the plot)
    plot.enableAutoRange(x=True, y=False)
    plot.setYRange(lo - margin, hi + margin, padding=0)


def _layout_widget() -> pg.GraphicsLayoutWidget:
    pg.setConfigOptions(antialias=True)
    view = pg.GraphicsLayoutWidget()
    view.setBackground("w")
    view.ci.setSpacing(6)
    return view


AXIS_TEXT = "#37474f"


def _log_plot(view: pg.GraphicsLayoutWidget, **kwargs) -> pg.PlotItem:
    plot = view.addPlot(axisItems={"left": LogAxis("left")}, **kwargs)
    plot.setLogMode(y=True)
    return plot


def _style(plot: pg.PlotItem, left: str, bottom: str | None = None) -> None:
    plot.showGrid(x=True, y=True, alpha=GRID_ALPHA)
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setPen("#90a4ae")  # (this resets the label colour: labels after it)
        axis.setTextPen(AXIS_TEXT)
    plot.setLabel("left", left, color=AXIS_TEXT)
    if bottom:
        plot.setLabel("bottom", bottom, color=AXIS_TEXT)


def _title(plot: pg.PlotItem, text: str) -> None:
    plot.setTitle(f"<span style='color:#263238;font-size:11pt;font-weight:600'>{text}</span>")


# -- at initialisation ---------------------------------------------------------------------------

class DepthPlots(QWidget):
    """Three quantities over depth (log y), residual vs plain, and plain ÷ residual under each."""

    PANELS = (
        ("weight", "Weight-gradient norm per conv", "|∂L/∂W|  (log scale)", "depth (conv index)"),
        ("input", "Gradient at each block input", "|∂L/∂x|  (log scale)", "depth (block's first conv)"),
        ("response", "Response std per block (He et al. Fig. 7)", "std of branch output (log scale)",
         "depth (block's first conv)"),
    )

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = _layout_widget()
        # the legend is a coloured line above the plots: it never covers a curve
        self.caption = self.view.addLabel("", row=0, col=0, colspan=3, size="10pt",
                                          color="#455a64")
        self.plots: dict[str, pg.PlotItem] = {}
        self.ratio_plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self.ratio_curves: dict[str, pg.PlotDataItem] = {}
        for col, (key, title, left, bottom) in enumerate(self.PANELS):
            plot = _log_plot(self.view, row=1, col=col)
            _title(plot, title)
            _style(plot, left)
            ratio = _log_plot(self.view, row=2, col=col)
            _style(ratio, "plain ÷ residual", bottom)
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


# -- during training -------------------------------------------------------------------------

def heat_matrix(history: GradientHistory) -> np.ndarray:
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
        self.view = _layout_widget()
        self.caption = self.view.addLabel("", row=0, col=0, colspan=3, size="9pt",
                                          color="#455a64")
        self.heat_plots: list[pg.PlotItem] = []
        self.images: list[pg.ImageItem] = []
        for col in range(2):
            plot = self.view.addPlot(row=1, col=col)
            _style(plot, "block (input at top)" if col == 0 else "", "step")
            plot.getAxis("left").setStyle(hideOverlappingLabels=False,
                                          textFillLimits=[(0, 0.9), (8, 0.9), (30, 0.7)])
            plot.invertY(True)
            plot.showGrid(x=False, y=False)
            image = pg.ImageItem(axisOrder="row-major")
            plot.addItem(image)
            self.heat_plots.append(plot)
            self.images.append(image)
        self.colorbar = pg.ColorBarItem(values=(-3, 0), colorMap=pg.colormap.get(HEAT_MAP),
                                        label="log10 of the block's gradient norm",
                                        interactive=False, width=16)
        self.colorbar.setImageItem(self.images)
        self.colorbar.axis.setTextPen(AXIS_TEXT)
        self.colorbar.axis.setLabel("log10 of the block's gradient norm", color=AXIS_TEXT)
        self.view.addItem(self.colorbar, row=1, col=2)
        # the lines' legend is a row of its own between the heatmaps and the lines
        self.line_legend = pg.LegendItem(labelTextSize="9pt", labelTextColor=AXIS_TEXT,
                                         colCount=8)
        self.view.addItem(self.line_legend, row=2, col=0, colspan=2)
        self.lines = _log_plot(self.view, row=3, col=0, colspan=2)
        _style(self.lines, "gradient norm of the block", "step")
        self.lines.setDownsampling(mode="peak")
        self.lines.setClipToView(True)
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
            _title(plot, label or ("no run chosen" if i == 0 else ""))
        vals = np.concatenate(finite) if finite else np.zeros(0)
        if vals.size:
            lo, hi = float(np.min(vals)), float(np.max(vals))
            if hi - lo < 1e-6:
                lo, hi = lo - 0.5, hi + 0.5
            self.colorbar.setLevels((lo, hi))
        self._draw_lines(selected)

    def _draw_lines(self, selected: list[str]) -> None:
        for item in self.line_items:
            self.lines.removeItem(item)
        self.line_items = []
        self.line_legend.clear()
        styles = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine)
        values = []
        named: set[str] = set()
        for k, name in enumerate(selected):
            colour = LINE_COLOURS[k % len(LINE_COLOURS)]
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
            f"<span style='color:{AXIS_TEXT};font-size:9pt'>solid: {runs[0]} · dashed: "
            f"{runs[1]}</span>" if len(runs) == 2 else None)
        fit_log_range(self.lines, *values)


# -- lesion study ----------------------------------------------------------------------------

class LesionBars(QWidget):
    """Accuracy drop (percentage points) per deleted block, residual vs plain."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = _layout_widget()
        # the legend (with the mean drops) is the coloured line above the plot
        self.caption = self.view.addLabel("", row=0, col=0, size="10pt", color="#455a64")
        self.plot = self.view.addPlot(row=1, col=0)
        _title(self.plot, "Accuracy drop when one block is deleted at test time")
        _style(self.plot, "accuracy drop (percentage points)", "deleted block")
        self.plot.showGrid(x=False, y=True, alpha=GRID_ALPHA)
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


__all__ = ["PLAIN", "RESIDUAL", "DepthPlots", "GradientHeatmaps", "LesionBars", "heat_matrix",
           "positive"]
