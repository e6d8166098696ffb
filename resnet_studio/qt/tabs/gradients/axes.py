"""Axes the Gradients tab's figures share: a readable log axis, its range, and plot titles.

Norms over depth span many decades (plain-110's first-to-last ratio is about 10⁷), so every
figure of norms is log-scale; `positive` turns what a log axis cannot show into gaps.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from resnet_studio.qt.kit import plotting


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


def log_plot(view: pg.GraphicsLayoutWidget, **kwargs) -> pg.PlotItem:
    """A plot with a log y axis (`LogAxis` ticks), added to `view` at `kwargs` (row, col...)."""
    plot = view.addPlot(axisItems={"left": LogAxis("left")}, **kwargs)
    plot.setLogMode(y=True)
    return plot


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


def set_title(plot: pg.PlotItem, text: str) -> None:
    """A plot's title in the house style (as `style_plot(title=...)` sets it)."""
    plotting.set_title(plot, text)  # the theme's colour
