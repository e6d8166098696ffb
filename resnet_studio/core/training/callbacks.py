"""Trainer hooks (minGPT / Lightning style) and the plain records they receive.

Every hook gets the trainer first (as a `TrainerView`: what a hook may read and control), then
plain numbers or frozen dataclasses — never a live tensor — so a GUI can forward them across
threads as they are. Hooks run on the training thread; keep them short (a GUI should store the
record and redraw on its own timer).

Call frequency:
  on_train_start / on_train_end        once per fit()
  on_train_batch_end(trainer, step)    every step, without numbers (reading a tensor here would
                                       force a device sync every step)
  on_after_backward(trainer, step)     every step, gradients are in `trainer.model` (the place
                                       for gradient norms; it is the caller's choice to sync)
  on_log(trainer, log)                 every `log_every` steps: the numbers fetched from the device
  on_validation_end(trainer, result)   every `eval_every` steps and at the end
  on_checkpoint(trainer, info)         after a checkpoint is safely on disk
  on_status(trainer, status, message)  running / paused / finished / stopped / diverged / failed
  on_data_progress(trainer, done, total, message)  while a dataset downloads or loads
  on_exception(trainer, exc, message)  a failure; `message` is the one line to show the user
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pathlib import Path

    import torch

    from resnet_studio.core.data import ImageData
    from resnet_studio.core.spec import ArchSpec
    from resnet_studio.core.training.config import TrainConfig

STATUSES = ("running", "paused", "finished", "stopped", "diverged", "failed", "interrupted")


@dataclass(frozen=True)
class TrainLog:
    """The training numbers of the last window of `log_every` steps (or fewer)."""

    step: int  # optimiser steps done so far
    total_steps: int
    epoch: float  # fractional epochs done
    loss: float  # mean training loss over the window
    error: float  # training error (fraction wrong, 0..1) over the window
    lr: float  # learning rate of the last step
    images_per_s: float  # throughput over the window (pauses and validation excluded)
    elapsed_s: float  # training time so far (this session plus any resumed-from time)
    eta_s: float  # estimated time to finish

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EvalResult:
    step: int
    loss: float
    error: float  # fraction wrong, 0..1
    samples: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CheckpointInfo:
    path: str  # the checkpoint's JSON sidecar
    weights: str  # the model's safetensors file (state_dict keys)
    step: int
    reason: str  # periodic | stop | end


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    status: str  # finished | stopped | diverged | failed
    steps: int  # optimiser steps done
    total_steps: int
    seconds: float  # training time (this session plus resumed-from time)
    images_per_s: float
    train_loss: float | None  # last log window
    train_error: float | None
    val_loss: float | None  # last validation
    val_error: float | None
    checkpoint: str | None  # the last good checkpoint's JSON sidecar
    message: str = ""  # for diverged / failed: what happened and what to try
    model: str = ""  # the spec's name
    dataset: str = ""  # the config's dataset string
    device: str = ""  # where it trained: "CUDA NVIDIA H100", "CPU (8 threads)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TrainerView(Protocol):
    """What a hook may read from the trainer that calls it, and the controls it may use (from
    its own thread: the trainer's). `Trainer` is the implementation; this module does not name
    it, so that the trainer can import its hooks without an import circle."""

    run_id: str
    run_name: str
    run_dir: Path
    spec: ArchSpec  # with in_channels / num_classes adapted to the dataset once set up
    config: TrainConfig
    step: int  # optimiser steps done
    status: str  # one of STATUSES ("created" before fit)
    warnings: list[str]  # fallbacks taken (no torch.compile, no mixed precision...)
    model: torch.nn.Module | None  # set up before on_train_start
    device: torch.device | None
    data: ImageData | None
    callbacks: CallbackList  # every callback of the run, this one included

    @property
    def resumed(self) -> bool: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def stop(self) -> None: ...


class Callback:
    """Override the hooks you need; every default does nothing."""

    def on_train_start(self, trainer: TrainerView) -> None: ...

    def on_train_batch_end(self, trainer: TrainerView, step: int) -> None: ...

    def on_after_backward(self, trainer: TrainerView, step: int) -> None: ...

    def on_log(self, trainer: TrainerView, log: TrainLog) -> None: ...

    def on_validation_end(self, trainer: TrainerView, result: EvalResult) -> None: ...

    def on_checkpoint(self, trainer: TrainerView, info: CheckpointInfo) -> None: ...

    def on_status(self, trainer: TrainerView, status: str, message: str) -> None: ...

    def on_data_progress(self, trainer: TrainerView, done: int, total: int, message: str) -> None: ...

    def on_exception(self, trainer: TrainerView, exc: BaseException, message: str) -> None: ...

    def on_train_end(self, trainer: TrainerView, result: TrainResult) -> None: ...


class CallbackList:
    """Fans a hook out to several callbacks, in order."""

    def __init__(self, callbacks=()):
        self.callbacks: list[Callback] = list(callbacks)

    def append(self, cb: Callback) -> None:
        self.callbacks.append(cb)

    def __getattr__(self, name: str):
        if not name.startswith("on_"):
            raise AttributeError(name)

        if not hasattr(Callback, name):
            raise AttributeError(f"no hook named {name}")

        def fire(*args, **kwargs):
            for cb in self.callbacks:
                getattr(cb, name)(*args, **kwargs)

        setattr(self, name, fire)  # built once per hook; reads self.callbacks at call time
        return fire


__all__ = ["STATUSES", "Callback", "CallbackList", "CheckpointInfo", "EvalResult",
           "TrainLog", "TrainResult", "TrainerView"]
