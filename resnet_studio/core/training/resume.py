"""Resuming a run from its checkpoint: which settings may change, and the check that nothing
else did (the same architecture, the same recipe), so the continued run is the run it was."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.training.config import ConfigError, TrainConfig

# Settings that may change when a run is resumed; everything else must match the checkpoint.
# Multistep milestones are fractions of `steps`, so more steps move them.
RESUME_OVERRIDES = ("steps", "device", "amp", "compile", "channels_last", "threads", "eval_every",
                    "checkpoint_every", "log_every")


def resumed_config(saved: dict[str, Any], **overrides: Any) -> TrainConfig:
    """The checkpoint's config (its JSON dict) with the given RESUME_OVERRIDES (None: keep)."""
    bad = sorted(set(overrides) - set(RESUME_OVERRIDES))
    if bad:
        raise ConfigError("resume", f"{', '.join(bad)} cannot change when a run is resumed")
    return replace(TrainConfig.from_dict(saved),
                   **{k: v for k, v in overrides.items() if v is not None})


def check_resumable(saved_spec: ArchSpec, saved_config: TrainConfig, saved_step: int,
                    spec: ArchSpec, config: TrainConfig) -> None:
    """Raise ConfigError unless `spec` and `config` may continue the checkpointed run."""
    if saved_spec.to_dict() != spec.to_dict():
        # the dataset may have adapted in/out channels; compare the architecture itself
        a = replace(saved_spec, in_channels=0, num_classes=0, notes="")
        b = replace(spec, in_channels=0, num_classes=0, notes="")
        if a != b:
            raise ConfigError("resume", f"the checkpoint is for {saved_spec.name}, not "
                              f"{spec.name}")
    old = {k: v for k, v in saved_config.to_dict().items() if k not in RESUME_OVERRIDES}
    new = {k: v for k, v in config.to_dict().items() if k not in RESUME_OVERRIDES}
    diff = sorted(k for k in old if old[k] != new.get(k))
    if diff:
        raise ConfigError("resume", "the checkpoint was trained with different settings: "
                          + ", ".join(f"{k} {old[k]!r} -> {new.get(k)!r}" for k in diff))
    if saved_step > config.steps:
        raise ConfigError("steps", f"the checkpoint is already at step {saved_step}")


__all__ = ["RESUME_OVERRIDES", "check_resumable", "resumed_config"]
