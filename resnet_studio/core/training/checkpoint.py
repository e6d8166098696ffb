"""Checkpoints: safetensors for tensors, a JSON sidecar for everything else.

A run folder holds

    checkpoint.json             the sidecar: spec, config, step, dataset facts, optimizer
                                hyper-parameters, schedule position, metrics so far; names the
                                two files below. Written last: it is the commit point.
    model-00001200.safetensors  the model's state_dict, keys unchanged (torchvision-compatible
                                for the ImageNet presets): `load_weights(path)` or
                                `safetensors.torch.load_file(...)` then `load_state_dict`.
    optim-00001200.safetensors  optimizer buffers ("state.<param index>.<name>") and RNG states.

Every file is written to a temporary name, flushed to disk and renamed into place, and the step
is part of the tensor files' names; so a crash or a full disk while saving step 1200 leaves the
sidecar pointing at the complete step-1000 files. Nothing here unpickles anything.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import json
import os
import re
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from resnet_studio.core.common import schema
from resnet_studio.core.common.budget import BudgetError, check_weights_file
from resnet_studio.core.common.files import replacing, write_text_atomic
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.core.training.sidecar import sidecar_problems

CHECKPOINT_FORMAT = "resnet-studio/checkpoint"
CHECKPOINT_VERSION = 1
SIDECAR = "checkpoint.json"
MAX_SIDECAR_BYTES = 256 << 20  # metrics of a long run at every step stay far below


class CheckpointError(OSError):
    """A checkpoint could not be written or read; the previous one, if any, is intact.
    str() is the sentence alone (no "[Errno 28]")."""

    def __str__(self) -> str:
        return self.strerror or super().__str__()


@dataclass
class Checkpoint:
    path: Path  # the sidecar
    step: int
    run_id: str
    spec: ArchSpec
    config: TrainConfig
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict[str, Any] | None
    scheduler: dict[str, Any] = field(default_factory=dict)
    rng: dict[str, torch.Tensor] = field(default_factory=dict)
    metrics: dict[str, list[list[float]]] = field(default_factory=dict)
    trainer_state: dict[str, Any] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)  # the whole sidecar

    @property
    def weights_path(self) -> Path:
        return self.path.parent / self.meta["weights"]


# -- writing ---------------------------------------------------------------------------------

def _write_safetensors(path: Path, tensors: dict[str, torch.Tensor],
                       metadata: dict[str, str]) -> None:
    """Atomically (core.common.files.replacing: a temp file named with our pid, so a kill's
    leftover is cleaned up at the next start)."""
    with replacing(path) as tmp:
        try:
            save_file(tensors, str(tmp), metadata=metadata)
        except SafetensorError as e:  # its own type, not OSError, even for a full disk
            raise _os_error(e) from e


def _os_error(e: Exception) -> OSError:
    """safetensors' "I/O error: No space left on device (os error 28) at path ..." as an
    OSError with that errno and reason."""
    m = re.search(r"(?:I/O error: )?([^:]*?) \(os error (\d+)\)", str(e))
    if m:
        return OSError(int(m.group(2)), m.group(1).strip())
    return OSError(errno.EIO, str(e).splitlines()[0] if str(e) else type(e).__name__)


def _reason(e: OSError) -> str:
    text = e.strerror or str(e)
    return f"disk full: {text}" if e.errno in (errno.ENOSPC, errno.EDQUOT) else text


def _cpu_tensors(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").contiguous() for k, v in state.items()}


def split_optimizer_state(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict]:
    """torch optimizer state_dict -> (tensors for safetensors, JSON-able rest)."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, entry in state["state"].items():
        for name, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{idx}.{name}"] = value
            else:
                scalars.setdefault(str(idx), {})[name] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()}
              for g in state["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


_STATE_KEY = re.compile(r"state\.(\d+)\.(\w+)")


def join_optimizer_state(tensors: dict[str, torch.Tensor], meta: dict) -> dict[str, Any]:
    """The inverse of split_optimizer_state; ValueError for a tensor name it never writes."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if not key.startswith("state."):
            continue
        m = _STATE_KEY.fullmatch(key)
        if m is None:
            raise ValueError(f"optimizer tensor '{key}' is not 'state.<index>.<name>'")
        state.setdefault(int(m.group(1)), {})[m.group(2)] = value
    for idx, entry in meta.get("scalars", {}).items():
        state.setdefault(int(idx), {}).update(entry)
    groups = []
    for g in meta["param_groups"]:
        g = dict(g)
        if isinstance(g.get("betas"), list):
            g["betas"] = tuple(g["betas"])
        groups.append(g)
    return {"state": state, "param_groups": groups}


def rng_states() -> dict[str, torch.Tensor]:
    out = {"rng.torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            out[f"rng.cuda.{i}"] = s
    return out


def restore_rng(rng: dict[str, torch.Tensor]) -> None:
    if "rng.torch_cpu" in rng:
        torch.set_rng_state(rng["rng.torch_cpu"].to("cpu", torch.uint8))
    cuda = [rng[k] for k in sorted(rng) if k.startswith("rng.cuda.")]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.to("cpu", torch.uint8) for s in cuda])


def save_checkpoint(run_dir: str | Path, *, step: int, run_id: str, spec: ArchSpec,
                    config: TrainConfig, model_state: dict[str, torch.Tensor],
                    optimizer_state: dict[str, Any] | None = None,
                    scheduler: dict[str, Any] | None = None,
                    metrics: dict[str, list] | None = None,
                    trainer_state: dict[str, Any] | None = None,
                    dataset: dict[str, Any] | None = None,
                    extra_tensors: dict[str, torch.Tensor] | None = None,
                    keep: int = 1) -> Path:
    """Write a checkpoint into `run_dir`; returns the sidecar path.

    On any failure (disk full, permission; safetensors' own error included) the files of this
    attempt are removed and a CheckpointError is raised; the previous checkpoint stays complete
    and loadable.
    """
    run_dir = Path(run_dir)
    weights = f"model-{step:08d}.safetensors"
    optim = f"optim-{step:08d}.safetensors"
    sidecar = run_dir / SIDECAR
    try:
        previous = _read_sidecar(sidecar) if sidecar.is_file() else None
    except CheckpointError:
        previous = None  # unreadable: nothing worth keeping, nothing to promise
    referenced = set()
    if previous:
        referenced = {previous.get("weights"), previous.get("optimizer_file")}
    meta_str = {"format": "pt", "resnet_studio": CHECKPOINT_FORMAT, "step": str(step),
                "run_id": run_id, "model": spec.name}
    opt_tensors, opt_meta = ({}, None) if optimizer_state is None else \
        split_optimizer_state(optimizer_state)
    written: list[Path] = []
    try:
        _write_safetensors(run_dir / weights, _cpu_tensors(model_state), meta_str)
        written.append(run_dir / weights)
        more = {**_cpu_tensors(opt_tensors), **rng_states(), **_cpu_tensors(extra_tensors or {})}
        _write_safetensors(run_dir / optim, more, meta_str)
        written.append(run_dir / optim)
        doc = {
            "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
            "run_id": run_id, "step": step, "saved": time.time(),
            "weights": weights, "optimizer_file": optim,
            "spec": spec.to_dict(), "config": config.to_dict(),
            "dataset": dataset or {},
            "optimizer": opt_meta,
            "scheduler": scheduler or {},
            "trainer": trainer_state or {},
            "metrics": metrics or {},
        }
        write_text_atomic(sidecar, json.dumps(doc, indent=1, default=_json_default) + "\n")
    except OSError as e:
        for p in written:
            if p.name not in referenced:
                p.unlink(missing_ok=True)
        kept = f"; the previous checkpoint at step {previous['step']} is intact" if previous \
            else ""
        raise CheckpointError(e.errno, f"could not write the checkpoint in {run_dir} "
                              f"({_reason(e)}){kept}") from e
    _prune(run_dir, keep_names={weights, optim})
    return sidecar


def _json_default(value):
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint sidecar")


def _prune(run_dir: Path, keep_names: set[str]) -> None:
    """Older steps' files; best effort (the new checkpoint is committed already)."""
    for p in list(run_dir.glob("model-*.safetensors")) + list(run_dir.glob("optim-*.safetensors")):
        if p.name not in keep_names:
            with contextlib.suppress(OSError):
                p.unlink(missing_ok=True)


# -- reading ---------------------------------------------------------------------------------

def find_checkpoint(path: str | Path) -> Path:
    """The sidecar for a run folder, a sidecar, or one of its safetensors files."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / SIDECAR
    elif p.suffix == ".safetensors":
        p = p.parent / SIDECAR
    try:
        mode = os.stat(p).st_mode
    except OSError:
        raise CheckpointError(errno.ENOENT, f"no checkpoint at {path} (expected a run folder "
                              f"or its {SIDECAR})") from None
    if not stat.S_ISREG(mode):
        raise CheckpointError(errno.EINVAL, schema.not_regular(p, mode, "checkpoint").strerror)
    return p


def _read_sidecar(path: Path) -> dict[str, Any]:
    """The sidecar, checked field by field (`sidecar.SIDECAR`); CheckpointError naming every
    problem otherwise."""
    try:
        doc = schema.parse_json(schema.read_text_file(path, "checkpoint", MAX_SIDECAR_BYTES))
    except (OSError, ValueError) as e:
        raise CheckpointError(errno.EIO, f"cannot read checkpoint {path}: {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(errno.EINVAL, f"{path} is not a ResNet Studio checkpoint")
    version = doc.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(errno.EINVAL, f"{path} has no valid version number "
                              f"(got {schema.describe(version)})")
    if version > CHECKPOINT_VERSION:
        raise CheckpointError(errno.EINVAL, f"{path} was written by a newer ResNet Studio")
    problems = sidecar_problems(doc)
    if problems:
        shown = "; ".join(f"field '{where}': {what}" if where else what
                          for where, what in problems[:4])
        more = f"; and {len(problems) - 4} more" if len(problems) > 4 else ""
        raise CheckpointError(errno.EINVAL, f"checkpoint {path} is damaged or was edited: "
                              f"{shown}{more}")
    return doc


def read_checkpoint_meta(path: str | Path) -> dict[str, Any]:
    """The sidecar alone: no tensors loaded (cheap, for lists and forms)."""
    return _read_sidecar(find_checkpoint(path))


def _load_tensors(sidecar: Path, name: str, device: str) -> dict[str, torch.Tensor]:
    """A safetensors file the sidecar names; a FIFO or a device there is refused unopened."""
    try:
        path = schema.check_regular_file(sidecar.parent / name, "checkpoint tensor")
        check_weights_file(path)  # larger than the free memory: refused before reading
        return load_file(path, device=device)
    except BudgetError:
        raise
    except OSError as e:
        raise CheckpointError(errno.EIO, f"checkpoint {sidecar} is incomplete: {e}") from None
    except Exception as e:  # safetensors raises its own error type for damaged files
        raise CheckpointError(errno.EIO, f"checkpoint {sidecar} is damaged: {name}: "
                              f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"
                              ) from None


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """The whole checkpoint; its sidecar is checked field by field first (CheckpointError).
    Whether its tensors fit a model: `resume.check_checkpoint_fits`."""
    sidecar = find_checkpoint(path)
    doc = _read_sidecar(sidecar)
    device = str(map_location)
    model_state = _load_tensors(sidecar, doc["weights"], device)
    extra = _load_tensors(sidecar, doc["optimizer_file"], "cpu") \
        if doc.get("optimizer_file") else {}
    opt_state = None
    if doc.get("optimizer"):
        opt_tensors = {k: v.to(device) for k, v in extra.items() if k.startswith("state.")}
        try:
            opt_state = join_optimizer_state(opt_tensors, doc["optimizer"])
        except ValueError as e:
            raise CheckpointError(errno.EINVAL, f"checkpoint {sidecar} is damaged: {e}") from None
    return Checkpoint(
        path=sidecar, step=int(doc["step"]), run_id=doc.get("run_id", ""),
        spec=ArchSpec.from_dict(doc["spec"]), config=TrainConfig.from_dict(doc["config"]),
        model_state=model_state, optimizer_state=opt_state,
        scheduler=doc.get("scheduler", {}),
        rng={k: v for k, v in extra.items() if k.startswith("rng.")},
        metrics=doc.get("metrics", {}), trainer_state=doc.get("trainer", {}),
        dataset=doc.get("dataset", {}), meta=doc)


def load_weights(path: str | Path, device: str = "cpu") -> dict[str, torch.Tensor]:
    """Just the model's state_dict, from a checkpoint (folder/sidecar) or a .safetensors file."""
    p = Path(path)
    if p.suffix == ".safetensors" and p.is_file():
        return load_file(p, device=device)
    sidecar = find_checkpoint(p)
    return _load_tensors(sidecar, _read_sidecar(sidecar)["weights"], device)


__all__ = ["CHECKPOINT_FORMAT", "SIDECAR", "Checkpoint", "CheckpointError", "find_checkpoint",
           "load_checkpoint", "load_weights", "read_checkpoint_meta", "restore_rng",
           "save_checkpoint"]
