"""Curve smoothing shared by the live training plots and the Depth Lab's results."""

from __future__ import annotations

from collections.abc import Sequence


def smooth(values: Sequence[float], weight: float) -> list[float]:
    """Debiased exponential moving average, as TensorBoard draws its smoothed curves: the first
    points are not pulled towards zero."""
    out, avg = [], 0.0
    for i, v in enumerate(values):
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight ** (i + 1)))
    return out
