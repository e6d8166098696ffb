"""What the training loop measures between two logs, without a host sync per step.

`LogWindow` sums the loss and the correct predictions on the device; reading them (`totals`)
is the one sync, once per log window (and at a checkpoint). `StepClock` counts training time
only while steps run: pauses, validation and checkpoints are left out of the throughput and
the ETA. Both belong to the training thread.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch


class LogWindow:
    """Loss and correct-prediction sums (device scalars) over the steps since `start`."""

    def __init__(self, device: torch.device | None, start: int):
        self.loss = torch.zeros((), dtype=torch.float32, device=device)
        self.correct = torch.zeros((), dtype=torch.float32, device=device)
        self.count = 0  # images summed (a Python int: batch sizes are known without a sync)
        self.start = start

    @classmethod
    def restored(cls, device: torch.device | None, state: dict[str, Any] | None,
                 step: int) -> LogWindow:
        """A window saved by `state()` in a checkpoint taken at `step` (mid-window)."""
        state = state or {}
        window = cls(device, int(state.get("start", step)))
        window.loss.fill_(float(state.get("loss", 0.0)))
        window.correct.fill_(float(state.get("correct", 0.0)))
        window.count = int(state.get("count", 0))
        return window

    @torch.no_grad()
    def add(self, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """One batch: `loss` is its mean; stays on the device."""
        n = len(labels)
        self.loss += loss.detach() * n
        self.correct += (logits.detach().argmax(1) == labels).sum()
        self.count += n

    def totals(self) -> tuple[float, float]:
        """(loss sum, correct count) on the host: one device sync."""
        loss, correct = torch.stack([self.loss, self.correct]).tolist()
        return loss, correct

    def state(self) -> dict[str, Any]:
        """For a checkpoint (one sync): resuming mid-window logs the same numbers."""
        loss, correct = self.totals()
        return {"loss": loss, "correct": correct, "count": self.count, "start": self.start}


class StepClock:
    """Training time of this session, counted only while steps run.

    `images` and `seconds` hold the completed laps; `lap()` closes the current one and returns
    what it held, for the throughput of one log window.
    """

    def __init__(self):
        self.images = 0
        self.seconds = 0.0
        self._lap_images = 0
        self._lap_seconds = 0.0
        self._since: float | None = None

    def start(self) -> None:
        self._since = time.perf_counter()

    def stop(self) -> None:
        if self._since is not None:
            self._lap_seconds += time.perf_counter() - self._since
            self._since = None

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """Leave what runs inside (a pause, validation, a checkpoint) out of the time."""
        running = self._since is not None
        self.stop()
        try:
            yield
        finally:
            if running:
                self.start()

    def count(self, images: int) -> None:
        self._lap_images += images

    def lap(self) -> tuple[int, float]:
        """(images, seconds) since the last lap, now added to the totals."""
        images, seconds = self._lap_images, self._lap_seconds
        self.images += images
        self.seconds += seconds
        self._lap_images, self._lap_seconds = 0, 0.0
        return images, seconds


__all__ = ["LogWindow", "StepClock"]
