"""attribution_ratio: what the app's attribution path costs over Captum itself.

attribution_ratio = seconds of the app's `attribute(model, x, "integrated_gradients")` (50
steps, internal batch 16, black baseline, convergence delta, progress callback and cancel check
per internal batch) ÷ seconds of the same direct Captum call
(`IntegratedGradients(model).attribute(..., n_steps=50, internal_batch_size=16,
return_convergence_delta=True)`), ResNet-18 with random weights at 224², CPU. Best of
`REPEATS` runs each, interleaved (the machine's load
varies; the best run is the least disturbed); attribution_cpu_ratio is the same with process
CPU time, steadier on a shared machine. The goal is ≤ 1.05.
"""

import time
import warnings

import torch

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
    print("runs_app_s = " + " ".join(f"{t:.2f}" for t in t_app))
    print("runs_captum_s = " + " ".join(f"{t:.2f}" for t in t_direct))
    print(f"attribution_app_s = {min(t_app):.3f}")
    print(f"attribution_captum_s = {min(t_direct):.3f}")
    print(f"attribution_ratio = {min(t_app) / min(t_direct):.3f}")
    # CPU seconds (all threads) are less disturbed by other processes on a busy machine
    print(f"attribution_cpu_ratio = {min(c_app) / min(c_direct):.3f}")


if __name__ == "__main__":
    main()
