"""landscape_ratio: what a loss-landscape slice costs beyond its forward passes.

landscape_ratio = the time of a 2-D slice (core.analysis.landscape.slice_2d: an 11×11 grid,
each point's weights rewritten in place from the trained ones along two filter-normalised
directions, then the mean loss over 2 batches of 128) ÷ the time of the same number of bare
eval-mode forward passes of the same batches (no weight changes, no loss). Measured alternately
a few rounds in one process; the figure is the ratio of the medians. The goal is ≤ 1.1: moving
the weights and summing the loss cost little next to the network.

ResNet-20 at its initial weights (the timing does not depend on training) on 16×16 images of the
built-in synthetic set, on the CPU with one intra-op thread (see bench_gradlog for why).
"""

import time

import torch

from benchmarks.harness import interleave, median, record
from resnet_studio.app.landscape import training_batches
from resnet_studio.core.analysis.landscape import LossProbe, axis, random_directions, slice_2d
from resnet_studio.core.models import build_model
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.core.zoo import get_spec, with_io

GRID, BATCHES, BATCH_SIZE, ROUNDS = 11, 2, 128, 5


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_model(with_io(get_spec("resnet20"), in_channels=3, num_classes=10)).eval()
    config = TrainConfig(dataset="synthetic:train=1024,val=64", batch_size=BATCH_SIZE)
    batches = training_batches(config, BATCHES)
    directions = random_directions(model, 2, seed=0)
    probe = LossProbe(model, batches)
    coords = axis(GRID, 1.0)

    def landscape() -> float:
        start = time.perf_counter()
        slice_2d(probe, (directions[0], directions[1]), coords)
        return time.perf_counter() - start

    @torch.no_grad()
    def forwards() -> float:
        start = time.perf_counter()
        for _ in range(GRID * GRID):
            for x, _y in batches:
                model(x)
        return time.perf_counter() - start

    times = interleave({"landscape": landscape, "forwards": forwards}, repeats=ROUNDS)
    a, b = median(times["landscape"]), median(times["forwards"])
    record("landscape_ratio", a / b,
           f"ResNet-20, {GRID}×{GRID} grid × {BATCHES} batches of {BATCH_SIZE} at 16×16, "
           f"1 CPU thread: slice {a:.2f} s, bare forwards {b:.2f} s (medians of {ROUNDS})",
           goal="<= 1.1")


if __name__ == "__main__":
    main()
