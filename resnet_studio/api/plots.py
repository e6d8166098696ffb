"""The notebook figures: matplotlib, imported here only when `.plot()` is called, from the
optional extra `notebook` (`pip install 'resnet-studio[notebook]'`; MissingExtra, an
ImportError, says so when it is missing).

Figures are `matplotlib.figure.Figure` objects made without pyplot: a notebook shows the one
returned once (no second copy from pyplot's inline backend), and a script saves it with
`fig.savefig("x.png")` on any machine, display or not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from resnet_studio.app.extras import require

if TYPE_CHECKING:
    from resnet_studio.api.results import Attribution, Gradients, Lesion, Run, Summary, Sweep


def new_figure(rows: int = 1, cols: int = 1, *, width: float = 8.0, height: float = 3.5):
    """A Figure and its grid of axes (always a 2-D array)."""
    require("matplotlib", "notebook")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height * rows), layout="constrained")
    axes = np.atleast_2d(fig.subplots(rows, cols, squeeze=False))
    return fig, axes


def summary_figure(s: Summary):
    groups: dict[str, list[int]] = {}  # stem, each block, head: params and MACs
    for row in s.report.layers:
        name = row.block or ("stem" if not groups or list(groups) == ["stem"] else "head")
        totals = groups.setdefault(name, [0, 0])
        totals[0] += row.params
        totals[1] += row.macs
    names = list(groups)
    fig, axes = new_figure(2, 1, width=max(6.0, 0.25 * len(names)), height=2.6)
    for ax, i, what in ((axes[0, 0], 0, "parameters"), (axes[1, 0], 1, "multiply-adds")):
        ax.bar(range(len(names)), [groups[n][i] for n in names], color="#4c72b0")
        ax.set_ylabel(what)
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    axes[0, 0].set_title(f"{s.model}: {s.params:,} parameters, {s.macs / 1e6:,.1f} M "
                         "multiply-adds")
    return fig


def run_figure(r: Run):
    h = r.history
    fig, axes = new_figure(1, 3, width=12, height=3.2)
    loss, err, lr = axes[0]
    loss.plot(h.steps, h.loss, label="train")
    if h.val_steps:
        loss.plot(h.val_steps, h.val_loss, "o-", label="validation")
    loss.set_title("loss")
    err.plot(h.steps, [100 * e for e in h.error], label="train")
    if h.val_steps:
        err.plot(h.val_steps, [100 * e for e in h.val_error], "o-", label="validation")
    err.set_title("error (%)")
    lr.plot(h.steps, h.lr)
    lr.set_title("learning rate")
    for ax in (loss, err, lr):
        ax.set_xlabel("step")
    loss.legend()
    fig.suptitle(f"run {r.id}: {r.status}")
    return fig


def sweep_figure(s: Sweep):
    fig, axes = new_figure(1, 1, width=8, height=4.5)
    ax = axes[0, 0]
    colors = {}
    for row in s.report.runs:
        series = s.report.series.get(row.index)
        if series is None:
            continue
        color = colors.setdefault(row.model, f"C{len(colors) % 10}")
        label = row.model if row.seed == min(r.seed for r in s.report.runs
                                             if r.model == row.model) else None
        ax.plot(series.steps, [100 * e for e in series.error], "--", color=color,
                linewidth=1)
        ax.plot(series.val_steps, [100 * e for e in series.val_error], "-", color=color,
                linewidth=2.2, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("error (%)")
    ax.set_title("training error (dashed), test error (bold)")
    if colors:
        ax.legend()
    return fig


def gradients_figure(g: Gradients):
    fig, axes = new_figure(1, 2, width=11, height=3.6)
    norms, stds = axes[0]
    for blocks, label, style in ((g.blocks, g.model, "o-"),
                                 (g.plain_blocks, "plain twin", "s--")):
        if not blocks:
            continue
        depth = [b["depth"] for b in blocks]
        norms.plot(depth, [b["input_grad_norm"] for b in blocks], style, label=label)
        stds.plot(depth, [b["response_std"] for b in blocks], style, label=label)
    norms.set_yscale("log")
    norms.set_title("|dL/dx| at each block's input")
    stds.set_title("std of each residual branch's response")
    for ax in (norms, stds):
        ax.set_xlabel("depth (layer)")
    norms.legend()
    return fig


def lesion_figure(lesion: Lesion):
    reports = lesion.reports
    fig, axes = new_figure(len(reports), 1, width=8, height=3.0)
    for ax, r in zip(axes[:, 0], reports):
        ids = [b["id"] for b in r["blocks"]]
        ax.bar(range(len(ids)), [100 * b["accuracy"] for b in r["blocks"]], color="#dd8452")
        ax.axhline(100 * r["intact_accuracy"], color="k", linestyle="--", label="intact")
        if r["chance"] is not None:
            ax.axhline(100 * r["chance"], color="grey", linestyle=":", label="chance")
        ax.set_xticks(range(len(ids)), ids, rotation=90, fontsize=7)
        ax.set_ylabel("accuracy (%)")
        ax.set_title(f"{r['model']}: each block deleted in turn")
        ax.legend(fontsize=7)
    return fig


def attribution_figure(a: Attribution):
    fig, axes = new_figure(1, 1 + len(a.maps), width=3.0 * (1 + len(a.maps)), height=3.2)
    axes[0, 0].imshow(a.image)
    axes[0, 0].set_title("image")
    for ax, m in zip(axes[0, 1:], a.maps):
        heat = np.abs(np.asarray(m["attribution"])).sum(axis=0)
        ax.imshow(a.image)
        ax.imshow(heat, cmap="viridis", alpha=0.6,
                  extent=(-0.5, a.image.shape[1] - 0.5, a.image.shape[0] - 0.5, -0.5))
        ax.set_title(f"{m['method']} ({m['row']})\nclass {m['target']}: {m['target_label']}",
                     fontsize=8)
    for ax in axes[0]:
        ax.axis("off")
    return fig


__all__ = ["attribution_figure", "gradients_figure", "lesion_figure", "new_figure",
           "run_figure", "summary_figure", "sweep_figure"]
