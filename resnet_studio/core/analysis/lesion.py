"""Lesion study (Veit et al. 2016): delete one block at test time and see what the accuracy does.

A residual network behaves like an ensemble of many shallower paths: deleting a single block
(keeping only its identity path, y = x) costs little, while deleting one layer of a plain
network -- skipping it, so its input goes straight on -- breaks the single path every image takes.

Only blocks whose input and output shapes match can be deleted (as in the paper: the
downsampling blocks are left alone). The model runs in eval mode (BatchNorm with its running
statistics), and is left exactly as it was.

`train_briefly` is a small SGD loop for demos and tests until a checkpoint is at hand;
`synthetic_task` (the app's built-in dataset: hard, needs a thousand steps or more to get well
above chance) and `template_task` (easy: learnt in ~100 steps) give it data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from resnet_studio.core.analysis.gradients import Column, iter_blocks


@dataclass
class LesionedBlock:
    id: str  # "layer1.2"
    stage: int  # 1-based
    index: int  # 0-based within the stage
    deleted_as: str  # "identity path" (residual block) or "skipped" (plain block)
    accuracy: float  # 0..1, with this block deleted
    drop: float  # intact accuracy - accuracy (positive: worse)


@dataclass
class LesionReport:
    model: str
    plain: bool
    samples: int  # images evaluated
    intact_accuracy: float  # 0..1
    blocks: list[LesionedBlock]
    skipped: list[str] = field(default_factory=list)  # blocks that change shape: not deleted
    mean_drop: float = float("nan")  # mean over the deleted blocks
    max_drop: float = float("nan")
    chance: float = float("nan")  # 1 / number of classes
    source: str = ""  # what the model was trained on and what it is evaluated on, in words

    drops = Column("blocks", "drop")  # numpy views, for plots
    accuracies = Column("blocks", "accuracy")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("mean_drop", "max_drop", "chance"):
            if not math.isfinite(d[key]):
                d[key] = None
        return d


class DeletedBlock(nn.Module):
    """Stands in for a block at test time: its identity path only (or nothing, for a plain one)."""

    def __init__(self, block: nn.Module):
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if getattr(self.block, "has_shortcut", False):
            return self.block.identity(x)
        return x


def find_block(model: nn.Module, block_id: str) -> tuple[nn.Sequential, int]:
    stage_name, _, j = block_id.rpartition(".")
    return getattr(model, stage_name), int(j)


@contextmanager
def block_deleted(model: nn.Module, block_id: str):
    """Within the context, `model` runs with block `block_id` deleted."""
    stage, j = find_block(model, block_id)
    original = stage[j]
    stage[j] = DeletedBlock(original)
    try:
        yield model
    finally:
        stage[j] = original


def block_shapes(model: nn.Module, sample: torch.Tensor) -> dict[str, tuple[tuple, tuple]]:
    """{block id: (input shape, output shape)} from one eval-mode forward of `sample` (1 image)."""
    shapes: dict[str, list] = {}
    handles = []
    for bid, _, _, blk in iter_blocks(model):
        def hook(_m, args, out, bid=bid):
            shapes[bid] = (tuple(args[0].shape[1:]), tuple(out.shape[1:]))
        handles.append(blk.register_forward_hook(hook))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(sample[:1])
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return shapes


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
             batch_size: int = 256) -> float:
    """Top-1 accuracy (0..1) in eval mode."""
    correct = 0
    for i in range(0, len(images), batch_size):
        logits = model(images[i:i + batch_size])
        correct += int((logits.argmax(1) == labels[i:i + batch_size]).sum())
    return correct / max(1, len(images))


def lesion_study(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *,
                 batch_size: int = 256, source: str = "",
                 progress: Callable[[int, int, str], None] | None = None) -> LesionReport:
    """Accuracy of the intact model, then with each shape-preserving block deleted in turn.

    images: float tensor N x C x H x W, already normalised as the model expects; labels: int64.
    progress(done, total, block id) is called after each deleted block is evaluated.
    """
    if len(images) == 0:
        raise ValueError("the lesion study needs at least one image")
    device = next(model.parameters()).device
    images, labels = images.to(device), labels.to(device, torch.long)
    spec = getattr(model, "spec", None)
    was_training = model.training
    model.eval()
    try:
        shapes = block_shapes(model, images)
        intact = accuracy(model, images, labels, batch_size)
        deletable = [(bid, s, j, blk) for bid, s, j, blk in iter_blocks(model)
                     if shapes[bid][0] == shapes[bid][1]]
        skipped = [bid for bid, *_ in iter_blocks(model) if shapes[bid][0] != shapes[bid][1]]
        results = []
        for n, (bid, s, j, blk) in enumerate(deletable, 1):
            with block_deleted(model, bid):
                acc = accuracy(model, images, labels, batch_size)
            how = "identity path" if getattr(blk, "has_shortcut", False) else "skipped"
            results.append(LesionedBlock(id=bid, stage=s, index=j, deleted_as=how, accuracy=acc,
                                         drop=intact - acc))
            if progress is not None:
                progress(n, len(deletable), bid)
    finally:
        model.train(was_training)
    drops = [r.drop for r in results]
    num_classes = getattr(spec, "num_classes", None)
    if num_classes is None and isinstance(getattr(model, "fc", None), nn.Linear):
        num_classes = model.fc.out_features
    return LesionReport(model=getattr(spec, "name", type(model).__name__),
                        plain=bool(getattr(spec, "plain", False)), samples=len(images),
                        intact_accuracy=intact, blocks=results, skipped=skipped,
                        mean_drop=float(np.mean(drops)) if drops else float("nan"),
                        max_drop=float(np.max(drops)) if drops else float("nan"),
                        chance=1.0 / num_classes if num_classes else float("nan"),
                        source=source)


NEAR_CHANCE = 0.15  # intact accuracy within 15 points of chance: the drops say little


def near_chance(report: LesionReport) -> bool:
    return math.isfinite(report.chance) and report.intact_accuracy < report.chance + NEAR_CHANCE


def summarize_lesion(report: LesionReport) -> str:
    """One line: "resnet20: intact 81.2%; deleting one of 7 blocks costs 3.1 points on average
    (at most 9.0; chance is 10%)"; a warning is added when the intact model is near chance."""
    if not report.blocks:
        return f"{report.model}: intact {100 * report.intact_accuracy:.1f}%; no block keeps its shape"
    line = (f"{report.model}: intact {100 * report.intact_accuracy:.1f}%; deleting one of "
            f"{len(report.blocks)} blocks costs {100 * report.mean_drop:.1f} points on average "
            f"(at most {100 * report.max_drop:.1f}; chance is {100 * report.chance:.0f}%)")
    if near_chance(report):
        line += " -- the intact model is barely above chance, so these drops mean little"
    return line


# -- a small training loop (demos and tests; the Trainer is the real engine) ------------------

def train_briefly(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, steps: int,
                  batch_size: int = 64, lr: float = 0.05, momentum: float = 0.9,
                  weight_decay: float = 5e-4, seed: int = 0,
                  progress: Callable[[int, int, float], None] | None = None) -> list[float]:
    """Plain SGD with momentum and a cosine learning rate, on in-memory float images.

    The batch order is a pure function of `seed`; returns the training loss of every step.
    progress(step, steps, loss) is called every 10 steps and at the end.
    """
    if steps < 1:
        raise ValueError("steps must be at least 1")
    n = len(images)
    batch_size = min(batch_size, n)
    device = next(model.parameters()).device
    images, labels = images.to(device), labels.to(device, torch.long)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum,
                          weight_decay=weight_decay)
    model.train()
    losses: list[float] = []
    order = torch.randperm(n, generator=g)
    pos = 0
    for step in range(steps):
        if pos + batch_size > n:
            order, pos = torch.randperm(n, generator=g), 0
        idx = order[pos:pos + batch_size].to(device)
        pos += batch_size
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        loss = F.cross_entropy(model(images[idx]), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if progress is not None and ((step + 1) % 10 == 0 or step + 1 == steps):
            progress(step + 1, steps, losses[-1])
    model.eval()
    return losses


def synthetic_task(*, size: int = 16, train: int = 4000, val: int = 1000, classes: int = 10,
                   seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                           torch.Tensor, str]:
    """(train images, train labels, val images, val labels, dataset name): the built-in
    `synthetic` dataset (core.data), as float tensors normalised by the training set's
    per-channel mean and std."""
    from resnet_studio.core.data import load_dataset

    name = f"synthetic:classes={classes},size={size},train={train},val={val},seed={seed}"
    data = load_dataset(name)
    norm = lambda x: normalise(x, data.info.mean, data.info.std)
    return norm(data.train_x), data.train_y, norm(data.val_x), data.val_y, name


def normalise(images: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 images N x C x H x W as the model sees them: per channel (x / 255 - mean) / std."""
    mean = torch.as_tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.as_tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return (images.float() / 255.0 - mean) / std


def template_task(*, classes: int = 10, size: int = 8, channels: int = 3, noise: float = 2.0,
                  train: int = 2048, val: int = 512, seed: int = 0
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, str]:
    """A quick, easy task for demos and tests: each class is one fixed random image (N(0, 1)
    pixels) and every sample is its class's template plus N(0, noise²) pixel noise. A ResNet-20
    learns it in about a hundred SGD steps on a CPU. Returns the same 5-tuple as
    `synthetic_task`; a pure function of the arguments."""
    g = torch.Generator().manual_seed(seed)
    templates = torch.randn(classes, channels, size, size, generator=g)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, classes, (n,), generator=g)
        return templates[y] + noise * torch.randn(n, channels, size, size, generator=g), y

    name = f"templates:classes={classes},size={size},noise={noise:g},train={train},val={val}," \
           f"seed={seed}"
    return (*draw(train), *draw(val), name)


__all__ = ["NEAR_CHANCE", "DeletedBlock", "LesionReport", "LesionedBlock", "accuracy",
           "block_deleted", "block_shapes", "find_block", "lesion_study", "near_chance", "normalise",
           "summarize_lesion", "synthetic_task", "template_task", "train_briefly"]
