"""What a checkpoint's `checkpoint.json` may hold, checked before anything uses it.

A sidecar edited by hand or damaged is refused as a whole, naming every field that is wrong
(`field 'trainer.window.count': expected a whole number, got the string "7"`), instead of
failing later inside `load_state_dict`, a dataclass or the RNG. The spec and the config inside
it are checked as strictly as their own files (`ArchSpec`, `TrainConfig`). The tensors the
sidecar names are compared with the model in `resume.check_checkpoint_fits`.
"""

from __future__ import annotations

import re
from typing import Any

from resnet_studio.core.common.schema import (
    Invalid,
    JsonObject,
    as_float,
    as_int,
    as_number,
    as_object,
    as_str,
    dataclass_checks,
    describe,
    list_of,
    mapping,
    optional,
)
from resnet_studio.core.data.dataset import DatasetInfo
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.training.callbacks import EvalResult, TrainLog
from resnet_studio.core.training.config import TrainConfig

_TENSOR_FILE = re.compile(r"[\w.-]+\.safetensors")


def tensor_file(value: Any) -> str:
    """A .safetensors file in the run folder, by its bare name (no path can lead elsewhere)."""
    if not (isinstance(value, str) and _TENSOR_FILE.fullmatch(value)):
        raise Invalid(f"expected the name of a .safetensors file in the run folder, got "
                      f"{describe(value)}")
    return value


def count(value: Any) -> int:
    n = as_int(value)
    if n < 0:
        raise Invalid(f"expected a whole number >= 0, got {n}")
    return n


def _point(value: Any) -> tuple[int, float]:
    """A metric's [step, value]; the value may be NaN or infinite (a diverging loss)."""
    step, number = list_of(as_number, length=2)(value)
    return count(step), number


def _series(value: Any) -> Any:
    """A metric's points. The common case is checked in one pass (a long run holds tens of
    thousands); a series that fails it is checked point by point for the message."""
    if isinstance(value, list) and all(
            type(p) is list and len(p) == 2 and type(p[0]) is int and p[0] >= 0
            and type(p[1]) in (int, float) for p in value):
        return value
    return list_of(_point)(value)


def _json_scalar(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    return as_number(value)


def _group_value(value: Any) -> Any:
    """An optimizer hyper-parameter: a scalar or a list of numbers (AdamW's betas)."""
    return list_of(as_float)(value) if isinstance(value, list) else _json_scalar(value)


def _param_group(value: Any) -> dict:
    group = mapping(_group_value)({k: v for k, v in as_object(value).items() if k != "params"})
    if "params" not in value:
        raise Invalid("has no 'params'")
    list_of(count)(value["params"])
    return group


SIDECAR = JsonObject({
    "format": as_str, "version": as_int, "run_id": as_str, "step": count, "saved": as_float,
    "weights": tensor_file, "optimizer_file": optional(tensor_file),
    "spec": as_object, "config": as_object,  # each checked by its own class, below
    "dataset": JsonObject(dataclass_checks(DatasetInfo)),
    "optimizer": JsonObject({"param_groups": list_of(_param_group),
                             "scalars": mapping(mapping(_json_scalar))}, nullable=True),
    "scheduler": JsonObject({"type": as_str, "step": count, "lr": as_number}),
    "trainer": JsonObject({
        "elapsed_s": as_float, "images": count,
        "window": JsonObject({"start": count, "loss": as_number, "correct": as_number,
                              "count": count}, nullable=True),
        "scaler": JsonObject({"scale": as_float, "growth_factor": as_float,
                              "backoff_factor": as_float, "growth_interval": count,
                              "_growth_tracker": count}, nullable=True, required=True),
        "last_eval": JsonObject(dataclass_checks(EvalResult, finite=False), nullable=True,
                                required=True),
        "last_log": JsonObject(dataclass_checks(TrainLog, finite=False), nullable=True,
                               required=True),
    }),
    "metrics": mapping(_series),
})
REQUIRED = ("format", "version", "run_id", "step", "weights", "spec", "config")


def sidecar_problems(doc: Any) -> list[tuple[str, str]]:
    """Every (field, problem) of a parsed sidecar; [] for a good one. The format and version
    are the caller's to check first (a foreign file or a newer one is refused as a whole)."""
    problems = SIDECAR.problems(doc)
    if not isinstance(doc, dict):
        return problems
    problems += [(k, "is missing") for k in REQUIRED if k not in doc]
    for key, cls in (("spec", ArchSpec), ("config", TrainConfig)):
        if isinstance(doc.get(key), dict):
            problems += _nested_problems(key, cls, doc[key])
    return problems


def _nested_problems(key: str, cls: type, data: dict) -> list[tuple[str, str]]:
    try:
        cls.from_dict(data).validate()
    except ValueError as e:
        errors = getattr(e, "errors", None) or [e]
        return [(key if getattr(err, "field", key) in (key, cls.JSON.what) else
                 f"{key}.{err.field}", getattr(err, "message", str(err))) for err in errors]
    return []


__all__ = ["SIDECAR", "count", "sidecar_problems", "tensor_file"]
