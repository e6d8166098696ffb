"""inspect_ratio: the meta-tensor inspector vs building the real model and running one forward.

Below 1 means the inspector is cheaper than the naive way of getting the same shapes.
"""

import timeit

import torch

from resnet_studio.app.summary import inspect_model
from resnet_studio.core.models import build_model
from resnet_studio.core.zoo import get_spec


def seconds(fn, repeats: int = 3) -> float:
    """The fastest of `repeats` single runs."""
    return min(timeit.repeat(fn, number=1, repeat=repeats))


def real_forward(spec, shape):
    model = build_model(spec).eval()
    with torch.no_grad():
        model(torch.randn(1, *shape))


def main() -> None:
    for name in ("resnet50", "wide_resnet101_2", "resnet1202"):
        spec = get_spec(name)
        shape = spec.default_input
        ours = seconds(lambda spec=spec, shape=shape: inspect_model(spec, shape))
        base = seconds(lambda spec=spec, shape=shape: real_forward(spec, shape))
        print(f"inspect_ratio[{name}] = {ours / base:.3f}  (inspector {ours:.2f} s, "
              f"real build+forward {base:.2f} s)", flush=True)


if __name__ == "__main__":
    main()
