"""Resuming a run from its checkpoint: which settings may change, the check that nothing
else did (the same architecture, the same recipe), so the continued run is the run it was, and
the check that the checkpoint's tensors fit the model and optimizer built for it before any is
loaded (a hand-edited or damaged checkpoint is one CheckpointError naming what does not fit,
never a traceback from load_state_dict or from the first step)."""

from __future__ import annotations

import errno
import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import torch

from resnet_studio.core.common.schema import describe
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.training.checkpoint import CheckpointError, restore_rng
from resnet_studio.core.training.config import ConfigError, TrainConfig

if TYPE_CHECKING:
    from resnet_studio.core.training.checkpoint import Checkpoint

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


def _dims(t: torch.Tensor) -> str:
    return f"{str(t.dtype).removeprefix('torch.')} [{', '.join(map(str, t.shape))}]"


def _examples(items: list[str], n: int = 3) -> str:
    return ", ".join(items[:n]) + (", ..." if len(items) > n else "")


def model_problems(own: dict[str, torch.Tensor], saved: dict[str, torch.Tensor]) -> list[str]:
    """What keeps `saved` from loading into a model whose state_dict is `own`: names and shapes
    (the comparison `classify` uses for foreign weights), then dtypes."""
    from resnet_studio.core.weights.state_dict import compare_state

    report = compare_state(own, saved)
    problems = [] if report.ok else [report.summary()]
    dtypes = [f"{k}: file {_dims(v)} vs model {_dims(own[k])}" for k, v in saved.items()
              if k in own and v.shape == own[k].shape and v.dtype != own[k].dtype]
    if dtypes:
        problems.append(f"{len(dtypes)} with another dtype ({_examples(dtypes)})")
    return problems


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def _hyper_parameter_ok(own: Any, saved: Any) -> bool:
    if isinstance(own, bool):
        return isinstance(saved, bool)
    if _number(own):
        return _number(saved)
    if isinstance(own, (tuple, list)):
        return isinstance(saved, (tuple, list)) and len(saved) == len(own) and \
            all(_number(v) for v in saved)
    return True  # None / str options (foreach, fused): torch checks them itself


def optimizer_problems(optimizer: torch.optim.Optimizer, saved: dict[str, Any]) -> list[str]:
    """What keeps a saved optimizer state from loading into `optimizer`, or from working at the
    first step: the groups' sizes and hyper-parameters, each buffer's shape and dtype."""
    groups, own_groups = saved["param_groups"], optimizer.param_groups
    if len(groups) != len(own_groups):
        return [f"the optimizer state has {len(groups)} parameter groups, the model's "
                f"optimizer {len(own_groups)}"]
    problems: list[str] = []
    params: dict[int, torch.Tensor] = {}
    for i, (group, own) in enumerate(zip(groups, own_groups)):
        if len(group["params"]) != len(own["params"]):
            problems.append(f"optimizer group {i} has {len(group['params'])} parameters, the "
                            f"model {len(own['params'])}")
        params.update(zip(group["params"], own["params"]))
        bad = [f"{k} is {describe(v)}" for k, v in group.items()
               if k != "params" and k in own and not _hyper_parameter_ok(own[k], v)]
        if bad:
            problems.append(f"optimizer group {i}: {', '.join(bad)}")
    if problems:
        return problems
    wrong: list[str] = []
    for idx, entry in saved["state"].items():
        param = params.get(idx)
        if param is None:
            wrong.append(f"state for parameter {idx}, which the optimizer does not have")
            continue
        for name, value in entry.items():
            if not isinstance(value, torch.Tensor):
                continue
            if value.ndim == 0 and value.is_floating_point():
                continue  # a step count
            if value.shape != param.shape or value.dtype != param.dtype:
                wrong.append(f"state.{idx}.{name}: file {_dims(value)} vs parameter "
                             f"{_dims(param)}")
    if wrong:
        problems.append(f"{len(wrong)} optimizer buffer{'s' if len(wrong) > 1 else ''} "
                        f"with another shape ({_examples(wrong)})")
    return problems


def rng_problems(rng: dict[str, torch.Tensor]) -> list[str]:
    cpu = rng.get("rng.torch_cpu")
    want = torch.get_rng_state()
    if cpu is not None and (cpu.dtype != torch.uint8 or cpu.shape != want.shape):
        return [f"the saved random state is {_dims(cpu)}, expected {_dims(want)}"]
    return []


def check_checkpoint_fits(ckpt: Checkpoint, model: torch.nn.Module,
                          optimizer: torch.optim.Optimizer | None) -> None:
    """Raise CheckpointError unless every tensor of `ckpt` fits `model` and `optimizer`."""
    problems = model_problems(model.state_dict(), ckpt.model_state)
    if not problems and ckpt.optimizer_state is not None and optimizer is not None:
        # (a model that does not fit explains its optimizer buffers too)
        problems += optimizer_problems(optimizer, ckpt.optimizer_state)
    problems += rng_problems(ckpt.rng)
    if problems:
        raise CheckpointError(errno.EINVAL, f"checkpoint {ckpt.path} does not match its model "
                              f"({ckpt.spec.name}): {'; '.join(problems)}")


def restore_state(ckpt: Checkpoint, model: torch.nn.Module,
                  optimizer: torch.optim.Optimizer | None) -> None:
    """Load the checkpoint's model, optimizer and RNG state, once `check_checkpoint_fits`
    passed."""
    check_checkpoint_fits(ckpt, model, optimizer)
    try:
        model.load_state_dict(ckpt.model_state, strict=True)
        if ckpt.optimizer_state is not None and optimizer is not None:
            optimizer.load_state_dict(ckpt.optimizer_state)
        restore_rng(ckpt.rng)
    except (RuntimeError, ValueError, KeyError, TypeError) as e:  # what the checks missed
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(errno.EINVAL, f"checkpoint {ckpt.path} cannot be loaded into "
                              f"its model ({first})") from None


__all__ = ["RESUME_OVERRIDES", "check_checkpoint_fits", "check_resumable", "restore_state",
           "resumed_config"]
