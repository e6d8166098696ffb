"""The loss-landscape figure without a window: matplotlib (the optional extra `notebook`), drawn
on an Agg/SVG canvas without pyplot, so `resnet-studio landscape --out` works on a server.

Top row: each run's 2-D slice as filled log-loss contours with contour lines at log-spaced
levels (as Li et al. 2018 draw them), all on one colour scale; the trained weights are the
marked centre. Bottom row: the 1-D slices of all runs on one log axis, and, when computed, the
line from the initial weights to the trained ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from resnet_studio.app.extras import require
from resnet_studio.app.landscape import LandscapeResult
from resnet_studio.core.common.files import write_bytes_atomic

LEVELS_PER_DECADE = 6
COLOURS = ("#1565c0", "#e65100")  # the first run, the second (the window's net and twin)


def contour_levels(surfaces: list[np.ndarray]) -> np.ndarray:
    """Log-spaced loss levels spanning every surface: one colour scale for all of them."""
    values = np.concatenate([s[np.isfinite(s)].ravel() for s in surfaces])
    lo, hi = max(float(values.min()), 1e-6), max(float(values.max()), 1e-6)
    if hi <= lo * 1.0001:
        hi = lo * 1.01
    decades = np.log10(hi) - np.log10(lo)
    return np.geomspace(lo, hi, max(8, int(np.ceil(decades * LEVELS_PER_DECADE)) + 1))


def landscape_figure(result: LandscapeResult):
    """A matplotlib Figure of the result (see the module doc)."""
    require("matplotlib", "notebook")
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure

    maps = result.landscapes
    has_line = any(len(ls.line) for ls in maps)
    cols = max(len(maps), 2 if has_line else 1)
    fig = Figure(figsize=(5.2 * cols, 8.4), layout="constrained")
    grid = fig.add_gridspec(2, cols, height_ratios=(3, 2))
    levels = contour_levels([ls.surface for ls in maps])
    norm = LogNorm(levels[0], levels[-1])
    filled = None
    for i, ls in enumerate(maps):
        ax = fig.add_subplot(grid[0, i])
        a, b = np.meshgrid(ls.coords, ls.coords)
        filled = ax.contourf(a, b, np.ma.masked_invalid(ls.surface), levels=levels, norm=norm,
                             cmap="viridis")
        ax.contour(a, b, np.ma.masked_invalid(ls.surface), levels=levels, colors="white",
                   linewidths=0.6, alpha=0.8)
        ax.plot([0], [0], marker="+", color="red", markersize=12, mew=2)
        ax.set_title(f"{ls.label}\nloss at the trained weights {ls.origin_loss:.3g}",
                     fontsize=10)
        ax.set_xlabel("first direction δ")
        ax.set_ylabel("second direction η")
        ax.set_aspect("equal")
        ax.locator_params(nbins=5)
    if filled is not None:
        bar = fig.colorbar(filled, ax=fig.axes[:len(maps)], shrink=0.9)
        bar.set_label("training loss (log scale)")
        decades = 10.0 ** np.arange(np.floor(np.log10(levels[0])), np.ceil(np.log10(levels[-1])) + 1)
        bar.set_ticks([v for v in decades if levels[0] <= v <= levels[-1]])
        bar.set_ticklabels([f"{v:g}" for v in decades if levels[0] <= v <= levels[-1]])
        bar.minorticks_off()
    _loss_lines(fig.add_subplot(grid[1, 0] if has_line else grid[1, :]),
                [(ls.coords, ls.slice_1d, ls.label, COLOURS[i % 2]) for i, ls in enumerate(maps)],
                "step along δ (filter-normalised)", "1-D slice through the trained weights")
    if has_line:
        _loss_lines(fig.add_subplot(grid[1, 1:]),
                    [(ls.line_coords, ls.line, ls.label, COLOURS[i % 2])
                     for i, ls in enumerate(maps) if len(ls.line)],
                    "t: 0 the initial weights, 1 the trained ones",
                    "From initialisation to the trained weights")
    fig.suptitle(f"Loss landscape (Li et al. 2018): span ±{result.settings.span:g}, "
                 f"{result.settings.grid}×{result.settings.grid} points, "
                 f"{result.settings.batches} training batches, eval-mode BatchNorm",
                 fontsize=11)
    return fig


def save_landscape_figure(result: LandscapeResult, path: str | Path) -> Path:
    """PNG or SVG by suffix (PNG for any other), written atomically."""
    import io

    path = Path(path)
    fmt = "svg" if path.suffix.lower() == ".svg" else "png"
    buf = io.BytesIO()
    landscape_figure(result).savefig(buf, format=fmt, dpi=110)
    write_bytes_atomic(path, buf.getvalue())
    return path


def _loss_lines(ax, lines, xlabel: str, title: str) -> None:
    """Training loss (log scale) along each (x, loss, label, colour): one colour per net."""
    for x, loss, label, colour in lines:
        ax.plot(x, loss, color=colour, label=label)
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("training loss")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
