"""What an experiment is: a grid of CIFAR-style depths x variants x seeds trained under one
TrainConfig, to see the degradation problem (He et al. 2015, Fig. 6 and Table 6) with your own
eyes. The variants and depths, the net each cell trains (`make_spec`), the cells, the stored
`Experiment` and the presets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.training.config import PRESETS as TRAIN_PRESETS
from resnet_studio.core.training.config import TrainConfig

# -- the grid ----------------------------------------------------------------------------------

VARIANTS = ("plain", "residual", "residual_b", "preact")
VARIANT_LABELS = {"plain": "plain", "residual": "ResNet (A)", "residual_b": "ResNet (B)",
                  "preact": "pre-act ResNet"}
VARIANT_ALIASES = {"plain": "plain", "residual": "residual", "resnet": "residual",
                   "residual_a": "residual", "a": "residual", "residual_b": "residual_b",
                   "resnet_b": "residual_b", "b": "residual_b", "preact": "preact",
                   "pre_activation": "preact", "preact_resnet": "preact"}
STANDARD_DEPTHS = (20, 32, 44, 56, 110)

# cell states: "pending" (not started), "cancelled" (skipped on purpose), or the run's status
DONE = ("finished", "diverged")  # a result; never re-run


class ExperimentError(ValueError):
    """A bad grid (depth not 6n+2, unknown variant) or an experiment that cannot run now."""


def normalize_variant(name: str) -> str:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in VARIANT_ALIASES:
        raise ExperimentError(f"unknown variant '{name}'; choose from {', '.join(VARIANTS)}")
    return VARIANT_ALIASES[key]


def check_depth(depth: int) -> int:
    depth = int(depth)
    if depth < 8 or (depth - 2) % 6:
        raise ExperimentError(f"depth {depth} is not a CIFAR ResNet depth: it must be 6n+2 with "
                              "n >= 1 (8, 14, 20, 32, 44, 56, 110, ...)")
    return depth


def make_spec(depth: int, variant: str) -> ArchSpec:
    """The CIFAR net of He et al. 2015 (3 stages of n basic blocks, widths 16/32/64) at `depth`:
    plain (no shortcuts), residual (option A, Table 6), residual_b (projection where the shape
    changes) or preact (He et al. 2016, pre-activation blocks, projection shortcuts)."""
    depth = check_depth(depth)
    variant = normalize_variant(variant)
    n = (depth - 2) // 6
    base = ArchSpec(name=f"resnet{depth}", block="basic", layers=(n, n, n), widths=(16, 32, 64),
                    stem="cifar", shortcut="A", num_classes=10)
    if variant == "plain":
        return base.plain_twin()
    if variant == "residual_b":
        return replace(base, name=f"resnet{depth}_b", shortcut="B")
    if variant == "preact":
        return replace(base, name=f"preact_resnet{depth}", shortcut="B", preact=True)
    return base


def model_label(depth: int, variant: str) -> str:
    """The paper's names: plain-20, ResNet-56, ResNet-B-56, pre-act-110."""
    return {"plain": f"plain-{depth}", "residual": f"ResNet-{depth}",
            "residual_b": f"ResNet-B-{depth}", "preact": f"pre-act-{depth}"}[variant]


@dataclass(frozen=True)
class Cell:
    """One run of an experiment: (depth, variant, seed) and what became of it."""

    index: int
    depth: int
    variant: str
    seed: int
    run_id: str | None = None
    cancelled: bool = False
    seconds: float | None = None  # training time of the run (resumed time included)
    status: str = "pending"  # pending | cancelled | the run's status (finished, running, ...)
    step: int = 0
    total_steps: int = 0

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.depth, self.variant, self.seed)

    @property
    def label(self) -> str:
        return f"{model_label(self.depth, self.variant)} seed {self.seed}"

    @property
    def done(self) -> bool:
        return self.cancelled or self.status in DONE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def grid_cells(depths: Iterable[int], variants: Iterable[str],
               seeds: Iterable[int] = (0,)) -> list[tuple[int, str, int]]:
    """Every (depth, variant, seed), variant-major like the paper's panels."""
    depths = sorted({check_depth(d) for d in depths})
    variants = list(dict.fromkeys(normalize_variant(v) for v in variants))
    seeds = list(dict.fromkeys(int(s) for s in seeds))
    if not depths or not variants or not seeds:
        raise ExperimentError("an experiment needs at least one depth, one variant and one seed")
    return [(d, v, s) for v in variants for d in depths for s in seeds]


@dataclass(frozen=True)
class Experiment:
    id: str
    name: str
    config: TrainConfig  # shared by every run; each run's seed replaces config.seed
    cells: tuple[Cell, ...]
    status: str  # created | running | finished | incomplete | stopped | interrupted | failed
    created: float
    updated: float
    preset: str = ""
    message: str = ""

    @property
    def depths(self) -> list[int]:
        return sorted({c.depth for c in self.cells})

    @property
    def variants(self) -> list[str]:
        return [v for v in VARIANTS if any(c.variant == v for c in self.cells)]

    @property
    def seeds(self) -> list[int]:
        return sorted({c.seed for c in self.cells})

    def missing(self) -> list[Cell]:
        """Cells a resume would run: not finished/diverged and not cancelled."""
        return [c for c in self.cells if not c.done]

    def cell(self, index: int) -> Cell:
        for c in self.cells:
            if c.index == index:
                return c
        raise KeyError(f"experiment {self.id} has no run #{index}")

    def find(self, depth: int, variant: str, seed: int) -> Cell | None:
        key = (int(depth), normalize_variant(variant), int(seed))
        return next((c for c in self.cells if c.key == key), None)

    def run_config(self, cell: Cell) -> TrainConfig:
        return self.config.replace(seed=cell.seed)

    @property
    def progress(self) -> tuple[int, int]:
        """(cells done or cancelled, all cells)."""
        return sum(c.done for c in self.cells), len(self.cells)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "status": self.status, "preset": self.preset,
                "message": self.message, "created": self.created, "updated": self.updated,
                "depths": self.depths, "variants": self.variants, "seeds": self.seeds,
                "config": self.config.to_dict(), "cells": [c.to_dict() for c in self.cells]}


# -- presets -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExperimentPreset:
    key: str
    title: str
    description: str
    cells: tuple[tuple[int, str, int], ...]
    config: TrainConfig

    @property
    def depths(self) -> list[int]:
        return sorted({d for d, _, _ in self.cells})

    @property
    def variants(self) -> list[str]:
        return [v for v in VARIANTS if any(c[1] == v for c in self.cells)]

    @property
    def seeds(self) -> list[int]:
        return sorted({s for _, _, s in self.cells})


# The offline demo, He et al. 2015 Figs. 6 and 7 in minutes: the built-in synthetic glyphs, 5
# classes drawn cleanly (`easy=1`: 16x16, no clutter), batch 32, 1,000 steps, lr 0.04 with 50
# warm-up steps; four nets in 132 s on a quiet 2-core CPU (make bench). Pinned here rather than taken from the
# Train tab's quick_cpu preset, so that tuning that one never silently changes the demonstration
# (or the shipped trained nets, app.trained_nets, which are this preset's). Fig. 6's shape needs
# plain-56 to learn, only slower than plain-20, while plain-20 and both ResNets end near 0%:
# final training error plain-20 / plain-56 / ResNet-20 / ResNet-56 0.06 / 21.6 / 0.13 / 0.06%
# (chance 80%). On the cluttered 10-class default plain-56 stays at chance for hundreds of steps
# at any lr tried (0.005-0.1, warm-up 50-100, AdamW too); on 10 clean classes it leaves the
# plateau at a random moment.
# Fig. 7 (app.responses) needs the BN scales to have moved from 1, which a few hundred steps of
# batch 64 did not do: at 500 steps, lr 0.03 (the preset before this one; plain-56 9.5%) the
# mean std was plain-20 / ResNet-20 / plain-56 / ResNet-56 0.982 / 0.984 / 1.021 / 0.978, depth
# 20 level. Batch 32 (SGD noise inflates a plain net's scale-invariant BN weights; a ResNet's
# branch ends are not scale-invariant) gives 0.980 / 0.975 / 1.165 / 0.968 at 1,000 steps, lr
# 0.04. Tried on the way (batch 32, 800 steps; plain-56's error; mean std of ResNet-20 /
# ResNet-56): lr 0.03 6.2%, 0.976 / 0.994; lr 0.04 32%, 0.968 / 0.968; lr 0.05 41% (over Fig.
# 6's 40%), 0.968 / 0.949; lr 0.05 with 100 warm-up steps 32%, 0.963 / 0.975. Also dropped:
# lr 0.1 (plain-56 36-55%), weight decay 5e-3 (shrinks plain and residual alike).
QUICK_CONFIG = TrainConfig(
    dataset="synthetic:easy=1,classes=5", steps=1000, batch_size=32, optimizer="sgd", lr=0.04,
    momentum=0.9, nesterov=False, weight_decay=1e-4, schedule="cosine", warmup_steps=50,
    augment=True, eval_every=100, checkpoint_every=0, log_every=10, device="auto")

EXPERIMENT_PRESETS: dict[str, ExperimentPreset] = {
    "quick": ExperimentPreset(
        "quick", "Quick demo (CPU)",  # its time: measured on this machine (app.time_estimate)
        "He et al. 2015 Fig. 6 in minutes: plain and residual nets of depth 20 and 56 on the "
        f"built-in synthetic glyphs (5 classes, drawn cleanly), {QUICK_CONFIG.steps} steps each. "
        "Both plain nets learn, "
        "but plain-56 ends with a clearly higher training error than plain-20 (degradation); "
        "ResNet-56 ends as low as ResNet-20. On the trained nets (the Fig. 7 page) the "
        "ResNets' layers respond less than their plain twins', ResNet-56's less than ResNet-20's.",
        tuple(grid_cells((20, 56), ("plain", "residual"), (0,))), QUICK_CONFIG),
    "he2015_fig6": ExperimentPreset(
        "he2015_fig6", "He et al. 2015 Fig. 6 (GPU)",
        "CIFAR-10 with the paper's schedule (64k iterations, batch 128, lr 0.1 divided by 10 at "
        "32k and 48k): plain-20/32/44/56 and ResNet-20/32/44/56/110. Hours on a GPU per net. "
        "(The paper warms ResNet-110 up at lr 0.01 for ~400 iterations; this preset does not.)",
        tuple([(d, "plain", 0) for d in (20, 32, 44, 56)]
              + [(d, "residual", 0) for d in (20, 32, 44, 56, 110)]),
        TRAIN_PRESETS["he2015_cifar"]),
}


def get_experiment_preset(name: str) -> ExperimentPreset:
    key = name.strip().lower().replace("-", "_")
    aliases = {"quick_demo": "quick", "fig6": "he2015_fig6", "he2015": "he2015_fig6",
               "paper": "he2015_fig6"}
    key = aliases.get(key, key)
    if key not in EXPERIMENT_PRESETS:
        raise KeyError(f"unknown experiment preset '{name}'; choose one of "
                       f"{', '.join(EXPERIMENT_PRESETS)}")
    return EXPERIMENT_PRESETS[key]
