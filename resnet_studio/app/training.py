"""Training runs, built once for the Train tab and `resnet-studio train`.

A `TrainRequest` (a new run, or the continuation of a checkpointed one) becomes a
`TrainingRun`: the Trainer, recorded in the run store together with the per-block gradient
norms the Gradients tab shows, plus whatever callbacks the front-end adds (a progress line, a
queue to the GUI). The same request gives the same run from either front-end. `TrainState` is
what the Train tab shows about the current run, kept here without Qt so tests read it directly.

Threads: `TrainingRun.build` and `run` are called on the thread that trains (the Train tab's
session thread, or the command's main thread); `stop`, and the trainer's `pause`/`resume`,
from any thread. `TrainState` belongs to the GUI thread.

Importing this module does not import torch (the Train tab imports it when the window opens).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from resnet_studio.app.runs import remove_interrupted_writes
from resnet_studio.core.common.formatting import duration
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.training.callbacks import Callback, EvalResult, TrainLog, TrainResult
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.core.training.curves import RunCurves

if TYPE_CHECKING:
    from resnet_studio.core.training.distributed import DistributedRanks
    from resnet_studio.core.training.store import RunStore
    from resnet_studio.core.training.trainer import Trainer

# Per-block gradient norms every this many steps, into the run store: the Gradients tab draws
# them for any recorded run, whichever front-end trained it (costs under 5%, see
# benchmarks/bench_gradlog.py).
GRADIENT_EVERY = 10


@dataclass(frozen=True)
class TrainRequest:
    """One run to train: `spec` + `config` for a new run, or `resume_from` (a run folder or its
    checkpoint.json) to continue one with the settings in `resume_overrides` changed (only
    those `core.training.resume.RESUME_OVERRIDES` allows; None values keep the checkpoint's)."""

    spec: ArchSpec | None = None
    config: TrainConfig | None = None
    resume_from: str | None = None
    resume_overrides: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None  # the run's name in the history (default "<model> on <dataset>")
    store_path: str | None = None  # None: the user's run store
    record: bool = True  # False: no row in the run history (and no gradient norms)
    download: bool = True  # may datasets be downloaded
    gradient_every: int = GRADIENT_EVERY  # 0: no gradient norms
    # False: no memory estimate before the run, no size checks while loading its data
    memory_check: bool = True
    run_id: str | None = None  # a new run's id (None: a fresh one)
    # True in a process torchrun started: one of several training the model (app.distributed)
    distributed: bool = False


class TrainingRun:
    """A Trainer and the run store it records into (see the module doc for threads)."""

    def __init__(self, trainer: Trainer, store: RunStore | None, *, memory_check: bool = True):
        self.trainer = trainer
        self.store = store
        self.memory_check = memory_check

    @property
    def main(self) -> bool:
        """Does this process report the run (rank 0, or the only process)?"""
        return self.trainer.ranks.main

    @classmethod
    def build(cls, request: TrainRequest, callbacks: Sequence[Callback] = ()) -> TrainingRun:
        """Check the request, open the store and make the Trainer (nothing is loaded yet: the
        data and the model come with `run`). Raises ConfigError, CheckpointError, KeyError,
        and BudgetError when the model, batch and dataset cannot fit in memory (unless
        `request.memory_check` is False)."""
        from resnet_studio.core.memory import check_training_memory
        from resnet_studio.core.training.gradlog import GradientLogger
        from resnet_studio.core.training.recorder import RunRecorder
        from resnet_studio.core.training.store import RunStore
        from resnet_studio.core.training.trainer import Trainer

        if request.resume_from is None and (request.spec is None or request.config is None):
            raise ValueError("a new run needs a model and a training config")
        ranks = None
        if request.distributed:
            ranks = _join_ranks(request)
            if not ranks.main:  # rank 0 alone records the run and speaks to the front-end
                request, callbacks = replace(request, record=False), ()
        remove_interrupted_writes()
        store = (RunStore(request.store_path, check_interrupted=False, require_write=True)
                 if request.record else None)
        try:
            # the recorder first: the run's row exists when the other callbacks hear of it
            own: list[Callback] = []
            if store is not None:
                own.append(RunRecorder(store, name=request.name))
                if request.gradient_every:
                    own.append(GradientLogger(every=request.gradient_every, store=store))
            common = dict(callbacks=[*own, *callbacks], run_name=request.name,
                          download=request.download, distributed=ranks)
            if request.resume_from is not None:
                trainer = Trainer.from_checkpoint(request.resume_from,
                                                  **dict(request.resume_overrides), **common)
            else:
                trainer = Trainer(request.spec, request.config, run_id=request.run_id, **common)
            if request.memory_check:
                check_training_memory(trainer.spec, trainer.config)
        except BaseException:
            if store is not None:
                store.close()
            if ranks is not None:
                ranks.close()
            raise
        return cls(trainer, store, memory_check=request.memory_check)

    def run(self) -> TrainResult:
        """Train to the end, a stop() or a failure (see Trainer.fit); the store is closed
        after."""
        from resnet_studio.core.common.budget import memory_checks

        try:
            with memory_checks(self.memory_check):
                return self.trainer.fit()
        finally:
            if self.store is not None:
                self.store.close()
            self.trainer.ranks.close()

    def stop(self) -> None:
        """Stop at the next step, writing a checkpoint (any thread)."""
        self.trainer.stop()


# -- what the front-ends say about a result --------------------------------------------------

def result_lines(result: TrainResult) -> list[str]:
    """The command line's summary of a run."""
    pct = lambda v: "-" if v is None else f"{100 * v:.2f}%"
    num = lambda v: "-" if v is None else f"{v:.4f}"
    return [f"{result.status}: {result.model} on {result.dataset}, "
            f"{result.steps}/{result.total_steps} steps in {duration(result.seconds)} "
            f"({result.images_per_s:,.0f} img/s)",
            f"train loss {num(result.train_loss)}  error {pct(result.train_error)}   "
            f"val loss {num(result.val_loss)}  error {pct(result.val_error)}",
            f"run {result.run_id}  checkpoint {result.checkpoint or '-'}"]


def result_message(result: TrainResult) -> str:
    """The Train tab's line under its controls: how a finished or stopped run ended, or why a
    diverged or failed one did."""
    if result.status not in ("finished", "stopped"):
        return result.message
    parts = [f"Run {result.status} in {duration(result.seconds)}"]
    if result.val_error is not None:
        parts.append(f"validation error {100 * result.val_error:.1f}%")
    if result.checkpoint:
        parts.append(f"checkpoint: {result.checkpoint}")
    return " · ".join(parts)


def log_detail(log: TrainLog) -> str:
    """The Train tab's line of live numbers (a negative epoch: not known)."""
    epoch = f"epoch {log.epoch:.2f} · " if log.epoch >= 0 else ""
    return (f"{epoch}{log.images_per_s:,.0f} images/s · "
            f"elapsed {duration(log.elapsed_s)} · ETA {duration(log.eta_s)} · "
            f"loss {log.loss:.3f} · error {100 * log.error:.1f}%")


# -- the Train tab's state -------------------------------------------------------------------

@dataclass
class TrainState:
    """What the Train tab shows about the current (or last) run. The tab feeds it the session's
    records and draws it; nothing here knows about widgets.

    `progress` is (value, maximum) of the progress bar; a maximum of 0 means "busy, no
    number" (a download of unknown size).
    """

    running: bool = False
    run_id: str | None = None
    status: str = "idle"  # idle, preparing, then the trainer's statuses; "could not start"
    progress: tuple[int, int] = (0, 100)
    progress_text: str = "idle"
    detail: str = ""
    message: str = ""
    message_is_error: bool = False
    last_log: TrainLog | None = None
    result: TrainResult | None = None
    curves: RunCurves = field(default_factory=RunCurves)

    def begin(self, total_steps: int, *, resuming: bool = False,
              curves: RunCurves | None = None) -> None:
        """A run is about to start (a resumed one shows its stored curves)."""
        self.running, self.run_id, self.result, self.last_log = True, None, None, None
        self.status = "preparing"
        self.progress = (0, total_steps)
        self.progress_text = "resuming…" if resuming else "preparing data…"
        self.curves = curves if curves is not None else RunCurves()
        self.say("")

    def started(self, run_id: str) -> None:
        self.run_id = run_id

    def data_progress(self, done: int, total: int, text: str) -> None:
        self.progress = (done, total) if total > 0 else (0, 0)
        self.progress_text = text or "loading data…"

    def logged(self, logs: Sequence[TrainLog]) -> None:
        self.curves.add_logs(logs)
        log = self.last_log = logs[-1]
        self.progress = (log.step, log.total_steps)
        self.progress_text = f"step {log.step:,} / {log.total_steps:,}"
        self.detail = log_detail(log)

    def evaluated(self, result: EvalResult) -> None:
        self.curves.add_eval(result)

    def status_changed(self, status: str, message: str) -> None:
        self.status = status
        if status == "paused":
            self.progress_text = f"paused at step {self.progress[0]:,}"
        if status in ("diverged", "failed") and message:
            self.say(message, error=True)

    def stopping(self) -> None:
        self.progress_text = "stopping (writing a checkpoint)…"

    def finished(self, result: TrainResult) -> None:
        self.running, self.result, self.status = False, result, result.status
        self.progress_text = f"{result.status} at step {result.steps:,} / {result.total_steps:,}"
        if result.status in ("finished", "stopped"):
            self.say(result_message(result))

    def could_not_start(self, message: str) -> None:
        self.running, self.status = False, "could not start"
        self.progress = (0, 1)
        self.progress_text = "could not start"
        self.say(message, error=True)

    def say(self, text: str, *, error: bool = False) -> None:
        """The one-line message under the controls ("" hides it)."""
        self.message, self.message_is_error = text, error


def _join_ranks(request: TrainRequest) -> DistributedRanks:
    """In a worker: join the process group on the device the run trains on."""
    from resnet_studio.core.training.checkpoint import find_checkpoint, read_checkpoint_meta
    from resnet_studio.core.training.distributed import DistributedRanks
    from resnet_studio.core.training.runtime import resolve_device

    if request.config is not None:
        device = request.config.device
    else:
        meta = read_checkpoint_meta(find_checkpoint(request.resume_from))
        device = request.resume_overrides.get("device") or meta["config"].get("device", "auto")
    return DistributedRanks.from_env(resolve_device(device))

__all__ = ["GRADIENT_EVERY", "TrainRequest", "TrainState", "TrainingRun", "log_detail",
           "result_lines", "result_message"]
