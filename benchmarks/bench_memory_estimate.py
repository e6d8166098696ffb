"""How long the training-memory estimate takes: ResNet-152 at 224x224, batch 64, float32 with
SGD momentum, traced on meta tensors (core.training_memory).

- memory_estimate_s: the median of a few estimates in a process that has made one before
  (goal <= 1 s), each tracing afresh (the remembered traces are forgotten first); the details
  give the first one, which also imports torch._dynamo (torch's Python meta kernels need it;
  a training step imports it too), and the bf16 autocast estimate (fake tensors).
"""

from __future__ import annotations

import statistics

from benchmarks.harness import record, timed
from resnet_studio.core import training_memory as memory
from resnet_studio.core.zoo import get_spec

REPEATS = 5


def main() -> None:
    spec = get_spec("resnet152")

    def estimate(precision: str = "fp32"):
        memory._skeleton_trace.cache_clear()  # time the trace, not the cache
        return memory.training_memory(spec, (3, 224, 224), 64, precision)

    first = timed(estimate)
    warm = statistics.median(timed(estimate) for _ in range(REPEATS))
    bf16 = statistics.median(timed(lambda: estimate("bf16")) for _ in range(2))
    peak = estimate().total
    record("memory_estimate_s", warm, f"ResNet-152, 224x224, batch 64: peak {peak / 1e9:.2f} GB; "
           f"first call {first:.2f} s, bf16 autocast {bf16:.2f} s", goal="<= 1")


if __name__ == "__main__":
    main()
