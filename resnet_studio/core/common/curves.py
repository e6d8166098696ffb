"""Curve smoothing shared by the live training plots and the Depth Lab's results."""

from __future__ import annotations

import math
from collections.abc import Sequence

# TensorBoard's scalar dashboard starts its smoothing slider here: with a loss logged every 10
# steps the smoothed line trails the raw one by about 15 steps, not the 100 that 0.9 gives.
DEFAULT_SMOOTHING = 0.6


def smooth(values: Sequence[float], weight: float) -> list[float]:
    """Debiased exponential moving average, as TensorBoard draws its smoothed curves.

    `avg = weight * avg + (1 - weight) * value` from avg = 0, divided by `1 - weight**n` (n: the
    finite values so far), so the first points are not pulled towards zero and a step change is
    followed with the EMA's own lag only. A non-finite value (a diverged step) is drawn as it is
    and left out of the average, as TensorBoard does. `weight` 0 draws the raw values."""
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    out, avg, n = [], 0.0, 0
    for v in values:
        v = float(v)
        if not math.isfinite(v):
            out.append(v)
            continue
        avg = weight * avg + (1 - weight) * v
        n += 1
        out.append(avg / (1 - weight ** n))
    return out
