"""sweep_overhead_ratio: what running a grid as an experiment costs on top of the training.

sweep_overhead_ratio = wall time of `ExperimentRunner.run()` over a small grid (plain and
residual nets of depth 8 and 14, two seeds, 50 steps each on a small synthetic set) ÷ the sum of
the wall times of the same runs done one by one through the bare Trainer (no store, no listener).
Both are handed the same preloaded dataset. The experiment's extra work is the run store (a row
per run, metrics in batches), its own cells table, the listener and the queue. Goal: ≤ 1.05.

The two sides alternate and each is measured REPEATS times; the ratio of the best times is printed
(as the other benchmarks do: the minimum is the least disturbed by other work on the machine).
Set RESNET_STUDIO_BENCH_THREADS to fix torch's CPU threads (a busy machine makes 2 threads spin).
"""

import os
import tempfile
import time
from pathlib import Path

import torch

from resnet_studio.core.data import load_dataset
from resnet_studio.core.experiments import ExperimentRunner, ExperimentStore, grid_cells, make_spec
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.core.training.trainer import Trainer

DATASET = "synthetic:train=2000,val=500"
CELLS = grid_cells((8, 14), ("plain", "residual"), (0, 1))
REPEATS = 4


def config() -> TrainConfig:
    return TrainConfig(dataset=DATASET, steps=50, batch_size=64, lr=0.1, schedule="cosine",
                       log_every=10, eval_every=25, checkpoint_every=0, device="cpu")


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
    threads = os.environ.get("RESNET_STUDIO_BENCH_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RESNET_STUDIO_HOME"] = tmp  # runs and checkpoints go to the temp folder
        t = time.perf_counter()
        data = load_dataset(DATASET)
        load_s = time.perf_counter() - t
        store = ExperimentStore(Path(tmp) / "runs.sqlite")
        # warm-up: oneDNN primitives, allocator, first-call imports
        Trainer(make_spec(8, "plain"), config().replace(steps=20), data=data,
                run_dir=Path(tmp) / "warm").fit()
        bare_times, exp_times = [], []
        for _ in range(REPEATS):
            bare_times.append(bare(data, Path(tmp)))
            exp_times.append(experiment(data, store))
        store.close()
    b, e = min(bare_times), min(exp_times)
    print(f"sweep: {len(CELLS)} runs x {config().steps} steps, {torch.get_num_threads()} "
          f"thread(s), data load {load_s:.1f} s (once, not in either side)")
    print(f"bare_trainer_s = {b:.2f}  (runs: {', '.join(f'{x:.2f}' for x in bare_times)})")
    print(f"experiment_s = {e:.2f}  (runs: {', '.join(f'{x:.2f}' for x in exp_times)})")
    print(f"sweep_overhead_ratio = {e / b:.3f}")


if __name__ == "__main__":
    main()
