"""attribution_ratio: what the app's attribution path costs over Captum itself.

attribution_ratio = seconds of the app's `attribute(model, x, "integrated_gradients")` (50
steps, internal batch 16, black baseline, convergence delta, progress callback and cancel check
per internal batch) ÷ seconds of the same direct Captum call
(`IntegratedGradients(model).attribute(..., n_steps=50, internal_batch_size=16,
return_convergence_delta=True)`), ResNet-18 with random weights at 224², CPU. Medians of
`REPEATS` interleaved runs each; the same ratio in process CPU time is in the details (steadier
on a shared machine). The goal is ≤ 1.05.
"""

import statistics
import time
import warnings

import torch

from benchmarks.harness import record
from resnet_studio.core.analysis.attribution import attribute, make_baseline, predicted_class
from resnet_studio.core.common.progress import Progress
from resnet_studio.core.weights import random_source

STEPS = 50
BATCH = 16
REPEATS = 9


def main() -> None:
    import captum.attr as ca

    warnings.filterwarnings("ignore", category=UserWarning, module=r"captum\.")
    source = random_source("resnet18", seed=0)
    model, pre = source.model.eval(), source.preprocess
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 224, 224, generator=g)
    target = predicted_class(model, x[None])
    base = make_baseline(x[None], "black", mean=pre.mean, std=pre.std)

    def app():
        return attribute(model, x, "integrated_gradients", target=target, steps=STEPS,
                         internal_batch_size=BATCH, mean=pre.mean, std=pre.std,
                         progress=Progress(lambda *a: None))

    def direct():
        xb = x[None].clone().requires_grad_(True)
        return ca.IntegratedGradients(model).attribute(
            xb, baselines=base, target=target, n_steps=STEPS, internal_batch_size=BATCH,
            return_convergence_delta=True)

    app()  # warm-up (first-call allocations)
    t_app, t_direct, c_app, c_direct = [], [], [], []
    for i in range(REPEATS):  # interleaved, the order alternating
        pair = ((direct, t_direct, c_direct), (app, t_app, c_app))
        for fn, times, cpu in pair if i % 2 else pair[::-1]:
            start, cpu0 = time.perf_counter(), time.process_time()
            fn()
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - cpu0)
    med = statistics.median
    record("attribution_ratio", med(t_app) / med(t_direct),
           f"app IG {med(t_app):.2f} s vs direct Captum {med(t_direct):.2f} s, ResNet-18 224x224 "
           f"CPU, {STEPS} steps; CPU-time ratio {med(c_app) / med(c_direct):.3f}; medians of "
           f"{REPEATS}", goal="<= 1.05")


if __name__ == "__main__":
    main()
