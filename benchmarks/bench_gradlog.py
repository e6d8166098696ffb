"""gradlog_overhead_ratio: what live gradient logging costs a training run.

gradlog_overhead_ratio = training images/s with a GradientLogger recording every 10 steps ÷
images/s without it: the same model, the same data, the same steps and seed, both writing to a
run store, measured alternately (who goes first swaps every round) a few times in one process.
Throughput is timed from step 5 to the last step by a callback (model building, the final
validation and the checkpoint are outside). The ratio printed is the median over the rounds of
(with ÷ without) of the two runs of one round, which sit next to each other in time, so a burst of
load from other work on a shared machine hits both sides of a pair or only one pair; the ratio of
the best runs of each kind and the same in process CPU time (`cpu_ratio`) are printed too.
The goal is ≥ 0.95: the logger does its work on the device and reads it back only when the
trainer logs anyway.

ResNet-20 on the built-in synthetic dataset on the CPU, with one intra-op thread (OpenMP
threads spin-waiting for a busy core make multi-threaded CPU timings swing by ±30% on a shared
machine); ResNet-56 on CUDA if there is a GPU.
"""

import statistics
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.harness import record
from resnet_studio.core.data import load_dataset
from resnet_studio.core.training.callbacks import Callback
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.core.training.gradlog import GradientLogger
from resnet_studio.core.training.store import RunStore
from resnet_studio.core.training.trainer import Trainer
from resnet_studio.core.zoo import get_spec, with_io

EVERY = 10
WARM = 5  # steps before the clock starts
DATASET = "synthetic:val=64"  # the built-in set (16x16, 10 classes); a small held-out part


class Clock(Callback):
    """Wall and process-CPU time from step WARM to the last step (the GPU is synchronised at
    both ends so queued kernels are counted)."""

    def __init__(self, last: int):
        self.last = last
        self.start = self.end = (0.0, 0.0)

    def _now(self, trainer) -> tuple[float, float]:
        if trainer.device.type == "cuda":
            torch.cuda.synchronize(trainer.device)
        return time.perf_counter(), time.process_time()

    def on_train_batch_end(self, trainer, step):
        if step == WARM:
            self.start = self._now(trainer)
        elif step == self.last:
            self.end = self._now(trainer)


def throughput(spec, config, data, store, folder: Path, logger: bool) -> tuple[float, float]:
    """(images per wall second, images per CPU second) between step WARM and the end."""
    clock = Clock(config.steps)
    callbacks = [clock] + ([GradientLogger(every=EVERY)] if logger else [])
    trainer = Trainer(spec, config, callbacks=callbacks, store=store, data=data,
                      run_dir=folder / f"run-{time.monotonic_ns()}")
    result = trainer.fit()
    assert result.status == "finished", result.message
    if logger:
        series = store.metrics(result.run_id, "grad/layer1.0")["grad/layer1.0"]
        assert len(series) == config.steps // EVERY
    images = (config.steps - WARM) * config.batch_size
    return (images / (clock.end[0] - clock.start[0]),
            images / max(clock.end[1] - clock.start[1], 1e-9))


def overhead(model: str, device: str, steps: int, batch: int, repeats: int = 7) -> dict:
    threads = torch.get_num_threads()
    if device == "cpu":
        torch.set_num_threads(1)
    try:
        return _overhead(model, device, steps, batch, repeats)
    finally:
        torch.set_num_threads(threads)


def _overhead(model: str, device: str, steps: int, batch: int, repeats: int) -> dict:
    data = load_dataset(DATASET)
    spec = with_io(get_spec(model), in_channels=data.info.in_channels,
                   num_classes=data.info.num_classes)
    config = TrainConfig(dataset=DATASET, steps=steps, batch_size=batch, lr=0.05,
                         schedule="constant", eval_every=0, checkpoint_every=0, log_every=10,
                         device=device, threads=1 if device == "cpu" else 0,
                         channels_last=False)
    runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = RunStore(folder / "runs.sqlite")
        throughput(spec, config.replace(steps=WARM + 10), data, store, folder, logger=True)
        for i in range(repeats):
            for logger in ((False, True) if i % 2 == 0 else (True, False)):
                runs[logger].append(throughput(spec, config, data, store, folder, logger))
        store.close()
    with_, without = runs[True], runs[False]
    best = lambda rs, k: max(r[k] for r in rs)
    return {
        "ratio": best(with_, 0) / best(without, 0),
        "median": statistics.median(w[0] / wo[0] for w, wo in zip(with_, without)),
        "cpu_ratio": best(with_, 1) / best(without, 1),
        "with": best(with_, 0), "without": best(without, 0),
    }


def main() -> None:
    runs = [("resnet20", "cpu", 100, 32)]
    if torch.cuda.is_available():
        runs.append(("resnet56", "cuda", 300, 128))
    for model, device, steps, batch in runs:
        r = overhead(model, device, steps, batch)
        record("gradlog_overhead_ratio" + ("" if device == "cpu" else f"_{device}"), r["median"],
               f"{model}, {device}, batch {batch}, {steps} steps, every {EVERY}, median of 7 "
               f"alternating pairs; best runs {r['with']:,.0f} vs {r['without']:,.0f} images/s; "
               f"cpu_ratio {r['cpu_ratio']:.3f}", goal=">= 0.95")


if __name__ == "__main__":
    main()
