"""The optimiser, and learning-rate schedules as pure functions of the step (nanoGPT style):
nothing to save or restore, and a plot of the whole schedule is one list comprehension."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from resnet_studio.core.training.config import ConfigError, TrainConfig

if TYPE_CHECKING:
    import torch


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """SGD (momentum, optional Nesterov) or AdamW (`momentum` is beta1) over the trainable
    parameters, at the peak learning rate (the schedule sets it step by step)."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               nesterov=config.nesterov, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, betas=(config.momentum or 0.9, 0.999),
                                 weight_decay=config.weight_decay)
    raise ConfigError("optimizer", f"unknown optimizer '{config.optimizer}'")


def warmup_factor(step: int, warmup_steps: int) -> float:
    """Linear warm-up: step 0 trains at lr/warmup_steps, step warmup_steps-1 at the full lr."""
    if warmup_steps <= 0 or step >= warmup_steps:
        return 1.0
    return (step + 1) / warmup_steps


def multistep_lr(step: int, lr: float, milestones: list[int], gamma: float = 0.1) -> float:
    """lr, multiplied by `gamma` at every milestone already reached (He et al.: ÷10 at 32k, 48k)."""
    return lr * gamma ** sum(step >= m for m in milestones)


def cosine_lr(step: int, lr: float, total: int, warmup_steps: int = 0,
              min_lr: float = 0.0) -> float:
    """Half a cosine from lr to min_lr over the steps after the warm-up."""
    span = max(1, total - warmup_steps)
    t = min(1.0, max(0.0, (step - warmup_steps) / span))
    return min_lr + (lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * t))


def lr_at(step: int, config: TrainConfig) -> float:
    """The learning rate used for 0-based optimiser step `step`."""
    if config.schedule == "multistep":
        base = multistep_lr(step, config.lr, config.milestone_steps(), config.gamma)
    elif config.schedule == "cosine":
        base = cosine_lr(step, config.lr, config.steps, config.warmup_steps, config.min_lr)
    elif config.schedule == "constant":
        base = config.lr
    else:
        raise ValueError(f"unknown schedule '{config.schedule}'")
    return base * warmup_factor(step, config.warmup_steps)


def schedule_curve(config: TrainConfig, points: int = 200) -> list[tuple[int, float]]:
    """(step, lr) samples of the whole schedule, for a preview plot."""
    n = config.steps
    steps = sorted({min(n - 1, round(i * (n - 1) / max(1, points - 1))) for i in range(points)}
                   | set(m for m in config.milestone_steps() if m < n)
                   | {max(0, m - 1) for m in config.milestone_steps() if m < n})
    return [(s, lr_at(s, config)) for s in steps]
