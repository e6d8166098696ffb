"""A run's training and validation curves as plain lists: filled live from the trainer's records
or read back from the run store, drawn by any front-end (errors stay fractions, 0..1)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# (store metric name, series attribute, the attribute that takes that metric's steps)
_SERIES = (("train/loss", "loss", "steps"), ("train/error", "error", None), ("lr", "lr", None),
           ("val/loss", "val_loss", "val_steps"), ("val/error", "val_error", None))


@dataclass
class RunCurves:
    """One point per log window (`steps`) and one per validation (`val_steps`)."""

    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    error: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    val_steps: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_error: list[float] = field(default_factory=list)

    @classmethod
    def from_metrics(cls, metrics: dict[str, list[tuple[int, float]]]) -> RunCurves:
        """From RunStore.metrics(run): {"train/loss": [(step, value)], ...}."""
        curves = cls()
        for name, attr, steps_attr in _SERIES:
            rows = metrics.get(name, [])
            if steps_attr:
                setattr(curves, steps_attr, [int(s) for s, _ in rows])
            setattr(curves, attr, [v for _, v in rows])
        return curves

    def add_logs(self, logs: Iterable[Any]) -> None:
        """TrainLog records (or anything with step, loss, error and lr)."""
        for log in logs:
            self.steps.append(log.step)
            self.loss.append(log.loss)
            self.error.append(log.error)
            self.lr.append(log.lr)

    def add_eval(self, result: Any) -> None:
        """An EvalResult (step, loss, error)."""
        self.val_steps.append(result.step)
        self.val_loss.append(result.loss)
        self.val_error.append(result.error)


__all__ = ["RunCurves"]
