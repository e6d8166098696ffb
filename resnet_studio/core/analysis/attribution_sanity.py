"""The sanity check of Adebayo et al. 2018 ("Sanity Checks for Saliency Maps"): cascading model
randomisation.

`cascading_randomization(...)` re-initialises the network from the head down (fc, layer4,
layer3, ...) on a copy, recomputes the map after each step and reports its Spearman rank
correlation with the original map; a method whose maps stay similar after most of the network
is random is flagged: what it shows does not come from what the network learnt.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from resnet_studio.core.analysis.attribution import attribute
from resnet_studio.core.analysis.attribution_models import find_layer
from resnet_studio.core.common.progress import Progress, ProgressFn


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two arrays (flattened; ties get their average rank)."""
    ra, rb = _ranks(np.ravel(a)), _ranks(np.ravel(b))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = math.sqrt(float((ra * ra).sum()) * float((rb * rb).sum()))
    return float((ra * rb).sum() / den) if den > 0 else 0.0


def _ranks(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="mergesort")
    sorted_v = v[order]
    ranks = np.empty(len(v), dtype=np.float64)
    # average ranks over runs of equal values
    starts = np.flatnonzero(np.r_[True, sorted_v[1:] != sorted_v[:-1]])
    ends = np.r_[starts[1:], len(v)]
    avg = (starts + ends - 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


@dataclass
class SanityStep:
    randomized: str  # the module re-initialised at this step ("fc", "layer4", ...)
    spearman_abs: float  # rank correlation of |map| with the original |map|
    spearman_signed: float  # rank correlation of the signed maps


@dataclass
class SanityReport:
    """The rank correlations after each randomisation step: plain data."""

    method: str
    noise_tunnel: str | None
    target: int
    steps: list[SanityStep] = field(default_factory=list)
    threshold: float = 0.8
    # the maps themselves (C x H x W): the original's, then one per step (to show the cascade)
    maps: list[np.ndarray] = field(default_factory=list, repr=False)

    @property
    def flagged(self) -> bool:
        """The maps stay similar (rank correlation above `threshold`) after at least half of
        the network was randomised: the method does not depend much on the weights."""
        late = self.steps[len(self.steps) // 2:] if len(self.steps) > 1 else self.steps
        return any(s.spearman_abs > self.threshold for s in late)

    def to_dict(self) -> dict:
        return {"method": self.method, "noise_tunnel": self.noise_tunnel, "target": self.target,
                "threshold": self.threshold, "flagged": self.flagged,
                "steps": [vars(s) for s in self.steps]}


def randomization_order(model: nn.Module) -> list[str]:
    """Top-level modules with parameters, from the head down (fc, layer4, ..., bn1, conv1)."""
    return [n for n, m in reversed(list(model.named_children()))
            if any(True for _ in m.parameters())]


def _reinit(module: nn.Module) -> None:
    for m in module.modules():
        if m is not module or not any(True for _ in m.children()):
            reset = getattr(m, "reset_parameters", None)
            if callable(reset):
                reset()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.1)
            nn.init.normal_(m.bias, 0.0, 0.1)


def _map2d(a: np.ndarray, absolute: bool) -> np.ndarray:
    return np.abs(a).sum(0) if absolute else a.sum(0)


def cascading_randomization(model: nn.Module, x: torch.Tensor, method: str, *,
                            target: int | str | None = None, noise_tunnel: str | None = None,
                            layers: Sequence[str] | None = None, threshold: float = 0.8,
                            seed: int = 0, mean: Sequence[float] | None = None,
                            std: Sequence[float] | None = None,
                            progress: Progress | ProgressFn | None = None,
                            **params) -> SanityReport:
    """Re-initialise `layers` (default `randomization_order(model)`) one after another on a
    copy of the model, cumulatively, recomputing the attribution after each. Progress counts
    the maps (the original's, then one per step); every internal batch can cancel."""
    progress = Progress.of(progress)
    net = copy.deepcopy(model).eval()
    order = list(layers) if layers is not None else randomization_order(net)
    total = len(order) + 1

    def one_map(i: int, text: str, target):
        progress(i, total, text)
        return attribute(net, x, method, target=target, noise_tunnel=noise_tunnel, mean=mean,
                         std=std, progress=progress.span(i, i + 1, total), text=text, **params)

    base = one_map(0, "original model", target)
    out = SanityReport(method=method, noise_tunnel=noise_tunnel, target=base.target,
                       threshold=threshold)
    out.maps.append(base.attribution)
    ref_abs, ref_signed = _map2d(base.attribution, True), _map2d(base.attribution, False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i, name in enumerate(order, 1):
            _reinit(find_layer(net, name))
            r = one_map(i, f"randomised down to {name}", base.target)
            out.maps.append(r.attribution)
            out.steps.append(SanityStep(
                randomized=name,
                spearman_abs=spearman(ref_abs, _map2d(r.attribution, True)),
                spearman_signed=spearman(ref_signed, _map2d(r.attribution, False))))
    progress(total, total, "sanity check done")
    return out
