"""The model as attribution methods need it: a copy whose ReLUs can be hooked, and layers by name.

DeepLift, guided backprop, deconvolution and guided Grad-CAM hook the model's ReLU modules; they
run on a copy (`prepare_model`) whose ReLUs are not in place and where a ReLU module called
several times per forward pass (this app's blocks reuse `self.relu`) is split into one module
per call. The caller's model is never changed.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from resnet_studio.core.analysis.features import block_names


class _PerCallReLU(nn.Module):
    """Stands in for a ReLU module called `n` times per forward pass: the k-th call goes to its
    own `nn.ReLU` child, so hooks that keep per-module state (DeepLift) see each call once."""

    def __init__(self, n: int):
        super().__init__()
        self.relus = nn.ModuleList(nn.ReLU(inplace=False) for _ in range(n))
        self.calls = 0

    def forward(self, x):
        relu = self.relus[self.calls % len(self.relus)]
        self.calls += 1
        return relu(x)


def _reset_calls(module: nn.Module, _inputs) -> None:
    for m in module.modules():
        if isinstance(m, _PerCallReLU):
            m.calls = 0


def prepare_model(model: nn.Module, input_shape: Sequence[int] | None = None) -> nn.Module:
    """A copy of `model` in eval mode whose ReLUs are not in place, with every ReLU module that
    is called more than once per forward pass split into one module per call."""
    twin = copy.deepcopy(model).eval()
    for m in twin.modules():
        if isinstance(m, nn.ReLU):
            m.inplace = False
    shape = tuple(input_shape) if input_shape is not None else _default_shape(twin)
    counts: dict[nn.Module, int] = {}

    def count(module, _inputs):
        counts[module] = counts.get(module, 0) + 1

    relus = [m for m in twin.modules() if isinstance(m, nn.ReLU)]
    handles = [m.register_forward_pre_hook(count) for m in relus]
    try:
        p = next(twin.parameters(), None)
        device = p.device if p is not None else torch.device("cpu")
        with torch.no_grad():
            twin(torch.zeros((1, *shape), device=device))
    finally:
        for h in handles:
            h.remove()
    shared = {m: n for m, n in counts.items() if n > 1}
    if shared:
        for parent in list(twin.modules()):
            for name, child in list(parent.named_children()):
                if child in shared:
                    setattr(parent, name, _PerCallReLU(shared[child]))
        twin.register_forward_pre_hook(_reset_calls)
    return twin


def _default_shape(model: nn.Module) -> tuple[int, int, int]:
    spec = getattr(model, "spec", None)
    if spec is not None and getattr(spec, "default_input", None):
        return tuple(spec.default_input)
    first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return (first.in_channels if first is not None else 3, 64, 64)


def default_layer(model: nn.Module) -> str:
    """The last residual block (or, for other nets, the last conv layer)."""
    blocks = block_names(model)
    if blocks:
        return blocks[-1]
    convs = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError("this model has no conv layer for Grad-CAM")
    return convs[-1]


def gradcam_layers(model: nn.Module) -> list[str]:
    """The layers Grad-CAM can look at: the residual blocks, last first, then the convs."""
    return block_names(model)[::-1] + [n for n, m in model.named_modules()
                                       if isinstance(m, nn.Conv2d)][::-1]


def find_layer(model: nn.Module, name: str) -> nn.Module:
    """The module called `name`; KeyError (naming a few blocks) if there is none."""
    modules = dict(model.named_modules())
    if name not in modules or not name:
        raise KeyError(f"no layer '{name}' in this model (e.g. {', '.join(block_names(model)[-3:])})")
    return modules[name]
