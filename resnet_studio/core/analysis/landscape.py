"""Loss landscapes (Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets").

The training loss is evaluated at weights w + a·δ (1-D) or w + a·δ + b·η (2-D) around trained
weights w, along random Gaussian directions normalised filter by filter: every filter (output
unit) of every conv and linear weight is rescaled to the norm of the same filter of w, so that
the picture does not depend on the weights' scale (which BatchNorm makes arbitrary). BatchNorm
parameters and biases - every parameter with fewer than 2 dimensions - get a zero direction.

The loss is the mean cross-entropy over a fixed set of training batches, with the network in
eval mode: BatchNorm normalises with the trained running statistics, as in Li et al.'s own code
(`net.eval()`), so a point's loss is a function of the weights alone, and the origin of every
slice is the trained model's eval-mode loss on the same batches.

A 2-D grid is computed coarse to fine in place: first every 4th point, then every 2nd, then the
rest (`refinement_strides`), each level reusing the points already computed, so a picture is on
screen after a few dozen forward passes. `interpolation_line` is the 1-D line from the initial
weights to the trained ones (Goodfellow et al. 2015): parameters and BatchNorm running statistics
both move linearly from their initial values to the trained ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from resnet_studio.core.common.progress import Progress

Batches = Sequence[tuple[torch.Tensor, torch.Tensor]]
OnLevel = Callable[[np.ndarray], None]  # a copy of the surface so far (NaN: not yet computed)


def is_perturbed(param: torch.Tensor) -> bool:
    """Conv and linear weights are perturbed; BatchNorm weights and every bias are not."""
    return param.dim() > 1


def filter_normalized_direction(model: nn.Module, generator: torch.Generator) -> list[torch.Tensor]:
    """One random direction, a tensor per parameter of `model` (in `parameters()` order).

    Gaussian entries; each filter d_i of a conv/linear weight rescaled to ‖w_i‖ (the norm of the
    same filter of the weight, dim 0 indexing filters); zero for BatchNorm and bias parameters."""
    direction = []
    for p in model.parameters():
        w = p.detach()
        if not is_perturbed(w):
            direction.append(torch.zeros_like(w))
            continue
        d = torch.randn(w.shape, generator=generator, dtype=w.dtype).to(w.device)
        d_norm = d.flatten(1).norm(dim=1).clamp_min(1e-12)
        w_norm = w.flatten(1).norm(dim=1)
        d.mul_((w_norm / d_norm).view(-1, *([1] * (w.dim() - 1))))
        direction.append(d)
    return direction


def random_directions(model: nn.Module, count: int, seed: int) -> list[list[torch.Tensor]]:
    """`count` filter-normalised directions from one seeded generator (the same seed, the same
    directions for the same architecture)."""
    generator = torch.Generator().manual_seed(seed)
    return [filter_normalized_direction(model, generator) for _ in range(count)]


def axis(points: int, span: float) -> np.ndarray:
    """`points` coordinates evenly spaced from -span to span (the origin is one when odd)."""
    if points < 2:
        raise ValueError("a slice needs at least 2 points a side")
    if not (span > 0 and np.isfinite(span)):
        raise ValueError("the span must be a positive number")
    return np.linspace(-span, span, points)


def refinement_strides(points: int) -> list[int]:
    """Coarse-to-fine strides through a grid of `points` a side: powers of two dividing
    points - 1, coarsest first, keeping at least 5 points a side at the coarsest level."""
    strides = [1]
    while (points - 1) % (strides[-1] * 2) == 0 and (points - 1) // (strides[-1] * 2) >= 4:
        strides.append(strides[-1] * 2)
    return strides[::-1]


class LossProbe:
    """The model's mean loss over fixed batches at weights moved from the trained ones.

    Only the perturbed parameters (conv/linear weights) are rewritten per point, in place, with
    foreach kernels: the cost of a point is the forward passes. `restore()` puts the trained
    weights back (also after an exception or a cancel)."""

    def __init__(self, model: nn.Module, batches: Batches):
        if not batches:
            raise ValueError("the landscape needs at least one batch")
        self.model = model.eval()
        self.batches = list(batches)
        params = list(model.parameters())
        self._index = [i for i, p in enumerate(params) if is_perturbed(p)]
        self._params = [params[i] for i in self._index]
        self._origin = [p.detach().clone() for p in self._params]

    @torch.no_grad()
    def loss(self) -> float:
        """Mean cross-entropy over the batches (weighted by batch size) at the current weights."""
        total = torch.zeros((), dtype=torch.float64, device=self._origin[0].device)
        count = 0
        for x, y in self.batches:
            total += F.cross_entropy(self.model(x).float(), y, reduction="sum").double()
            count += len(y)
        return float(total) / count

    @torch.no_grad()
    def loss_at(self, moves: Sequence[tuple[float, list[torch.Tensor]]]) -> float:
        """The loss at origin + Σ coefficient·direction (directions in `parameters()` order)."""
        torch._foreach_copy_(self._params, self._origin)
        for coefficient, direction in moves:
            if coefficient:
                torch._foreach_add_(self._params, [direction[i] for i in self._index],
                                    alpha=float(coefficient))
        return self.loss()

    @torch.no_grad()
    def restore(self) -> None:
        torch._foreach_copy_(self._params, self._origin)


def slice_1d(probe: LossProbe, direction: list[torch.Tensor], coords: np.ndarray,
             progress: Progress | None = None) -> np.ndarray:
    """The loss at each coordinate along one direction."""
    progress = Progress.of(progress)
    out = np.full(len(coords), np.nan)
    try:
        for i, a in enumerate(coords):
            progress(i, len(coords), f"1-D slice: point {i + 1}/{len(coords)}")
            out[i] = probe.loss_at([(a, direction)])
        progress(len(coords), len(coords), "1-D slice done")
    finally:
        probe.restore()
    return out


def slice_2d(probe: LossProbe, directions: tuple[list[torch.Tensor], list[torch.Tensor]],
             coords: np.ndarray, progress: Progress | None = None,
             on_level: OnLevel | None = None, surface: np.ndarray | None = None) -> np.ndarray:
    """The loss on the grid coords × coords (rows: the second direction, columns: the first),
    coarse to fine. `surface` continues a partly computed grid (its NaNs are computed);
    `on_level` gets a copy after each refinement level."""
    progress = Progress.of(progress)
    n = len(coords)
    surface = np.full((n, n), np.nan) if surface is None else surface
    todo = int(np.isnan(surface).sum())
    done = 0
    first, second = directions
    try:
        for stride in refinement_strides(n):
            for r in range(0, n, stride):
                for c in range(0, n, stride):
                    if not np.isnan(surface[r, c]):
                        continue
                    progress(done, todo, f"2-D slice: {done}/{todo} points "
                                         f"(every {stride} of {n}×{n})")
                    surface[r, c] = probe.loss_at([(coords[c], first), (coords[r], second)])
                    done += 1
            if on_level is not None:
                on_level(surface.copy())
        progress(todo, todo, "2-D slice done")
    finally:
        probe.restore()
    return surface


@torch.no_grad()
def interpolation_line(model: nn.Module, initial: dict[str, torch.Tensor], batches: Batches,
                       coords: np.ndarray, progress: Progress | None = None) -> np.ndarray:
    """The eval-mode loss at (1 - t)·initial + t·trained for each t in coords (t = 1: the trained
    model): every floating-point tensor of the state dict moves, BatchNorm statistics included."""
    progress = Progress.of(progress)
    trained = {k: v.detach().clone() for k, v in model.state_dict().items()}
    missing = [k for k in trained if k not in initial]
    if missing:
        raise ValueError(f"the initial weights lack {missing[0]}")
    probe = LossProbe(model, batches)
    out = np.full(len(coords), np.nan)
    try:
        for i, t in enumerate(coords):
            progress(i, len(coords), f"line from initialisation: point {i + 1}/{len(coords)}")
            model.load_state_dict({k: (torch.lerp(initial[k].to(v), v, float(t))
                                       if v.is_floating_point() else v)
                                   for k, v in trained.items()})
            out[i] = probe.loss()
        progress(len(coords), len(coords), "line from initialisation done")
    finally:
        model.load_state_dict(trained)
    return out


# -- roughness -----------------------------------------------------------------------------------

def _hessian_parts(surface: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Second differences at the interior points (grid units): f_xx, f_yy, f_xy."""
    f = surface
    fxx = f[1:-1, 2:] - 2 * f[1:-1, 1:-1] + f[1:-1, :-2]
    fyy = f[2:, 1:-1] - 2 * f[1:-1, 1:-1] + f[:-2, 1:-1]
    fxy = (f[2:, 2:] - f[2:, :-2] - f[:-2, 2:] + f[:-2, :-2]) / 4
    return fxx, fyy, fxy


def nonconvex_share(surface: np.ndarray) -> float:
    """The share of interior grid points where the discrete Hessian of the loss has a negative
    eigenvalue (the surface curves down somewhere there), relative to its largest eigenvalue's
    size: ignoring |λ_min| below 1e-3·|λ_max| keeps flat float noise out."""
    fxx, fyy, fxy = _hessian_parts(np.asarray(surface, float))
    mean, diff = (fxx + fyy) / 2, np.sqrt(((fxx - fyy) / 2) ** 2 + fxy ** 2)
    low, high = mean - diff, mean + diff
    scale = np.maximum(np.abs(low), np.abs(high))
    return float(np.mean(low < -1e-3 * scale))


def mean_abs_laplacian(surface: np.ndarray) -> float:
    """Mean |Δ log loss| over the interior grid points (grid units): how much the log-loss
    surface bends, in any direction."""
    fxx, fyy, _ = _hessian_parts(np.log(np.maximum(np.asarray(surface, float), 1e-12)))
    return float(np.mean(np.abs(fxx + fyy)))
