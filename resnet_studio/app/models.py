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


def load_model(model: str | ArchSpec | None, *, plain: bool = False, weights: str | None = None,
               download: bool = True):
    """A `ModelSource` (the model in eval mode on the CPU, its spec, classes, preprocessing):
    `model` a preset, a spec file or an ArchSpec (its plain twin with `plain`), with random
    weights (seed 0) unless `weights` names others ("imagenet", a checkpoint, a state_dict);
    `model` may be None when `weights` is a checkpoint of this app."""
    from resnet_studio.core.weights import load_model_source

    if model is None and weights is None:
        raise ValueError("name a model (e.g. resnet20), or a checkpoint with --weights")
    if isinstance(model, str):
        spec = load_spec(model, plain)
    else:
        spec = model.plain_twin() if model is not None and plain else model
    return load_model_source(spec, weights or "random", download=download)
