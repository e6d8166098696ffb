"""Naming a model the way users do: a preset ("resnet56", "plain-56"), or a spec JSON file,
with or without its plain twin; and an input size typed as text."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resnet_studio.core.spec import ArchSpec


def load_spec(model: str, plain: bool = False) -> ArchSpec:
    """A preset name or a path to a spec JSON file; `plain` gives its plain twin."""
    from resnet_studio.core.spec import ArchSpec
    from resnet_studio.core.zoo import get_spec

    if model.endswith(".json") or Path(model).is_file():
        spec = ArchSpec.load(model)
        return spec.plain_twin() if plain else spec
    return get_spec(model, plain=plain)


def parse_input_shape(text: str) -> tuple[int, ...]:
    """ "3,32,32" or "3x32x32" -> (3, 32, 32)."""
    try:
        return tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        raise ValueError(f"--input must be C,H,W numbers, got '{text}'") from None
