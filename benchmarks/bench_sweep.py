"""sweep_overhead_ratio: what running a grid as an experiment costs on top of the training.

sweep_overhead_ratio = wall time of `ExperimentRunner.run()` over a small grid (plain and
residual nets of depth 8 and 14, two seeds, 50 steps each on a small synthetic set) ÷ the sum of
the wall times of the same runs done one by one through the bare Trainer (no store, no listener).
Both are handed the same preloaded dataset. The experiment's extra work is the run store (a row
per run, metrics in batches), its own cells table, the listener and the queue. Goal: ≤ 1.05.

The two sides alternate and each is measured REPEATS times; the figure is the ratio of medians.
Set RESNET_STUDIO_BENCH_THREADS to fix the runs' CPU threads (default: the app's own choice).
"""

import os
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.harness import median, record
from resnet_studio.core.data import load_dataset
from resnet_studio.core.experiments import ExperimentRunner, ExperimentStore, grid_cells, make_spec
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.core.training.trainer import Trainer

DATASET = "synthetic:train=2000,val=500"
CELLS = grid_cells((8, 14), ("plain", "residual"), (0, 1))
REPEATS = 4


def config() -> TrainConfig:
    threads = int(os.environ.get("RESNET_STUDIO_BENCH_THREADS") or 0)  # 0: the app's choice
    return TrainConfig(dataset=DATASET, steps=50, batch_size=64, lr=0.1, schedule="cosine",
                       log_every=10, eval_every=25, checkpoint_every=0, device="cpu",
                       threads=threads)


def bare(data, folder: Path) -> float:
    cfg = config()
    start = time.perf_counter()
    for i, (depth, variant, seed) in enumerate(CELLS):
        Trainer(make_spec(depth, variant), cfg.replace(seed=seed), data=data,
                run_dir=folder / f"bare-{i}").fit()
    return time.perf_counter() - start


def experiment(data, store: ExperimentStore) -> float:
    exp = store.create("bench", CELLS, config())
    start = time.perf_counter()
    final = ExperimentRunner(store, exp.id, data=data).run()
    seconds = time.perf_counter() - start
    assert final.status == "finished", final.message
    return seconds


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RESNET_STUDIO_HOME"] = tmp  # runs and checkpoints go to the temp folder
        data = load_dataset(DATASET)  # once, outside both sides
        store = ExperimentStore(Path(tmp) / "runs.sqlite")
        # warm-up: oneDNN primitives, allocator, first-call imports
        Trainer(make_spec(8, "plain"), config().replace(steps=20), data=data,
                run_dir=Path(tmp) / "warm").fit()
        bare_times, exp_times = [], []
        for _ in range(REPEATS):
            bare_times.append(bare(data, Path(tmp)))
            exp_times.append(experiment(data, store))
        store.close()
    b, e = median(bare_times), median(exp_times)
    record("sweep_overhead_ratio", e / b,
           f"{len(CELLS)} runs x {config().steps} steps: experiment {e:.2f} s vs bare Trainer "
           f"{b:.2f} s, {torch.get_num_threads()} thread(s); medians of {REPEATS}",
           goal="<= 1.03")


if __name__ == "__main__":
    main()
