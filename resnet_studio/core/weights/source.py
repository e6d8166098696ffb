"""What every kind of weights gives: a `ModelSource`, a `LoadReport`, the errors, and the
defaults a source takes from its architecture (class names, preprocessing, the matching
torchvision builder)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from resnet_studio.core.models.builder import build_model
from resnet_studio.core.preprocess import CIFAR10_CLASSES, Preprocess, preprocess_for_dataset
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.zoo import PRESETS, get_spec

RANDOM_LABEL = "random weights (untrained)"
KINDS = ("torchvision", "checkpoint", "state_dict", "random")


class WeightsError(ValueError):
    """Weights that cannot be used as asked; the message says why and what to do."""


class WeightsUnavailable(WeightsError):
    """Pretrained weights are not on this machine and could not be downloaded."""

    def __init__(self, message: str, *, file: str, folder: Path, url: str):
        super().__init__(message)
        self.file, self.folder, self.url = file, folder, url


class WeightsMismatch(WeightsError):
    """A state_dict that does not fit the model; `report` lists the differences."""

    def __init__(self, message: str, report: LoadReport):
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class LoadReport:
    """How a state_dict fitted a model."""

    loaded: int  # tensors copied into the model
    total: int  # tensors in the model's state_dict
    missing: tuple[str, ...] = ()  # in the model, not in the file
    unexpected: tuple[str, ...] = ()  # in the file, not in the model
    mismatched: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = ()  # key, file, model

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def summary(self, examples: int = 3) -> str:
        if self.ok:
            return f"all {self.total} tensors loaded"
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} missing (e.g. {', '.join(self.missing[:examples])})")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} unexpected "
                         f"(e.g. {', '.join(self.unexpected[:examples])})")
        if self.mismatched:
            ex = ", ".join(f"{k}: file {_shape(a)} vs model {_shape(b)}"
                           for k, a, b in self.mismatched[:examples])
            parts.append(f"{len(self.mismatched)} with another shape ({ex})")
        return f"{self.loaded} of {self.total} tensors fit; " + "; ".join(parts)

    def to_dict(self) -> dict:
        return {"loaded": self.loaded, "total": self.total, "missing": list(self.missing),
                "unexpected": list(self.unexpected),
                "mismatched": [[k, list(a), list(b)] for k, a, b in self.mismatched]}


@dataclass
class ModelSource:
    """A model ready for inference and the facts that go with its weights.

    It holds a live `nn.Module`: it stays on the thread that uses it (a worker, under a
    `ModelSourceCache.lease`); what reaches a window is plain data taken from it."""

    model: nn.Module  # eval mode, CPU
    spec: ArchSpec
    kind: str  # one of KINDS
    label: str  # for people: "ImageNet weights (ResNet18_Weights.IMAGENET1K_V1, torchvision)"
    categories: tuple[str, ...]  # class names, index = class
    preprocess: Preprocess
    path: Path | None = None  # the weights file, if any
    weights_name: str | None = None  # torchvision enum member, e.g. "ResNet18_Weights.IMAGENET1K_V1"
    report: LoadReport | None = None  # how the state_dict fitted (state_dict/checkpoint kinds)
    meta: dict[str, Any] = field(default_factory=dict)  # accuracy, run id, step, dataset...

    @property
    def num_classes(self) -> int:
        return self.spec.num_classes

    @property
    def pretrained(self) -> bool:
        return self.kind != "random"

    def describe(self) -> str:
        return f"{self.spec.name}: {self.label}"


def _shape(s) -> str:
    return "×".join(str(v) for v in s) or "scalar"


# -- what a source takes from its architecture ------------------------------------------------

def same_arch(a: ArchSpec, b: ArchSpec, *, ignore_io: bool = False) -> bool:
    """The same network up to its name (and, with `ignore_io`, its input channels and classes);
    the shortcut strength α has no weights, so a preset's weights fit its α-scaled versions."""
    changes = {"name": "", "notes": "", "shortcut_scale": 1.0}
    if ignore_io:
        changes.update(in_channels=3, num_classes=1)
    return replace(a, **changes) == replace(b, **changes)


def describe_spec(spec: ArchSpec) -> str:
    """'resnet50 (bottleneck blocks 3-4-6-3, widths 64-128-256-512, 1000 classes)'."""
    kind = ("pre-activation " if spec.preact else "") + f"{spec.block} blocks"
    extra = f", groups {spec.groups}×{spec.width_per_group}" if spec.block == "bottleneck" and \
        (spec.groups, spec.width_per_group) != (1, 64) else ""
    sc = {"none": "no shortcuts", "A": "zero-pad shortcuts", "B": "projection shortcuts",
          "C": "projection everywhere"}[spec.shortcut] if spec.shortcut in \
        ("none", "A", "B", "C") else spec.shortcut
    return (f"{spec.name} ({kind} {'-'.join(map(str, spec.layers))}, widths "
            f"{'-'.join(map(str, spec.widths))}{extra}, {spec.stem} stem, {sc}, "
            f"{spec.in_channels} input channels, {spec.num_classes} classes)")


def matching_presets(spec: ArchSpec, *, ignore_io: bool = False) -> list[str]:
    """Preset names with exactly this architecture."""
    return [name for name, p in PRESETS.items() if same_arch(p.spec, spec, ignore_io=ignore_io)]


def torchvision_name(spec: ArchSpec) -> str | None:
    """The torchvision builder whose weights fit `spec` (same architecture), if any."""
    for p in PRESETS.values():
        if p.torchvision and same_arch(p.spec, spec):
            return p.torchvision
    return None


def resolve_spec(model: str | ArchSpec) -> ArchSpec:
    """A preset name (any spelling `zoo.resolve_name` accepts) or a spec .json file."""
    if isinstance(model, ArchSpec):
        return model
    p = Path(model).expanduser()
    if model.endswith(".json") or p.is_file():
        return ArchSpec.load(p)
    return get_spec(model)


def default_categories(spec: ArchSpec) -> tuple[str, ...]:
    """Class names when the weights do not bring their own: ImageNet's for 1000 classes,
    CIFAR-10's for a 10-class CIFAR-stem net, otherwise 'class 0', 'class 1', ..."""
    if spec.num_classes == 1000:
        from torchvision.models import ResNet18_Weights

        return tuple(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])
    if spec.num_classes == 10 and spec.stem == "cifar":
        return CIFAR10_CLASSES
    return tuple(f"class {i}" for i in range(spec.num_classes))


def default_preprocess(spec: ArchSpec) -> Preprocess:
    pre = preprocess_for_dataset("imagenet" if spec.stem == "imagenet" else "cifar10")
    if spec.in_channels == 1:
        pre = replace(pre, mean=pre.mean[:1], std=pre.std[:1], channels=1)
    return pre


def model_from_state(spec: ArchSpec, state: Mapping[str, torch.Tensor]) -> nn.Module:
    """Strictly load a complete state_dict; builds on the meta device and adopts the tensors,
    so no time is spent on a random init that is overwritten at once."""
    model = build_model(spec, "meta")
    model.load_state_dict({k: v.float() if v.is_floating_point() else v
                           for k, v in state.items()}, strict=True, assign=True)
    return model.eval()
