"""Named presets: torchvision's ImageNet ResNets, the CIFAR nets of He et al. 2015, the
pre-activation nets of He et al. 2016, and the plain (no-shortcut) twin of every one.

Imports no torch, so the window can list presets before the heavy imports finish."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from resnet_studio.core.spec import ArchSpec, plain_name

IMAGENET_WIDTHS = (64, 128, 256, 512)
CIFAR_WIDTHS = (16, 32, 64)


@dataclass(frozen=True)
class Preset:
    spec: ArchSpec
    family: str  # shown as the sidebar group
    reference: str = ""  # where the numbers the app must reproduce come from
    torchvision: str | None = None  # torchvision builder name whose state_dict keys we keep

    @property
    def name(self) -> str:
        return self.spec.name


def _imagenet(name, block, layers, *, groups=1, wpg=64, preact=False, note=""):
    return ArchSpec(name=name, block=block, layers=layers, widths=IMAGENET_WIDTHS, groups=groups,
                    width_per_group=wpg, stem="imagenet", shortcut="B", preact=preact,
                    num_classes=1000, notes=note)


def _cifar(name, block, n, *, preact=False, shortcut="A", note=""):
    return ArchSpec(name=name, block=block, layers=(n, n, n), widths=CIFAR_WIDTHS, stem="cifar",
                    shortcut=shortcut, preact=preact, num_classes=10, notes=note)


def _presets() -> list[Preset]:
    out: list[Preset] = []
    tv = "torchvision IMAGENET1K_V1"
    for depth, block, layers in [(18, "basic", (2, 2, 2, 2)), (34, "basic", (3, 4, 6, 3)),
                                 (50, "bottleneck", (3, 4, 6, 3)),
                                 (101, "bottleneck", (3, 4, 23, 3)),
                                 (152, "bottleneck", (3, 8, 36, 3))]:
        name = f"resnet{depth}"
        out.append(Preset(_imagenet(name, block, layers), "ResNet (ImageNet)", tv, name))
    for name, layers, groups, wpg in [("resnext50_32x4d", (3, 4, 6, 3), 32, 4),
                                      ("resnext101_32x8d", (3, 4, 23, 3), 32, 8),
                                      ("resnext101_64x4d", (3, 4, 23, 3), 64, 4)]:
        out.append(Preset(_imagenet(name, "bottleneck", layers, groups=groups, wpg=wpg),
                          "ResNeXt", tv, name))
    for name, layers in [("wide_resnet50_2", (3, 4, 6, 3)), ("wide_resnet101_2", (3, 4, 23, 3))]:
        out.append(Preset(_imagenet(name, "bottleneck", layers, wpg=128), "Wide ResNet", tv, name))
    for depth in (20, 32, 44, 56, 110, 1202):
        n = (depth - 2) // 6
        out.append(Preset(_cifar(f"resnet{depth}", "basic", n,
                                 note="He et al. 2015 Table 6, option A shortcuts"),
                          "ResNet (CIFAR)", "He et al. 2015, Table 6"))
    for depth, block, layers in [(18, "basic", (2, 2, 2, 2)), (34, "basic", (3, 4, 6, 3)),
                                 (50, "bottleneck", (3, 4, 6, 3)),
                                 (101, "bottleneck", (3, 4, 23, 3)),
                                 (152, "bottleneck", (3, 8, 36, 3))]:
        out.append(Preset(_imagenet(f"preact_resnet{depth}", block, layers, preact=True),
                          "Pre-activation (ImageNet)", "He et al. 2016"))
    for depth in (20, 56, 110):
        out.append(Preset(_cifar(f"preact_resnet{depth}", "basic", (depth - 2) // 6, preact=True,
                                 shortcut="B"), "Pre-activation (CIFAR)", "He et al. 2016"))
    for depth in (164, 1001):
        out.append(Preset(_cifar(f"preact_resnet{depth}", "bottleneck", (depth - 2) // 9,
                                 preact=True, shortcut="B",
                                 note="bottleneck, He et al. 2016 Table 2"),
                          "Pre-activation (CIFAR)", "He et al. 2016"))
    twins = [Preset(p.spec.plain_twin(), "Plain twins", "shortcut removed") for p in out]
    return out + twins


PRESETS: dict[str, Preset] = {p.name: p for p in _presets()}


def preset_names() -> list[str]:
    return list(PRESETS)


def resolve_name(name: str) -> str:
    """Accepts the listed names plus the papers' spellings: plain-56, plain56, ResNet-20."""
    key = name.strip().lower().replace("-", "")
    if key in PRESETS:
        return key
    m = re.fullmatch(r"plain_?(\d+)", key)
    if m and f"plain_resnet{m.group(1)}" in PRESETS:
        return f"plain_resnet{m.group(1)}"
    for candidate in (key.replace("resnet", "resnet", 1), name.strip()):
        if candidate in PRESETS:
            return candidate
    close = [n for n in PRESETS if key in n][:5]
    hint = f" Did you mean: {', '.join(close)}?" if close else " Run `resnet-studio models`."
    raise KeyError(f"unknown model '{name}'.{hint}")


def get_spec(name: str, *, plain: bool = False) -> ArchSpec:
    spec = PRESETS[resolve_name(name)].spec
    return spec.plain_twin() if plain else spec


def get_preset(name: str) -> Preset:
    return PRESETS[resolve_name(name)]


def with_io(spec: ArchSpec, *, in_channels: int | None = None,
            num_classes: int | None = None) -> ArchSpec:
    """The same architecture for another dataset (e.g. 1-channel MNIST, 100 classes)."""
    changes = {}
    if in_channels is not None:
        changes["in_channels"] = in_channels
    if num_classes is not None:
        changes["num_classes"] = num_classes
    return replace(spec, **changes)


__all__ = ["PRESETS", "Preset", "get_preset", "get_spec", "plain_name", "preset_names",
           "resolve_name", "with_io"]
