"""Freshly initialised weights: a model to compare trained ones with, labelled as such."""

from __future__ import annotations

import torch

from resnet_studio.core.memory import check_model_memory
from resnet_studio.core.models.builder import build_model
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.weights.source import (
    RANDOM_LABEL,
    ModelSource,
    default_categories,
    default_preprocess,
    resolve_spec,
)


def random_source(spec: ArchSpec | str, *, seed: int | None = 0) -> ModelSource:
    """Freshly initialised weights (torchvision's init), reproducible for a given seed."""
    spec = resolve_spec(spec)
    check_model_memory(spec)
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        model = build_model(spec).eval()
    return ModelSource(model=model, spec=spec, kind="random", label=RANDOM_LABEL,
                       categories=default_categories(spec), preprocess=default_preprocess(spec),
                       meta={"seed": seed})
