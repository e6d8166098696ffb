"""Naming a model the way users do: a preset ("resnet56", "plain-56") or a spec JSON file,
with or without its plain twin. (An input size typed as text: `app.summary.parse_input`.)"""

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
