"""Shortcut strength α: y = F(x) + α·shortcut(x), the dial from a residual net's plain twin
(α = 0) to the residual net itself (α = 1), measured at initialisation.

At α = 0 every shortcut still runs but adds nothing, so the gradients of the main path are the
plain twin's with the same weights (a projection shortcut's convs get a zero gradient); at α = 1
the net is the residual one bit for bit. In between, the "1 +" of He et al. 2016's
∂L/∂x_l = ∂L/∂x_L · (1 + ∂/∂x_l Σ F) becomes "α +", and the first-to-last gradient ratio of a
deep batch-normalised stack falls from the plain net's (plain-56 ≈ 8e3) towards the residual
one's (≈ 33) as α grows.

`ShortcutDial` keeps one model at its initial weights and one batch and measures it at any α by
changing only the blocks' scale (`set_shortcut_scale`): two profiles differ in α alone, and a new
α costs one forward + backward (no model build, no new batch). Its `measure` holds a lock, so
calls from several worker threads take turns on the one model.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import torch

from resnet_studio.core.analysis.gradients import (
    NetGradients,
    build_seeded,
    measure,
    plain_twin_of,
    random_batch,
)
from resnet_studio.core.common.progress import Progress
from resnet_studio.core.inspect import check_input
from resnet_studio.core.models.builder import set_shortcut_scale
from resnet_studio.core.spec import ArchSpec


@dataclass
class AlphaProfile:
    """One α's measurement: the net's gradients and responses through depth."""

    alpha: float
    net: NetGradients


class ShortcutDial:
    """A residual net at its initial weights (a pure function of the seed) and one random
    batch, measured at any shortcut strength α (see the module doc)."""

    def __init__(self, spec: ArchSpec, *, seed: int = 0, batch_size: int = 128,
                 input_shape: tuple[int, int, int] | None = None,
                 device: str | torch.device = "cpu"):
        spec = spec.validate()
        if spec.plain:
            raise ValueError(f"{spec.name} is a plain network: it has no shortcut to scale; "
                             "choose a residual one")
        if batch_size < 2 and spec.norm == "batch":
            raise ValueError("BatchNorm in train mode needs a batch of at least 2 images")
        shape = tuple(input_shape or spec.default_input)
        check_input(spec, shape)
        self.spec = replace(spec, shortcut_scale=1.0)
        self.seed = seed
        self.images, self.labels = random_batch(spec, batch_size, shape, seed, device)
        self.batch_source = (f"{batch_size} random N(0,1) images {'x'.join(map(str, shape))}, "
                             f"random labels (seed {seed})")
        self.model = build_seeded(self.spec, seed, device)
        self._lock = threading.Lock()

    def measure(self, alpha: float, progress: Progress | None = None) -> NetGradients:
        """The net at shortcut strength `alpha` (0 ≤ α ≤ 1; ValueError otherwise)."""
        progress = Progress.of(progress)
        with self._lock:
            progress.check()  # a superseded call waiting for the lock gives up here
            set_shortcut_scale(self.model, alpha)
            return measure(self.model, self.images, self.labels)

    def plain_twin(self) -> tuple[NetGradients, list[str]]:
        """The plain twin on the same batch with the same weights (the α-independent reference),
        and the state_dict keys it shares with the net."""
        with self._lock:
            twin, shared = plain_twin_of(self.model, self.spec)
            return measure(twin, self.images, self.labels), shared


def alpha_profiles(spec: ArchSpec, alphas: list[float], *, seed: int = 0, batch_size: int = 128,
                   input_shape: tuple[int, int, int] | None = None,
                   progress: Progress | None = None) -> tuple[ShortcutDial, list[AlphaProfile]]:
    """One profile per α, in the order given: the same initial weights and batch for each."""
    progress = Progress.of(progress)
    if spec.plain:
        raise ValueError(f"{spec.name} is a plain network: it has no shortcut to scale; "
                         "choose a residual one")
    for a in alphas:
        replace(spec, shortcut_scale=float(a)).validate()  # refuse a bad α before any work
    dial = ShortcutDial(spec, seed=seed, batch_size=batch_size, input_shape=input_shape)
    out = []
    for i, a in enumerate(alphas):
        progress(i, len(alphas), f"measuring α = {a:g}")
        out.append(AlphaProfile(float(a), dial.measure(a, progress)))
    progress(len(alphas), len(alphas), "measured")
    return dial, out


__all__ = ["AlphaProfile", "ShortcutDial", "alpha_profiles"]
