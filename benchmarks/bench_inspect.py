"""inspect_ratio: the meta-tensor inspector vs building the real model and running one forward.

Below 1 means the inspector is cheaper than the naive way of getting the same shapes.
"""

import time

import torch

from resnet_studio.core.inspect import summarize
from resnet_studio.core.models import build_model
from resnet_studio.core.zoo import get_spec


def best_of(fn, repeats=3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def real_forward(spec, shape):
    model = build_model(spec).eval()
    with torch.no_grad():
        model(torch.randn(1, *shape))


def main() -> None:
    for name in ("resnet50", "wide_resnet101_2", "resnet1202"):
        spec = get_spec(name)
        shape = spec.default_input
        ours = best_of(lambda spec=spec, shape=shape: summarize(spec, shape))
        base = best_of(lambda spec=spec, shape=shape: real_forward(spec, shape))
        print(f"inspect_ratio[{name}] = {ours / base:.3f}  (inspector {ours:.2f} s, "
              f"real build+forward {base:.2f} s)", flush=True)


if __name__ == "__main__":
    main()
