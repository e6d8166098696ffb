"""RunRecorder: the callback that writes a Trainer's run into a RunStore.

The row is created (or, for a resumed run, claimed) at the start; metrics are kept in memory
and written in one transaction every `flush_every_s` seconds and at every validation,
checkpoint and status change, so a killed process loses at most the last couple of seconds.
All hooks run on the training thread; the store serialises them with other threads' reads.
"""

from __future__ import annotations

import time
from typing import Any

from resnet_studio.core.training.callbacks import Callback


class RunRecorder(Callback):
    """Records a Trainer's run into `store`, a RunStore (not imported here: the store module
    re-exports this class, and the two must not import each other)."""

    def __init__(self, store, *, name: str | None = None,
                 experiment_id: str | None = None, flush_every_s: float = 2.0):
        self.store = store
        self.name = name
        self.experiment_id = experiment_id
        self.flush_every_s = flush_every_s
        self._rows: list[tuple[int, str, float]] = []
        self._last_flush = 0.0
        self._last_beat = 0.0
        self._step = 0
        self.run_id: str | None = None

    def flush(self) -> None:
        if self.run_id is None:
            return
        rows, self._rows = self._rows, []
        self.store.add_metrics(self.run_id, rows, step=self._step)
        self._last_flush = self._last_beat = time.monotonic()

    def on_train_start(self, trainer) -> None:
        self.run_id = trainer.run_id
        self._step = trainer.step
        if self.store.exists(trainer.run_id):
            self.store.claim(trainer.run_id, step=trainer.step)
            self.store.update(trainer.run_id, config=trainer.config.to_dict(),
                              total_steps=trainer.config.steps)
        else:
            spec = trainer.spec
            self.store.create_run(
                run_id=trainer.run_id, name=self.name or trainer.run_name, model=spec.name,
                spec=spec.to_dict(), config=trainer.config.to_dict(),
                dataset=trainer.config.dataset, run_dir=str(trainer.run_dir),
                total_steps=trainer.config.steps, experiment_id=self.experiment_id)
        self._last_flush = time.monotonic()

    def on_train_batch_end(self, trainer, step) -> None:
        # keep the heartbeat fresh even when log windows are long (big models on a CPU)
        now = time.monotonic()
        if now - self._last_beat > 60 and self.run_id is not None:
            self._last_beat = now
            self.store.heartbeat(self.run_id)

    def on_log(self, trainer, log) -> None:
        self._step = log.step
        self._rows += [(log.step, "train/loss", log.loss), (log.step, "train/error", log.error),
                       (log.step, "lr", log.lr), (log.step, "perf/images_per_s",
                                                  log.images_per_s)]
        if time.monotonic() - self._last_flush >= self.flush_every_s:
            self.flush()

    def on_validation_end(self, trainer, result) -> None:
        self._rows += [(result.step, "val/loss", result.loss),
                       (result.step, "val/error", result.error)]
        self.flush()

    def on_checkpoint(self, trainer, info) -> None:
        self.flush()
        self.store.update(self.run_id, checkpoint=info.path)

    def on_status(self, trainer, status, message) -> None:
        if self.run_id is None:  # failed before the run started (out of memory in setup)
            return
        self.flush()
        self.store.set_status(self.run_id, status, message)

    def on_exception(self, trainer, exc, message) -> None:
        if self.run_id is not None:
            self.flush()

    def on_train_end(self, trainer, result) -> None:
        if self.run_id is None:
            return
        self._step = result.steps
        self.flush()
        fields: dict[str, Any] = {"status": result.status, "message": result.message,
                                  "step": result.steps}
        if result.checkpoint:
            fields["checkpoint"] = result.checkpoint
        self.store.update(self.run_id, **fields)


__all__ = ["RunRecorder"]
