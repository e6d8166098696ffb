"""ddp_cpu_scaling: what splitting one training run over two processes (torchrun, gloo) buys on
this CPU.

ddp_cpu_scaling = training throughput of `resnet-studio train ... --nproc 2` ÷ that of the same
run in one process, at the same global batch and the same total threads (one process with all
the cores' threads; two processes with half each). Throughput is the run's own images/s (the
trainer's clock: training steps only, not the start-up, validation or checkpoints; with two
processes, both ranks' images). No goal: on a 2-core CPU the two processes exchange gradients
over gloo every step, and the figure says whether that pays for itself; on a machine with many
cores or GPUs the split is what lets a run use them all.

Both sides are the command line in fresh processes, alternating, REPEATS times each; the figure
is the ratio of the medians.
"""

import json
import os
import subprocess
import sys
import tempfile

from benchmarks.harness import median, record

DATASET = "synthetic:size=32,train=4096,val=64"
STEPS = 60
BATCH = 64
REPEATS = 3


def images_per_s(nproc: int, home: str) -> float:
    cores = os.cpu_count() or 1
    args = [sys.executable, "-m", "resnet_studio", "train", "resnet20", "--dataset", DATASET,
            "--steps", str(STEPS), "--batch-size", str(BATCH), "--eval-every", "0",
            "--log-every", "20", "--device", "cpu", "--no-channels-last", "--no-store",
            "--quiet", "--json", "--no-memory-check"]
    if nproc > 1:
        args += ["--nproc", str(nproc)]  # each worker cores/nproc threads (OMP_NUM_THREADS)
    else:
        args += ["--threads", str(cores)]
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=900,
                         env={**env, "RESNET_STUDIO_HOME": home, "RESNET_STUDIO_AUTOTUNE": "0"})
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == "finished", result
    return float(result["images_per_s"])


def main() -> None:
    one, two = [], []
    with tempfile.TemporaryDirectory() as home:
        images_per_s(1, home)  # warm-up: the page cache, the first compile of oneDNN kernels
        for _ in range(REPEATS):
            one.append(images_per_s(1, home))
            two.append(images_per_s(2, home))
    a, b = median(one), median(two)
    record("ddp_cpu_scaling", b / a,
           f"ResNet-20, global batch {BATCH}, {STEPS} steps on {os.cpu_count()} cores: "
           f"--nproc 2 {b:.0f} img/s vs one process {a:.0f} img/s; medians of {REPEATS}")


if __name__ == "__main__":
    main()
