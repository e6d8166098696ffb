"""TrainConfig: everything a training run needs besides the architecture (JSON round-trip)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from resnet_studio.core.common.dataclass_json import FieldError, JsonDataclass, JsonFormat

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("multistep", "cosine", "constant")
DEVICES = ("auto", "cpu", "cuda", "mps")
# Ceilings far above any real run; they refuse numbers that would only overflow or hang (the
# seed feeds numpy's SeedSequence and torch.manual_seed: 0 <= seed < 2**63).
LIMITS = {"steps": 10**9, "batch_size": 65_536, "warmup_steps": 10**9, "seed": 2**63 - 1,
          "threads": 4096, "eval_every": 10**9, "checkpoint_every": 10**9, "log_every": 10**9,
          "image_size": 4096}
FLOATS = ("lr", "momentum", "weight_decay", "gamma", "min_lr", "val_fraction")


class ConfigError(FieldError):
    """A bad setting; `field` names it (for inline errors in a form)."""


@dataclass(frozen=True)
class TrainConfig(JsonDataclass):
    JSON: ClassVar[JsonFormat] = JsonFormat("resnet-studio/train-config", 1, ConfigError, "config")

    dataset: str = "synthetic"  # synthetic[:opts] | cifar10 | cifar100 | mnist | fashionmnist |
    #                             imagefolder:PATH (see core.data)
    steps: int = 400  # optimiser steps (iterations), as the papers count them
    batch_size: int = 64
    optimizer: str = "sgd"  # sgd | adamw
    lr: float = 0.1  # peak learning rate
    momentum: float = 0.9  # SGD momentum (AdamW: beta1)
    nesterov: bool = False
    weight_decay: float = 1e-4
    schedule: str = "multistep"  # multistep | cosine | constant
    milestones: tuple[float, ...] = (0.5, 0.75)  # multistep: fractions of `steps`
    gamma: float = 0.1  # multistep: factor at each milestone
    min_lr: float = 0.0  # cosine: the floor it decays to
    warmup_steps: int = 0  # linear warm-up from lr/warmup_steps to lr
    seed: int = 0
    device: str = "auto"  # auto (CUDA > MPS > CPU) | cpu | cuda | mps
    # None ("auto"): the app chooses (core.training.speed): bf16 autocast and channels_last on
    # GPUs that support them; on the CPU the memory format and threads by measurement.
    amp: bool | None = None  # autocast in bfloat16 where supported (float16 + scaling otherwise)
    channels_last: bool | None = None
    threads: int = 0  # CPU threads for this run (0: auto)
    compile: bool = False  # torch.compile the model (slower start, faster steps on GPUs)
    eval_every: int = 200  # steps between validations (0: only at the end)
    checkpoint_every: int = 0  # steps between checkpoints (0: only at the end and on stop)
    log_every: int = 10  # steps between fetching loss/error from the device
    val_fraction: float = 0.1  # part of the training set held out (0: validate on the test
    #                            split); synthetic data draws its own validation set
    augment: bool = True  # the dataset's augmentation (CIFAR: 4-px pad, random crop, flip;
    #                       synthetic: none, every image is a fresh random draw)
    image_size: int = 0  # 0: the dataset's own; otherwise resize (image folders default to 32)

    # -- derived -------------------------------------------------------------------------
    def milestone_steps(self) -> list[int]:
        """Milestones in steps: (0.5, 0.75) of 64k -> [32000, 48000]."""
        return [int(round(m * self.steps)) for m in self.milestones]

    # -- validation ------------------------------------------------------------------------
    def errors(self) -> list[ConfigError]:
        errs: list[ConfigError] = []
        add = lambda f, m: errs.append(ConfigError(f, m))
        for name in FLOATS:  # a flag such as --lr inf reaches here without a JSON check
            if not math.isfinite(getattr(self, name)):
                add(name, "must be a finite number")
        if not all(math.isfinite(m) for m in self.milestones):
            add("milestones", "must be finite numbers")
        for name, most in LIMITS.items():
            if getattr(self, name) > most:
                add(name, f"must be at most {most:,}")
        if self.seed < 0:
            add("seed", "must not be negative")
        if self.steps < 1:
            add("steps", "must be at least 1")
        if self.batch_size < 1:
            add("batch_size", "must be at least 1")
        if self.optimizer not in OPTIMIZERS:
            add("optimizer", f"must be one of {', '.join(OPTIMIZERS)}")
        if not self.lr > 0:
            add("lr", "must be positive")
        if not 0 <= self.momentum < 1:
            add("momentum", "must be in [0, 1)")
        if self.nesterov and self.optimizer == "sgd" and self.momentum == 0:
            add("nesterov", "needs momentum > 0")
        if self.weight_decay < 0:
            add("weight_decay", "must not be negative")
        if self.schedule not in SCHEDULES:
            add("schedule", f"must be one of {', '.join(SCHEDULES)}")
        if any(not 0 < m < 1 for m in self.milestones):
            add("milestones", "are fractions of the run, each between 0 and 1 (e.g. 0.5, 0.75)")
        if list(self.milestones) != sorted(self.milestones):
            add("milestones", "must be increasing")
        if not 0 < self.gamma <= 1:
            add("gamma", "must be in (0, 1]")
        if self.min_lr < 0 or self.min_lr > self.lr:
            add("min_lr", "must be between 0 and lr")
        if self.warmup_steps < 0:
            add("warmup_steps", "must not be negative")
        if self.device not in DEVICES:
            add("device", f"must be one of {', '.join(DEVICES)}")
        for name in ("eval_every", "checkpoint_every"):
            if getattr(self, name) < 0:
                add(name, "must not be negative (0 turns it off)")
        if self.threads < 0:
            add("threads", "must not be negative (0: chosen by the app)")
        if self.log_every < 1:
            add("log_every", "must be at least 1")
        if not 0 <= self.val_fraction < 1:
            add("val_fraction", "must be in [0, 1)")
        if self.image_size < 0 or 0 < self.image_size < 8:
            add("image_size", "must be 0 (the dataset's own) or at least 8")
        if not self.dataset.strip():
            add("dataset", "is empty")
        return errs

    def replace(self, **changes: Any) -> TrainConfig:
        return replace(self, **changes)


PRESETS: dict[str, TrainConfig] = {
    # He et al. 2015, section 4.2 (CIFAR-10): batch 128, SGD momentum 0.9, weight decay 1e-4,
    # lr 0.1 divided by 10 at 32k and 48k iterations, stop at 64k; 45k/5k split; 4-px pad,
    # random 32x32 crop, horizontal flip.
    "he2015_cifar": TrainConfig(
        dataset="cifar10", steps=64_000, batch_size=128, optimizer="sgd", lr=0.1,
        momentum=0.9, nesterov=False, weight_decay=1e-4, schedule="multistep",
        milestones=(0.5, 0.75), gamma=0.1, warmup_steps=0, val_fraction=0.1, augment=True,
        eval_every=2000, checkpoint_every=2000, log_every=50),
    # The degradation problem offline (He et al. 2015, Fig. 1 and Fig. 6): the built-in
    # synthetic set, 400 steps of batch 64, a few minutes on a 2-core CPU. Measured there:
    # training error over the last 40 steps plain-20 4.4%, plain-56 88% (it barely leaves
    # chance), ResNet-20 1.7%, ResNet-56 1.9%.
    # A short linear warm-up and lr 0.05 let the residual nets leave the initial plateau
    # quickly; cosine decay ends the run near convergence.
    "quick_cpu": TrainConfig(
        dataset="synthetic", steps=400, batch_size=64, optimizer="sgd", lr=0.05, momentum=0.9,
        nesterov=False, weight_decay=1e-4, schedule="cosine", warmup_steps=50, augment=True,
        eval_every=100, checkpoint_every=0, log_every=10),
}


def get_preset(name: str) -> TrainConfig:
    key = name.strip().lower().replace("-", "_")
    if key not in PRESETS:
        raise KeyError(f"unknown training preset '{name}'; choose one of {', '.join(PRESETS)}")
    return PRESETS[key]
