"""The lesion study (Veit et al. 2016), once for the Gradients tab and `resnet-studio lesion`.

A `LesionRequest` names either a model to train briefly first (a spec, a task, steps, a seed;
with `compare_plain` its plain twin too: the same initial weights and the same batches) or
checkpoints to lesion as they are. `run_lesion` deletes one block at a time at test time and
returns the reports with the lines both front-ends show under them. The tab runs it in a `Job`,
the command with a stderr progress line; the same request gives the same numbers in both.

Importing this module does not import torch (the tab imports it when the window starts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from resnet_studio.core.common.progress import Progress

if TYPE_CHECKING:
    from resnet_studio.core.analysis.lesion import LesionReport
    from resnet_studio.core.spec import ArchSpec


@dataclass(frozen=True)
class LesionTask:
    """A built-in task to train on briefly, and its defaults."""

    steps: int  # enough to get well above chance
    size: int  # image side (raised to the model's smallest input)
    train: int  # training images
    val: int  # held-out images the blocks are deleted on
    text: str  # what the tab's task list says


# `synthetic` (the app's built-in dataset) is hard: a ResNet-20 needs a thousand steps or more
# to get well above chance. `templates` (10 fixed random images in heavy noise) is learnt in
# about a hundred steps. The tab offers them in this order.
TASKS: dict[str, LesionTask] = {
    "templates": LesionTask(steps=100, size=8, train=2048, val=512,
                            text="templates (easy: 10 noisy fixed images, ~100 steps)"),
    "synthetic": LesionTask(steps=1000, size=16, train=4000, val=1000,
                            text="synthetic (the built-in dataset: hard, 1000+ steps)"),
}
BATCH = 64
LR = 0.1  # peak; cosine decay to zero


@dataclass(frozen=True)
class LesionRequest:
    """What to lesion. Without `checkpoints`, `spec` is trained here first on `task`;
    None fields take the task's defaults (`TASKS`)."""

    spec: ArchSpec | None = None
    task: str = "synthetic"
    steps: int | None = None  # SGD steps before the study; 0: the untrained model
    seed: int = 0  # of the weights, the data and the batches
    compare_plain: bool = False  # also the plain twin (a residual spec only)
    batch_size: int = BATCH
    lr: float = LR
    size: int | None = None
    classes: int = 10
    train: int | None = None
    val: int | None = None  # with checkpoints: None evaluates on every held-out image
    checkpoints: tuple[str, ...] = ()  # run folders or checkpoint.json files, lesioned as they are
    checkpoint_model: str | None = None  # with one checkpoint: the model the user says it holds


@dataclass
class LesionResult:
    """The reports (the residual net first, its plain twin second) and what to say about them."""

    reports: list[LesionReport]
    summary: list[str]  # one line per report, and the two means side by side when compared
    advice: str = ""  # what to do when a model is too near chance for the drops to mean much

    @property
    def headline(self) -> str:
        """One line for a status bar: each model's mean drop."""
        return "; ".join(f"{r.model} mean drop {100 * r.mean_drop:.1f} points"
                         for r in self.reports if math.isfinite(r.mean_drop))


def run_lesion(request: LesionRequest, progress: Progress | None = None) -> LesionResult:
    """Train (unless lesioning checkpoints), then delete each shape-keeping block in turn.

    Raises ValueError for a request that cannot run, Cancelled when `progress` was cancelled."""
    from resnet_studio.core.analysis.lesion import near_chance, summarize_lesion

    progress = Progress.of(progress)
    if request.checkpoints:
        reports = _lesion_checkpoints(request, progress)
        advice = "Lesion a checkpoint trained for longer: this one is barely above chance."
    else:
        reports = _train_and_lesion(request, progress)
        advice = ("Train longer (more steps) or use the easy task (templates) to get a model "
                  "well above chance.")
    summary = [summarize_lesion(r) for r in reports]
    if len(reports) == 2 and all(r.blocks for r in reports):
        a, b = reports
        summary.append(f"mean drop per deleted block: {a.model} {100 * a.mean_drop:.1f} points, "
                       f"{b.model} {100 * b.mean_drop:.1f} points")
    return LesionResult(reports=reports, summary=summary,
                        advice=advice if any(near_chance(r) for r in reports) else "")


def _train_and_lesion(request: LesionRequest, progress: Progress) -> list[LesionReport]:
    from resnet_studio.core.analysis.gradients import build_seeded, iter_blocks, plain_twin_of
    from resnet_studio.core.analysis.lesion import (
        lesion_study,
        synthetic_task,
        template_task,
        train_briefly,
    )
    from resnet_studio.core.zoo import with_io

    if request.spec is None:
        raise ValueError("name a model to train, or give checkpoints")
    if request.task not in TASKS:
        raise ValueError(f"unknown task '{request.task}' (choose from {', '.join(TASKS)})")
    task = TASKS[request.task]
    steps = task.steps if request.steps is None else request.steps
    if steps < 0:
        raise ValueError("the steps must be 0 or more")
    spec = with_io(request.spec, in_channels=3, num_classes=request.classes)
    if request.compare_plain and spec.plain:
        raise ValueError(f"{spec.name} is already plain; comparing with the plain twin needs a "
                         "residual model")
    size = request.size or max(task.size, spec.min_input_side)
    if size < spec.min_input_side:
        raise ValueError(f"an image side of {size} is too small for {spec.name} "
                         f"(at least {spec.min_input_side})")
    make = synthetic_task if request.task == "synthetic" else template_task
    progress(0, 1, f"making the {request.task} data")
    tx, ty, vx, vy, dataset = make(size=size, train=request.train or task.train,
                                   val=request.val or task.val, classes=request.classes,
                                   seed=request.seed)
    model = build_seeded(spec, request.seed)
    models = [model]
    if request.compare_plain:
        models.append(plain_twin_of(model)[0])  # the same initial weights, before training
    n_blocks = len(list(iter_blocks(model)))
    total = len(models) * (steps + n_blocks)
    reports = []
    for i, m in enumerate(models):
        name, base = m.spec.name, i * (steps + n_blocks)
        if steps:
            stage = progress.span(base, base + steps, total)
            train_briefly(m, tx, ty, steps=steps, batch_size=request.batch_size, lr=request.lr,
                          seed=request.seed,
                          progress=lambda s, n, loss, stage=stage, name=name: stage(
                              s, n, f"training {name}: step {s}/{n}, loss {loss:.3f}"))
            how = (f"trained here for {steps} steps (SGD momentum 0.9, batch "
                   f"{min(request.batch_size, len(ty))}, lr {request.lr} cosine, seed "
                   f"{request.seed}) on {dataset}")
        else:
            how = f"untrained (initial weights, seed {request.seed})"
        stage = progress.span(base + steps, base + steps + n_blocks, total)
        stage(0, n_blocks, f"lesioning {name}")
        reports.append(lesion_study(
            m, vx, vy, source=f"{how}; evaluated on its {len(vy)} held-out images",
            progress=lambda k, n, bid, stage=stage, name=name: stage(
                k, n, f"lesioning {name}: {bid} deleted")))
    return reports


def _lesion_checkpoints(request: LesionRequest, progress: Progress) -> list[LesionReport]:
    from resnet_studio.core.analysis.lesion import lesion_study, normalise
    from resnet_studio.core.data import load_dataset
    from resnet_studio.core.models.builder import build_model
    from resnet_studio.core.training.checkpoint import load_checkpoint

    reports = []
    for i, path in enumerate(request.checkpoints):
        stage = progress.span(i, i + 1, len(request.checkpoints))
        stage(0, 1, f"loading {path}")
        ckpt = load_checkpoint(path)
        if request.checkpoint_model and len(request.checkpoints) == 1 and \
                _preset_name(request.checkpoint_model) != _preset_name(ckpt.spec.name):
            raise ValueError(f"the checkpoint holds {ckpt.spec.name}, not "
                             f"{request.checkpoint_model}")
        model = build_model(ckpt.spec)
        model.load_state_dict(ckpt.model_state)
        cfg = ckpt.config
        data = load_dataset(cfg.dataset, val_fraction=cfg.val_fraction,
                            image_size=cfg.image_size or None, download=False)
        if len(data.val_y) == 0:
            raise ValueError(f"{cfg.dataset} has no held-out images to evaluate on")
        images, labels = normalise(data.val_x, data.info.mean, data.info.std), data.val_y
        if request.val:
            images, labels = images[: request.val], labels[: request.val]
        source = (f"checkpoint {ckpt.path} (step {ckpt.step}, trained on {cfg.dataset}); "
                  f"evaluated on {len(labels)} held-out images of {data.info.name}")
        reports.append(lesion_study(model, images, labels, source=source,
                                    progress=lambda k, n, bid, stage=stage, name=ckpt.spec.name:
                                    stage(k, n, f"lesioning {name}: {bid} deleted")))
    return reports


def _preset_name(name: str) -> str:
    from resnet_studio.core.zoo import resolve_name

    try:
        return resolve_name(name)
    except KeyError:
        return name


__all__ = ["BATCH", "LR", "TASKS", "LesionRequest", "LesionResult", "LesionTask", "run_lesion"]
