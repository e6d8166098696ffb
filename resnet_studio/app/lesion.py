"""The lesion study (Veit et al. 2016), once for the Gradients tab and `resnet-studio lesion`.

A `LesionRequest` names either checkpoints to lesion as they are (a run's, a shipped net's:
`app.trained_models` lists them with their plain twins) or a model to train here first (a spec,
a task, a seed; with `compare_plain` its plain twin too: the same initial weights and the same
batches) -- for a given number of steps, or (steps=None) in rounds until the intact net is well
above chance, saying how long that takes at most once its first steps are timed. `run_lesion`
deletes one block at a time at test time and returns the reports with the lines both
front-ends show under them. The tab runs it in a `Job`, the command with a stderr progress
line; the same request gives the same numbers in both.

Importing this module does not import torch (the tab imports it when the window starts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_studio.core.common.formatting import duration
from resnet_studio.core.common.progress import Progress

if TYPE_CHECKING:
    from resnet_studio.core.analysis.lesion import LesionReport
    from resnet_studio.core.spec import ArchSpec


@dataclass(frozen=True)
class LesionTask:
    """A built-in task to train on briefly, and its defaults."""

    steps: int  # a round of training: often enough to get well above chance
    max_steps: int  # training until well above chance gives up here
    size: int  # image side (raised to the model's smallest input)
    train: int  # training images
    val: int  # held-out images the blocks are deleted on
    text: str  # what the tab's task list says


# `synthetic` (the app's built-in dataset) is hard: a ResNet-20 needs a thousand steps or more
# to get well above chance. `templates` (10 fixed random images in heavy noise) is learnt in
# about a hundred steps. The tab offers them in this order.
TASKS: dict[str, LesionTask] = {
    "templates": LesionTask(steps=100, max_steps=800, size=8, train=2048, val=512,
                            text="templates (easy: 10 noisy fixed images, ~100 steps)"),
    "synthetic": LesionTask(steps=1000, max_steps=4000, size=16, train=4000, val=1000,
                            text="synthetic (the built-in dataset: hard, 1000+ steps)"),
}
BATCH = 64
LR = 0.1  # peak; cosine decay to zero
# "well above chance": the intact net's held-out accuracy this far above chance (near_chance
# warns below 15 points)
WELL_ABOVE_CHANCE = 0.3


@dataclass(frozen=True)
class LesionRequest:
    """What to lesion. Without `checkpoints`, `spec` is trained here first on `task`;
    None fields take the task's defaults (`TASKS`)."""

    spec: ArchSpec | None = None
    task: str = "synthetic"
    steps: int | None = None  # SGD steps before the study; 0: untrained; None: until well
    #                           above chance (rounds of the task's steps, at most its max_steps)
    seed: int = 0  # of the weights, the data and the batches
    compare_plain: bool = False  # also the plain twin (a residual spec only)
    batch_size: int = BATCH
    lr: float = LR
    size: int | None = None
    classes: int = 10
    train: int | None = None
    val: int | None = None  # with checkpoints: None evaluates on every held-out image
    checkpoints: tuple[str, ...] = ()  # app checkpoints (a run's folder or checkpoint.json, a
    #                                    shipped net's .safetensors), lesioned as they are
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
        advice = ("Train longer (more steps), or a shallower model, to get it well above chance."
                  if request.task == "templates" else
                  "Train longer (more steps) or use the easy task (templates) to get a model "
                  "well above chance.")
    summary = [summarize_lesion(r) for r in reports]
    if len(reports) == 2 and all(r.blocks for r in reports):
        a, b = reports
        summary.append(f"mean drop per deleted block: {a.model} {100 * a.mean_drop:.1f} points, "
                       f"{b.model} {100 * b.mean_drop:.1f} points")
    return LesionResult(reports=reports, summary=summary,
                        advice=advice if any(near_chance(r) for r in reports) else "")


def training_plan(request: LesionRequest) -> str:
    """What training here will do, said before it starts ('' when lesioning checkpoints)."""
    if request.checkpoints or request.spec is None or request.task not in TASKS:
        return ""
    name, task = request.spec.name, TASKS[request.task]
    nets = f"{name} and its plain twin" if request.compare_plain else name
    if request.steps == 0:
        return f"Lesions {nets} untrained (initial weights, seed {request.seed})."
    timed = "the time left is shown from the tenth step on, timed on this machine"
    if request.steps is None:
        goal = 100 * (1 / request.classes + WELL_ABOVE_CHANCE)
        return (f"Trains {nets} on {request.task} until {name} is well above chance ({goal:.0f}% "
                f"on held-out images): rounds of {task.steps} steps, at most {task.max_steps} "
                f"steps each; {timed}.")
    return f"Trains {nets} on {request.task} for {request.steps} steps each; {timed}."


def _train_and_lesion(request: LesionRequest, progress: Progress) -> list[LesionReport]:
    from resnet_studio.core.analysis.gradients import build_seeded, iter_blocks, plain_twin_of
    from resnet_studio.core.analysis.lesion import lesion_study, synthetic_task, template_task
    from resnet_studio.core.zoo import with_io

    if request.spec is None:
        raise ValueError("name a model to train, or give checkpoints")
    if request.task not in TASKS:
        raise ValueError(f"unknown task '{request.task}' (choose from {', '.join(TASKS)})")
    task = TASKS[request.task]
    if request.steps is not None and request.steps < 0:
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
    # the residual net's steps decide the twin's: both see the same batches
    steps = task.max_steps if request.steps is None else request.steps
    reports = []
    done = 0
    for i, m in enumerate(models):
        name = m.spec.name
        total = done + (len(models) - i) * (steps + n_blocks)
        if steps:
            stage = progress.span(done, done + steps, total)
            rounds = request.steps is None  # warm restarts: the twin's rounds are the same
            steps = _train(m, tx, ty, vx, vy, request, steps,
                           min(task.steps, steps) if rounds else steps,
                           until_above_chance=rounds and i == 0, progress=stage)
            total = done + (len(models) - i) * (steps + n_blocks)
            how = (f"trained here for {steps} steps (SGD momentum 0.9, batch "
                   f"{min(request.batch_size, len(ty))}, lr {request.lr} cosine"
                   f"{_restarts(steps, task) if request.steps is None else ''}, seed "
                   f"{request.seed}) on {dataset}")
        else:
            how = f"untrained (initial weights, seed {request.seed})"
        stage = progress.span(done + steps, done + steps + n_blocks, total)
        stage(0, n_blocks, f"lesioning {name}")
        reports.append(lesion_study(
            m, vx, vy, source=f"{how}; evaluated on its {len(vy)} held-out images",
            progress=lambda k, n, bid, stage=stage, name=name: stage(
                k, n, f"lesioning {name}: {bid} deleted")))
        done += steps + n_blocks
    return reports


def _train(model, tx, ty, vx, vy, request: LesionRequest, steps: int, round_steps: int, *,
           until_above_chance: bool, progress: Progress) -> int:
    """Train `model` for `steps` steps in rounds of `round_steps` (each a cosine schedule from
    the peak lr: warm restarts); `until_above_chance`: stop after the first round that leaves
    its held-out accuracy WELL_ABOVE_CHANCE above chance. Returns the steps trained. The time
    left is said from the tenth step on (timed, not guessed)."""
    import time

    from resnet_studio.core.analysis.lesion import accuracy, train_briefly

    name, chance = model.spec.name, 1.0 / request.classes
    goal = (f" until it is well above chance ({100 * (chance + WELL_ABOVE_CHANCE):.0f}% on "
            f"held-out images), at most {steps}" if until_above_chance else f"/{steps}")
    started = time.perf_counter()
    trained = 0
    while trained < steps:
        n = min(round_steps, steps - trained)

        def report(s: int, _n: int, loss: float, base: int = trained) -> None:
            step = base + s
            per_step = (time.perf_counter() - started) / step
            left = duration(per_step * (steps - step))
            progress(step, steps, f"training {name}: step {step}{goal}, loss {loss:.3f}; "
                                  f"{'at most ' if until_above_chance else ''}{left} left")

        # each round its own batch order: a round repeats no earlier one
        train_briefly(model, tx, ty, steps=n, batch_size=request.batch_size, lr=request.lr,
                      seed=request.seed + trained // round_steps, progress=report)
        trained += n
        if until_above_chance and accuracy(model, vx, vy) >= chance + WELL_ABOVE_CHANCE:
            break
    return trained


def _restarts(steps: int, task: LesionTask) -> str:
    rounds = -(-steps // task.steps)
    return f" restarted every {task.steps} steps" if rounds > 1 else ""


def _lesion_checkpoints(request: LesionRequest, progress: Progress) -> list[LesionReport]:
    from resnet_studio.core.analysis.lesion import lesion_study, normalise
    from resnet_studio.core.data import load_dataset
    from resnet_studio.core.weights.checkpoint import load_checkpoint_source

    reports = []
    for i, path in enumerate(request.checkpoints):
        stage = progress.span(i, i + 1, len(request.checkpoints))
        stage(0, 1, f"loading {path}")
        loaded = load_checkpoint_source(path)
        spec = loaded.spec
        if request.checkpoint_model and len(request.checkpoints) == 1 and \
                _preset_name(request.checkpoint_model) != _preset_name(spec.name):
            raise ValueError(f"the checkpoint holds {spec.name}, not {request.checkpoint_model}")
        dataset, val_fraction, image_size = _training_data(path, loaded.meta.get("dataset"))
        data = load_dataset(dataset, val_fraction=val_fraction, image_size=image_size,
                            download=False)
        if len(data.val_y) == 0:
            raise ValueError(f"{dataset} has no held-out images to evaluate on")
        images, labels = normalise(data.val_x, data.info.mean, data.info.std), data.val_y
        if request.val:
            images, labels = images[: request.val], labels[: request.val]
        step = loaded.meta.get("step")
        trained = f"step {step}, trained on {dataset}" if step is not None else \
            f"trained on {dataset}"
        source = (f"checkpoint {path} ({trained}); evaluated on {len(labels)} held-out images "
                  f"of {data.info.name}")
        reports.append(lesion_study(loaded.model, images, labels, source=source,
                                    progress=lambda k, n, bid, stage=stage, name=spec.name:
                                    stage(k, n, f"lesioning {name}: {bid} deleted")))
    return reports


def _training_data(path: str, dataset: str | None) -> tuple[str, float, int | None]:
    """(dataset, val_fraction, image_size) a checkpoint was trained with: a run's from its
    config; a net shipped as X.safetensors beside X.json from the dataset it names (the
    built-in data's name says its own held-out split)."""
    from resnet_studio.core.training.checkpoint import SIDECAR, read_checkpoint_meta
    from resnet_studio.core.training.config import TrainConfig

    p = Path(path).expanduser()
    if p.is_dir() or p.name == SIDECAR or (p.parent / SIDECAR).is_file():
        cfg = TrainConfig.from_dict(read_checkpoint_meta(p)["config"])
        return cfg.dataset, cfg.val_fraction, cfg.image_size or None
    if not dataset:
        raise ValueError(f"checkpoint {path} does not say what data it was trained on")
    return dataset, 0.1, None


def _preset_name(name: str) -> str:
    from resnet_studio.core.zoo import resolve_name

    try:
        return resolve_name(name)
    except KeyError:
        return name


__all__ = ["BATCH", "LR", "TASKS", "WELL_ABOVE_CHANCE", "LesionRequest", "LesionResult",
           "LesionTask", "run_lesion", "training_plan"]
