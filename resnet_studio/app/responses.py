"""He et al. 2015 Fig. 7 on trained nets, for a stored run, a finished Depth Lab experiment or
the shipped trained nets: every layer's response std (core.analysis.responses) on the first
validation images of the data the net was trained on, plain and residual nets of each depth on
one plot (original order and ranked), as a table, JSON, CSV or a matplotlib figure.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import torch
from torch import nn

from resnet_studio.core.analysis.responses import ResponseProfile, measure_responses
from resnet_studio.core.common import files
from resnet_studio.core.common.progress import Progress
from resnet_studio.core.data import ImageData, TensorBatches, load_dataset
from resnet_studio.core.training.config import TrainConfig

BATCH = 256  # validation images each profile is measured on


def validation_batch(data: ImageData, count: int = BATCH) -> torch.Tensor:
    """The first `count` validation images, normalised as training normalised them."""
    batches = TensorBatches(data, batch_size=min(count, len(data.train_y)), augment=False)
    return batches.normalize(data.val_x[:count])


def _checkpoint_model(checkpoint: str | Path | None, what: str) -> nn.Module:
    from resnet_studio.core.weights.checkpoint import load_checkpoint_source

    if not checkpoint:
        raise ValueError(f"{what} has no checkpoint to measure (it never saved one)")
    return load_checkpoint_source(checkpoint).model


def run_responses(ref: str, *, runs_path: str | Path | None = None, count: int = BATCH,
                  download: bool = False, progress: Progress | None = None) -> ResponseProfile:
    """Fig. 7 of one stored run (its last checkpoint) on its own dataset's validation images."""
    from resnet_studio.app.runs import RunHistory

    progress = Progress.of(progress)
    with RunHistory(runs_path) as history:
        rec = history.get(ref)
    progress(0, 2, f"loading {rec.name}")
    model = _checkpoint_model(rec.checkpoint, f"run {rec.id}")
    data = load_dataset(TrainConfig.from_dict(rec.config).dataset, download=download)
    progress(1, 2, "measuring")
    profile = measure_responses(model, validation_batch(data, count), label=rec.name)
    progress(2, 2, "measured")
    return profile


def experiment_responses(ref: str, *, store=None, count: int = BATCH, download: bool = False,
                         progress: Progress | None = None) -> list[ResponseProfile]:
    """Fig. 7 of a Depth Lab experiment: one profile per (depth, variant), from its first
    finished seed, plain before residual, shallow before deep. `store`: an open
    ExperimentStore, or the path of one (None: the user's)."""
    from resnet_studio.core.experiments import ExperimentStore
    from resnet_studio.core.experiments.plan import VARIANTS, model_label

    progress = Progress.of(progress)
    own = not isinstance(store, ExperimentStore)
    store = ExperimentStore(store) if own else store
    try:
        exp = store.get(ref)
        firsts = {}
        for c in sorted(exp.cells, key=lambda c: c.seed):
            if c.status == "finished" and c.run_id and (c.depth, c.variant) not in firsts:
                firsts[(c.depth, c.variant)] = c
        if not firsts:
            raise ValueError(f"experiment {exp.id} has no finished run to measure yet")
        cells = sorted(firsts.values(), key=lambda c: (VARIANTS.index(c.variant), c.depth))
        data = load_dataset(exp.config.dataset, download=download)
        images = validation_batch(data, count)
        out = []
        for i, c in enumerate(cells):
            label = model_label(c.depth, c.variant)
            progress(i, len(cells), f"measuring {label}")
            model = _checkpoint_model(store.runs.get(c.run_id).checkpoint, label)
            out.append(measure_responses(model, images, label=label))
        progress(len(cells), len(cells), "measured")
        return out
    finally:
        if own:
            store.close()


def shipped_responses(count: int = BATCH) -> list[ResponseProfile]:
    """Fig. 7 of the shipped trained nets (app.trained_nets) on their validation images."""
    from resnet_studio.app import trained_nets

    images = validation_batch(trained_nets.shipped_data(), count)
    return [measure_responses(trained_nets.shipped_net(name), images,
                              label=trained_nets.shipped_info(name).label)
            for name in ("plain20", "plain56", "resnet20", "resnet56")]


# -- what is shown and written -------------------------------------------------------------------

def responses_text(profiles: list[ResponseProfile]) -> str:
    lines = [f"{'net':<12}{'layers':>7}{'mean std':>10}{'branch ends':>13}{'max':>8}{'min':>8}"]
    for p in profiles:
        lines.append(f"{p.label:<12}{len(p.stds):>7}{p.mean:>10.3f}{p.branch_mean:>13.3f}"
                     f"{max(p.stds):>8.3f}{min(p.stds):>8.3f}")
    lines.append("(mean std over every layer, and over the blocks' last layers: the residual "
                 "functions' outputs before the addition)")
    return "\n".join(lines)


def responses_json(profiles: list[ResponseProfile]) -> str:
    return json.dumps({"figure": "He et al. 2015 Fig. 7: response std per layer (after BN, "
                                 "before the addition; BN in eval mode)",
                       "nets": [p.to_dict() for p in profiles]})


def responses_csv(profiles: list[ResponseProfile]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["net", "layer_index", "layer", "std", "rank", "ranked_std"])
    for p in profiles:
        for i, (name, std, ranked) in enumerate(zip(p.layers, p.stds, p.ranked), 1):
            w.writerow([p.label, i, name, f"{std:.6g}", i, f"{ranked:.6g}"])
    return buf.getvalue()


def responses_figure(profiles: list[ResponseProfile]):
    """The paper's two panels as a matplotlib Figure: layer index (top), ranked (bottom);
    dashed plain, solid residual, one colour per depth."""
    from resnet_studio.app.extras import require

    require("matplotlib", "notebook")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 6), layout="constrained")
    top, bottom = fig.subplots(2, 1)
    depths = sorted({p.depth for p in profiles})
    colours = dict(zip(depths, ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00")))
    for p in profiles:
        style = dict(color=colours.get(p.depth, "k"), linestyle="--" if p.plain else "-",
                     label=p.label, linewidth=1.4)
        top.plot(range(1, len(p.stds) + 1), p.stds, **style)
        bottom.plot(range(1, len(p.stds) + 1), p.ranked, **style)
    top.set(xlabel="layer index (original)", ylabel="std", title="Response std per layer")
    bottom.set(xlabel="layer index (sorted by magnitude)", ylabel="std")
    top.legend(fontsize="small")
    return fig


def write_responses(profiles: list[ResponseProfile], path: str | Path) -> str:
    """`.csv` the per-layer table, `.json` the JSON, anything else the figure (PNG, SVG, PDF
    by suffix). Returns the path written."""
    path = str(path)
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        files.write_text_atomic(path, responses_csv(profiles))
    elif suffix == ".json":
        files.write_text_atomic(path, responses_json(profiles) + "\n")
    else:
        fig = responses_figure(profiles)
        buf = io.BytesIO()
        fig.savefig(buf, format=suffix.lstrip(".") or "png", dpi=120)
        files.write_bytes_atomic(path, buf.getvalue())
    return path


__all__ = ["experiment_responses", "responses_csv", "responses_figure", "responses_json",
           "responses_text", "run_responses", "shipped_responses", "validation_batch",
           "write_responses"]
