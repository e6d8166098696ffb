"""How long an experiment or a training run will take on this machine: measured, not stated.

`estimate_experiment(plan)` loads the plan's data once and trains each distinct net of the grid
for a few steps exactly as a run would (the same Trainer, config, threads and batch), timing
the model's setup, a step and one validation pass. A run then costs

    overhead + steps x step + validations x validation

(`NetTiming.run_seconds`; the overhead is what the measured run spent beyond its steps and its
validation: building, the first slow steps, the checkpoint), and an experiment the data plus
its runs one after the other, as the Depth Lab trains them. `estimate_training(spec, config)`
does the same for one training run. A `TimeEstimate` answers for another length or grid of the
same nets without measuring again (`seconds_for`), so the form updates as the user edits it.

Runs on a worker thread (a Job) or the command line; takes `progress` (every report is a
cancellation point). Imports torch only when called.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass

from resnet_studio.core.common.formatting import duration
from resnet_studio.core.common.progress import Progress, ProgressFn
from resnet_studio.core.experiments import make_spec, model_label
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.training.config import TrainConfig

WARMUP_STEPS = 2  # not timed: the first steps allocate and pick kernels
TIMED_STEPS = 6


def validations(config: TrainConfig) -> int:
    """How many validation passes a run of `config` makes (one at its end at least)."""
    if not config.eval_every:
        return 1
    return config.steps // config.eval_every + (config.steps % config.eval_every != 0)


def _basis(config: TrainConfig) -> tuple:
    """What a step's time depends on besides the net: a timing answers only for these."""
    return (config.dataset, config.batch_size, config.image_size, config.device,
            config.amp, config.channels_last, config.threads, config.compile, config.val_fraction)


@dataclass(frozen=True)
class NetTiming:
    """One net measured on this machine (seconds)."""

    name: str  # "plain-56", or the spec's name for a training run
    overhead_s: float
    step_s: float
    validation_s: float

    def run_seconds(self, config: TrainConfig) -> float:
        return (self.overhead_s + config.steps * self.step_s
                + validations(config) * self.validation_s)


@dataclass(frozen=True)
class TimeEstimate:
    """The estimated wall time (`seconds`) and what it was made of."""

    seconds: float
    data_s: float
    nets: tuple[NetTiming, ...]
    basis: tuple  # the settings the timings hold for (dataset, batch, device, ...)
    measured_s: float  # how long measuring took

    def net(self, name: str) -> NetTiming | None:
        return next((n for n in self.nets if n.name == name), None)

    def seconds_for(self, cells: Iterable[tuple[int, str, int]], config: TrainConfig
                    ) -> float | None:
        """The same nets in another grid or for another number of steps; None when a net of
        `cells` was not measured or a setting that changes a step's time differs."""
        if _basis(config) != self.basis:
            return None
        total = self.data_s
        for depth, variant, _seed in cells:
            timing = self.net(model_label(depth, variant))
            if timing is None:
                return None
            total += timing.run_seconds(config)
        return total

    def to_json(self) -> str:
        """One line, to remember between sessions (the Depth Lab keeps its last estimate)."""
        return json.dumps({"seconds": self.seconds, "data_s": self.data_s,
                           "nets": [[n.name, n.overhead_s, n.step_s, n.validation_s]
                                    for n in self.nets],
                           "basis": list(self.basis), "measured_s": self.measured_s})

    @classmethod
    def from_json(cls, text: str) -> TimeEstimate:
        """Raises ValueError for text that `to_json` did not write."""
        try:
            d = json.loads(text)
            nets = tuple(NetTiming(str(name), float(o), float(s), float(v))
                         for name, o, s, v in d["nets"])
            return cls(float(d["seconds"]), float(d["data_s"]), nets, tuple(d["basis"]),
                       float(d["measured_s"]))
        except (TypeError, KeyError, ValueError) as e:
            raise ValueError(f"not a remembered time estimate: {e}") from None

    def describe(self) -> str:
        return (f"about {duration(self.seconds)} on this machine (measured from {TIMED_STEPS} "
                f"steps of each net in {self.measured_s:.0f} s)")


def time_net(spec: ArchSpec, config: TrainConfig, data, *, name: str | None = None,
             progress: Progress | ProgressFn | None = None) -> NetTiming:
    """Train `spec` for a few steps on `data` as a run of `config` would, and time it."""
    from resnet_studio.core.training.callbacks import Callback
    from resnet_studio.core.training.trainer import Trainer

    progress = Progress.of(progress)
    steps = WARMUP_STEPS + TIMED_STEPS
    stamps: list[float] = []

    class StepTimes(Callback):
        def on_log(self, trainer, log):
            stamps.append(time.perf_counter())
            progress(log.step, steps, f"timing {name or spec.name}: step {log.step}/{steps}")

    short = config.replace(steps=steps, log_every=1, eval_every=0, checkpoint_every=0,
                           warmup_steps=0)
    with tempfile.TemporaryDirectory(prefix="resnet-studio-timing-") as run_dir:
        start = time.perf_counter()
        trainer = Trainer(spec, short, data=data, download=False, run_dir=run_dir,
                          callbacks=[StepTimes()])
        result = trainer.fit()
        total = time.perf_counter() - start
    if result.status != "finished" or len(stamps) < steps:
        raise RuntimeError(f"timing {name or spec.name} failed: {result.message or result.status}")
    # the median step: a moment when another program took the processor is not the rule
    step_s = statistics.median(b - a for a, b in zip(stamps[WARMUP_STEPS - 1:],
                                                     stamps[WARMUP_STEPS:]))
    validation_s = trainer.last_eval.seconds if trainer.last_eval is not None else 0.0
    overhead_s = max(0.0, total - steps * step_s - validation_s)
    return NetTiming(name or spec.name, round(overhead_s, 4), round(step_s, 5),
                     round(validation_s, 4))


def _load(config: TrainConfig, progress: Progress):
    from resnet_studio.core.data import load_dataset

    start = time.perf_counter()
    data = load_dataset(config.dataset, val_fraction=config.val_fraction,
                        image_size=config.image_size or None, download=False,
                        progress=lambda d, t, text: progress.check())
    return data, time.perf_counter() - start


def estimate_experiment(plan, *, progress: Progress | ProgressFn | None = None) -> TimeEstimate:
    """The wall time of `plan` (an ExperimentPlan) run one net at a time on this machine, from
    a few timed steps of each distinct net of its grid. The data must be on the machine."""
    progress = Progress.of(progress)
    start = time.perf_counter()
    config = plan.config
    nets = sorted({(d, v) for d, v, _ in plan.cells}, key=lambda n: (n[0], n[1]))
    progress(0, len(nets) + 1, f"loading {config.dataset}…")
    data, data_s = _load(config, progress)
    timings = []
    for i, (depth, variant) in enumerate(nets):
        label = model_label(depth, variant)
        progress(i + 1, len(nets) + 1, f"timing {label}…")
        timings.append(time_net(make_spec(depth, variant), config, data, name=label,
                                progress=progress.span(i + 1, i + 2, len(nets) + 1)))
    partial = TimeEstimate(0.0, round(data_s, 3), tuple(timings), _basis(config), 0.0)
    seconds = partial.seconds_for(plan.cells, config)
    return TimeEstimate(round(seconds, 1), partial.data_s, partial.nets, partial.basis,
                        round(time.perf_counter() - start, 1))


def estimate_training(spec: ArchSpec, config: TrainConfig, *,
                      progress: Progress | ProgressFn | None = None) -> TimeEstimate:
    """The wall time of one training run of `spec` under `config` on this machine."""
    progress = Progress.of(progress)
    start = time.perf_counter()
    data, data_s = _load(config, progress)
    timing = time_net(spec, config, data, progress=progress)
    return TimeEstimate(round(data_s + timing.run_seconds(config), 1), round(data_s, 3),
                        (timing,), _basis(config), round(time.perf_counter() - start, 1))


__all__ = ["NetTiming", "TimeEstimate", "estimate_experiment", "estimate_training", "time_net",
           "validations"]
