"""ArchSpec: one serialisable description from which every ResNet variant is built."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from resnet_studio.core.common.dataclass_json import FieldError, JsonDataclass, JsonFormat

BLOCKS = ("basic", "bottleneck")
STEMS = ("imagenet", "cifar")
# A: identity, zero-padded channels + strided subsampling where the shape changes (no params).
# B: identity, 1x1 projection + BN where the shape changes (torchvision). C: projection everywhere.
SHORTCUTS = ("A", "B", "C", "none")
NORMS = ("batch", "none")
EXPANSION = {"basic": 1, "bottleneck": 4}
# Ceilings far above any real ResNet (ResNet-1202: 200 blocks a stage; Wide ResNet: width 2048):
# they refuse numbers that would only hang the app (a stage of 10^18 blocks). The form's
# spin boxes stop at the same values.
LIMITS = {"layers": 1000, "widths": 16384, "groups": 4096, "width_per_group": 8192,
          "in_channels": 1024, "num_classes": 1_000_000}


class SpecError(FieldError):
    """An impossible combination; `field` names the field to change (for inline errors)."""


@dataclass(frozen=True)
class ArchSpec(JsonDataclass):
    JSON: ClassVar[JsonFormat] = JsonFormat("resnet-studio/arch-spec", 1, SpecError, "spec")

    name: str = "custom"
    block: str = "basic"
    layers: tuple[int, ...] = (2, 2, 2, 2)
    widths: tuple[int, ...] = (64, 128, 256, 512)
    groups: int = 1
    width_per_group: int = 64
    stem: str = "imagenet"
    shortcut: str = "B"
    preact: bool = False
    norm: str = "batch"
    in_channels: int = 3
    num_classes: int = 1000
    zero_init_residual: bool = False
    # α in y = F(x) + α·shortcut(x): 1 is the residual net, 0 its plain twin's gradients (the
    # shortcut's weights stay, contributing nothing); a dial between the two, never above 1.
    shortcut_scale: float = 1.0
    notes: str = field(default="", compare=False)

    # -- derived facts -------------------------------------------------------------------
    @property
    def expansion(self) -> int:
        return EXPANSION[self.block]

    @property
    def plain(self) -> bool:
        return self.shortcut == "none"

    @property
    def depth(self) -> int:
        """Weighted layers as the papers count them: stem conv + convs in blocks + fc."""
        convs_per_block = 2 if self.block == "basic" else 3
        return 1 + convs_per_block * sum(self.layers) + 1

    @property
    def default_input(self) -> tuple[int, int, int]:
        side = 224 if self.stem == "imagenet" else 32
        return (self.in_channels, side, side)

    @property
    def min_input_side(self) -> int:
        """Smallest square input that survives every downsampling with at least 1 pixel."""
        return (4 if self.stem == "imagenet" else 1) * 2 ** (len(self.layers) - 1)

    def with_shortcut(self, shortcut: str) -> ArchSpec:
        return replace(self, shortcut=shortcut)

    def plain_twin(self) -> ArchSpec:
        """The same stack with every shortcut removed (He et al. 2015's "plain" network)."""
        if self.plain:
            return self
        return replace(self, shortcut="none", zero_init_residual=False, shortcut_scale=1.0,
                       name=plain_name(self.name))

    # -- validation ----------------------------------------------------------------------
    def errors(self) -> list[SpecError]:
        """Every impossible combination, each tied to the field the user should change."""
        errs: list[SpecError] = []
        add = lambda f, m: errs.append(SpecError(f, m))
        if self.block not in BLOCKS:
            add("block", f"must be one of {', '.join(BLOCKS)}")
        if self.stem not in STEMS:
            add("stem", f"must be one of {', '.join(STEMS)}")
        if self.shortcut not in SHORTCUTS:
            add("shortcut", f"must be one of {', '.join(SHORTCUTS)}")
        if self.norm not in NORMS:
            add("norm", f"must be one of {', '.join(NORMS)}")
        if not 1 <= len(self.layers) <= 6:
            add("layers", "needs between 1 and 6 stages")
        if any(n < 1 for n in self.layers):
            add("layers", "every stage needs at least one block")
        if len(self.widths) != len(self.layers):
            add("widths", f"needs one width per stage ({len(self.layers)}), got {len(self.widths)}")
        if any(w < 1 for w in self.widths):
            add("widths", "widths must be positive")
        for name in ("groups", "width_per_group", "in_channels", "num_classes"):
            if getattr(self, name) < 1:
                add(name, "must be at least 1")
        for name, most in LIMITS.items():
            value = getattr(self, name)
            each = isinstance(value, tuple)
            if max(value if each else (value,), default=0) > most:
                add(name, f"{'each ' if each else ''}must be at most {most:,}")
        if self.block == "basic" and (self.groups != 1 or self.width_per_group != 64):
            add("groups", "grouped / wide convolutions need the bottleneck block "
                "(basic blocks take groups=1, width per group=64)")
        if self.shortcut == "A" and self.block in BLOCKS and len(self.widths) == len(self.layers):
            outs = [self.widths[0]] + [w * self.expansion for w in self.widths]
            if any(b < a for a, b in zip(outs, outs[1:])):
                add("shortcut", "zero-padding (A) can only add channels, but a stage narrows; "
                    "use projection (B)")
        if self.zero_init_residual and self.shortcut == "none":
            add("zero_init_residual", "zeroing the last BN of a block without a shortcut "
                "makes the network output constant")
        if not 0.0 <= self.shortcut_scale <= 1.0:
            add("shortcut_scale", "must be between 0 (plain) and 1 (residual)")
        elif self.shortcut == "none" and self.shortcut_scale != 1.0:
            add("shortcut_scale", "a plain network has no shortcut to scale (set it to 1)")
        elif self.zero_init_residual and self.shortcut_scale == 0.0:
            add("zero_init_residual", "with the shortcut scaled to 0, zeroing each block's "
                "last BN makes the network output constant")
        if self.zero_init_residual and self.norm == "none":
            add("zero_init_residual", "needs BatchNorm (it zeroes each block's last BN)")
        return errs

    def save(self, path: str | Path) -> None:
        from resnet_studio.core.common.files import write_text_atomic

        write_text_atomic(Path(path), self.to_json() + "\n")


def plain_name(name: str) -> str:
    return name if name.startswith("plain_") else f"plain_{name}"
