"""A run trained by several processes, followed from the run store: what the Train tab does
when its Processes setting is above 1.

`FollowedTraining.run(listener)` starts the launcher (app.distributed.DistributedTraining) and,
every POLL_S, reads what rank 0 has written into the run store: the logged loss, error,
learning rate and throughput become `TrainLog`s, validations `EvalResult`s, status changes
statuses — the records a run in this process gives its callbacks, so the tab draws both alike.
Rank 0 writes its metrics in batches (every 2 s, at every validation and checkpoint), so the
curves follow a couple of seconds behind; the epoch is not stored (TrainLog.epoch is -1).

Threads: `run` on the thread that follows (the Train tab's session thread); `stop` from any.
"""

from __future__ import annotations

import tempfile
import threading
import time
from typing import Any, Protocol

from resnet_studio.app.distributed import DistributedTraining, LaunchSettings
from resnet_studio.app.training import TrainRequest
from resnet_studio.core.training.callbacks import EvalResult, TrainLog, TrainResult

POLL_S = 0.5
ENDED = ("finished", "stopped", "diverged", "failed", "interrupted")


class Listener(Protocol):
    def started(self, run_id: str, run_dir: str, text: str) -> None: ...
    def logged(self, logs: list[TrainLog]) -> None: ...
    def evaluated(self, result: EvalResult) -> None: ...
    def status(self, status: str, message: str) -> None: ...
    def data_progress(self, done: int, total: int, text: str) -> None: ...


class FollowedTraining:
    """One launch of `launch.nproc` processes and the store it is followed through."""

    def __init__(self, request: TrainRequest, launch: LaunchSettings):
        self.request = request
        self.launch = launch
        self.training: DistributedTraining | None = None
        self._stop = threading.Event()
        self._seen: dict[str, int] = {}  # the last step read of each metric

    def stop(self) -> None:
        """Every process stops after the step they agree on, with a checkpoint."""
        self._stop.set()
        if self.training is not None:
            self.training.stop()

    def run(self, listener: Listener) -> TrainResult:
        """Prepare (checks, dataset), launch, follow to the end. Raises ValueError / OSError
        when it cannot start, or when the processes end before rank 0 created the run."""
        listener.data_progress(0, 0, f"starting {self.launch.nproc} processes…")
        self.training = training = DistributedTraining.prepare(self.request, self.launch,
                                                               worker_flags=("--quiet",))
        if self._stop.is_set():
            raise ValueError("stopped before the processes started")
        from resnet_studio.core.training.store import RunStore

        with tempfile.TemporaryFile("w+", encoding="utf-8") as errors, \
                RunStore(self.request.store_path, check_interrupted=False) as store:
            training.start(stderr=errors)
            began, status = time.monotonic(), None
            while True:
                ended = training.process.poll() is not None
                record = self._record(store, training.run_id)
                if record is not None:
                    if status is None:
                        listener.started(record.id, record.run_dir or "",
                                         f"{self.launch.nproc} processes")
                    status = self._follow(store, record, status, listener,
                                          time.monotonic() - began)
                if ended:
                    break
                time.sleep(POLL_S)
            code = training.wait()
            if record is None:
                errors.seek(0)
                raise ValueError(_failure(errors.read(), code))
            return _result(store, record, self.launch, time.monotonic() - began)

    @staticmethod
    def _record(store, run_id: str | None):
        try:
            return store.get(run_id) if run_id else None
        except KeyError:  # rank 0 has not created it yet
            return None

    def _follow(self, store, record, status: str | None, listener: Listener,
                seconds: float) -> str:
        metrics = store.metrics(record.id)
        fresh = lambda name: [(s, v) for s, v in metrics.get(name, [])
                              if s > self._seen.get(name, -1)]
        values = {name: dict(metrics.get(name, [])) for name in
                  ("train/error", "lr", "perf/images_per_s")}
        logs = []
        for step, loss in fresh("train/loss"):
            rate = values["perf/images_per_s"].get(step, 0.0)
            per_step = seconds / max(1, step)
            logs.append(TrainLog(step=step, total_steps=record.total_steps, epoch=-1.0,
                                 loss=loss, error=values["train/error"].get(step, 0.0),
                                 lr=values["lr"].get(step, 0.0), images_per_s=rate,
                                 elapsed_s=round(seconds, 3),
                                 eta_s=round(per_step * (record.total_steps - step), 1)))
        errors = dict(metrics.get("val/error", []))
        for step, loss in fresh("val/loss"):
            listener.evaluated(EvalResult(step=step, loss=loss, error=errors.get(step, 0.0),
                                          samples=0, seconds=0.0))
        if logs:
            listener.logged(logs)
        for name in ("train/loss", "val/loss"):
            if metrics.get(name):
                self._seen[name] = metrics[name][-1][0]
        if record.status != status:
            listener.status(record.status, record.message)
        return record.status


def _failure(stderr: str, code: int) -> str:
    """The workers' own one-line error if they said one, else torchrun's exit code."""
    said = [line.split(": error: ", 1)[1] for line in stderr.splitlines()
            if line.startswith("resnet-studio train: error: ")]
    return said[-1] if said else (f"the training processes ended (torchrun exit code {code}) "
                                  "before the run started")


def _result(store, record, launch: LaunchSettings, seconds: float) -> TrainResult:
    record = store.get(record.id)
    last: dict[str, Any] = store.last_metrics(record.id)
    return TrainResult(
        run_id=record.id, status=record.status if record.status in ENDED else "failed",
        steps=record.step, total_steps=record.total_steps, seconds=round(seconds, 3),
        images_per_s=float(last.get("perf/images_per_s", 0.0)),
        train_loss=last.get("train/loss"), train_error=last.get("train/error"),
        val_loss=last.get("val/loss"), val_error=last.get("val/error"),
        checkpoint=record.checkpoint, message=record.message, model=record.model,
        dataset=record.dataset, device=f"{launch.nproc} processes")


__all__ = ["POLL_S", "FollowedTraining", "Listener"]
