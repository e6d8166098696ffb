"""The inspector against the naive way of getting the same table: building the model on the CPU
and running one real forward pass.

- inspect_ratio_max: the worst inspector ÷ (CPU build + real forward) over every preset at its
  default input (goal ≤ 0.35); the slowest preset's absolute time is printed too (goal: none over
  0.5 s), as `inspect_max_s`.
- summary_ratio_224 / summary_ratio_1024: the same ratio for ResNet-152 at 224² and 1024²
  (goals ≤ 0.35 and ≤ 0.1).

The two sides alternate (interleaved repeats) and each figure is a ratio of medians.
"""

from __future__ import annotations

import torch

from benchmarks.harness import interleave, median, record
from resnet_studio.app.summary import inspect_model
from resnet_studio.core.models import build_model
from resnet_studio.core.zoo import PRESETS, get_spec

REPEATS = 3


def real_forward(spec, shape) -> None:
    model = build_model(spec).eval()
    with torch.no_grad():
        model(torch.randn(1, *shape))


def ratio(spec, shape, repeats: int = REPEATS) -> tuple[float, float, float]:
    times = interleave({"inspect": lambda: inspect_model(spec, shape),
                        "real": lambda: real_forward(spec, shape)}, repeats=repeats)
    ours, base = median(times["inspect"]), median(times["real"])
    return ours / base, ours, base


def main() -> None:
    rows = {name: ratio(p.spec, p.spec.default_input) for name, p in PRESETS.items()}
    worst = max(rows, key=lambda n: rows[n][0])
    slowest = max(rows, key=lambda n: rows[n][1])
    r, ours, base = rows[worst]
    record("inspect_ratio_max", r, f"worst of {len(rows)} presets: {worst}, inspector "
           f"{1e3 * ours:.1f} ms vs CPU build + forward {1e3 * base:.0f} ms", goal="<= 0.35")
    record("inspect_max_s", rows[slowest][1], f"slowest preset: {slowest}", goal="<= 0.5")
    spec = get_spec("resnet152")
    for side, goal, repeats in ((224, "<= 0.35", REPEATS), (1024, "<= 0.1", 1)):
        r, ours, base = ratio(spec, (3, side, side), repeats)
        record(f"summary_ratio_{side}", r, f"ResNet-152 at {side}x{side}: inspector "
               f"{1e3 * ours:.1f} ms vs CPU build + forward {base:.2f} s", goal=goal)


if __name__ == "__main__":
    main()
