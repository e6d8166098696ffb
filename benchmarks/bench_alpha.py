"""alpha_redraw_ms: what one move of the Gradients tab's shortcut-strength slider costs.

alpha_redraw_ms = milliseconds to recompute the per-layer gradient norms and the branch
response stds (Fig. 7, at initialisation) of ResNet-56 at batch 32 for a new α: one
`AlphaDial.measure` call, the model and the batch already built (the dial keeps them, so only α
changes), the plain twin measured once before. The median over a sweep of α values, each one
new to the dial, as a drag asks for them; a report, with no goal (the slider's LatestJob keeps
only the newest α, so a slower machine shows fewer intermediate curves, never a backlog). The
details give a bare forward + backward of the same net and batch, timed in turn with it: the
rest is the hooks and norms. One intra-op thread on the CPU, as the other CPU benchmarks (a
shared machine's busy cores make multi-threaded timings swing several-fold).
"""

import statistics
import time

from benchmarks.harness import record
from resnet_studio.app.gradients import InitRequest
from resnet_studio.app.shortcut_strength import AlphaDial
from resnet_studio.core.zoo import get_spec

ALPHAS = [round(0.05 * i, 2) for i in range(20, -1, -1)]  # 1.0, 0.95, ..., 0.0


def bare_pass(dial: AlphaDial) -> None:
    import torch
    import torch.nn.functional as F

    core = dial.ready()
    loss = F.cross_entropy(core.model(core.images), core.labels)
    torch.autograd.grad(loss, list(core.model.parameters()))


def main() -> None:
    import torch

    torch.set_num_threads(1)
    dial = AlphaDial(InitRequest(spec=get_spec("resnet56"), batch_size=32, compare_plain=True))
    build = time.perf_counter()
    dial.measure(1.0)  # builds the model and the batch, measures the twin once
    first = time.perf_counter() - build
    times, bare = [], []
    for a in ALPHAS[1:]:
        start = time.perf_counter()
        dial.measure(a)
        times.append(time.perf_counter() - start)
        start = time.perf_counter()
        bare_pass(dial)
        bare.append(time.perf_counter() - start)
    record("alpha_redraw_ms", 1000 * statistics.median(times),
           f"ResNet-56, batch 32, {len(times)} α values, median; min "
           f"{1000 * min(times):.0f} ms, max {1000 * max(times):.0f} ms; a bare forward + "
           f"backward {1000 * statistics.median(bare):.0f} ms; first call (model, batch, plain "
           f"twin) {first:.2f} s; {torch.get_num_threads()} thread", digits=1)


if __name__ == "__main__":
    main()
