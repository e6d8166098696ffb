"""He et al. 2015, Fig. 7 on trained nets: the standard deviation of every layer's response.

"The responses are the outputs of each 3×3 layer, after BN and before other nonlinearity
(ReLU/addition)": for a post-activation net that is the stem's BN and every BN of a block's
branch (the last one is read before the addition); for a pre-activation block, where the BN
comes before its conv, the branch convs' outputs (what is added). Shortcut projections are not
layers of Fig. 7. BatchNorm runs in eval mode with the trained running statistics: in train
mode every BN output has std ≈ 1 by construction (core.analysis.gradients's note), which is
why the figure needs trained weights. The std is over the whole response tensor (batch,
channels, positions) of one batch of real images.

What the paper sees, and `ResponseProfile.mean` (every layer) and `.branch_mean` (the blocks'
last layers, the residual functions' outputs) summarise: ResNets respond less than their
plain counterparts, and deeper ResNets less still (each residual function is a small
correction to the identity).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from resnet_studio.core.analysis.gradients import iter_blocks
from resnet_studio.core.models.blocks import PreActBlock


@dataclass(frozen=True)
class ResponseProfile:
    """One net's layer responses, in forward order (layer 1 = the stem)."""

    label: str  # what a legend shows: "ResNet-56", "plain-20", a run's name
    model: str  # the spec's name
    plain: bool
    depth: int  # the spec's weighted layers
    layers: tuple[str, ...]  # module names, e.g. "layer1.0.bn2"
    stds: tuple[float, ...]
    ends_branch: tuple[bool, ...]  # the layer ends a block's branch (read before the addition)

    @property
    def mean(self) -> float:
        """Over every layer of the figure."""
        return _mean(self.stds)

    @property
    def branch_mean(self) -> float:
        """Over the blocks' last layers only: the residual functions' outputs F(x) (the
        plain net's same layers), where the paper's reading applies most directly."""
        return _mean([s for s, end in zip(self.stds, self.ends_branch) if end])

    @property
    def ranked(self) -> tuple[float, ...]:
        """The paper's bottom panel: the stds in descending order."""
        return tuple(sorted(self.stds, reverse=True))

    def to_dict(self) -> dict:
        return {"label": self.label, "model": self.model, "plain": self.plain,
                "depth": self.depth, "mean_std": self.mean, "branch_mean_std": self.branch_mean,
                "layers": list(self.layers), "stds": list(self.stds),
                "ends_branch": list(self.ends_branch)}


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def response_layers(model: nn.Module) -> list[tuple[str, nn.Module, bool]]:
    """(name, module, ends the branch) of every Fig. 7 layer in forward order (module doc)."""
    out: list[tuple[str, nn.Module, bool]] = []
    if hasattr(model, "bn1") and not getattr(model.spec, "preact", False):
        out.append(("bn1", model.bn1, False))
    for bid, _, _, blk in iter_blocks(model):
        preact = isinstance(blk, PreActBlock)
        mine = [(name, m) for name, m in blk.named_children()
                if (isinstance(m, nn.Conv2d) if preact else name.startswith("bn"))]
        out += [(f"{bid}.{name}", m, i == len(mine) - 1) for i, (name, m) in enumerate(mine)]
    return out


@torch.no_grad()
def measure_responses(model: nn.Module, images: torch.Tensor, *, label: str = "") -> ResponseProfile:
    """Every layer's response std on `images` (already normalised), BN in eval mode; the model's
    mode is restored afterwards."""
    layers = response_layers(model)
    stds: dict[str, float] = {}

    def keep(name):
        def hook(_mod, _args, out):
            # read now: the ReLU after it works in place
            stds[name] = float(out.detach().float().std())
        return hook

    handles = [m.register_forward_hook(keep(n)) for n, m, _ in layers]
    was_training = model.training
    model.eval()
    try:
        model(images)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    spec = model.spec
    return ResponseProfile(label=label or spec.name, model=spec.name, plain=spec.plain,
                           depth=spec.depth, layers=tuple(n for n, _, _ in layers),
                           stds=tuple(stds[n] for n, _, _ in layers),
                           ends_branch=tuple(end for _, _, end in layers))


__all__ = ["ResponseProfile", "measure_responses", "response_layers"]
