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
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from resnet_studio.core.common.files import write_text_atomic
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.training.config import TrainConfig

CHECKPOINT_FORMAT = "resnet-studio/checkpoint"
CHECKPOINT_VERSION = 1
SIDECAR = "checkpoint.json"


class CheckpointError(OSError):
    """A checkpoint could not be written or read; the previous one, if any, is intact."""


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
    """Atomically: a temp file in the same folder, fsync, os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def join_optimizer_state(tensors: dict[str, torch.Tensor], meta: dict) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if not key.startswith("state."):
            continue
        _, idx, name = key.split(".", 2)
        state.setdefault(int(idx), {})[name] = value
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

    On any failure (OSError: disk full, permission) the files of this attempt are removed and
    a CheckpointError is raised; the previous checkpoint stays complete and loadable.
    """
    run_dir = Path(run_dir)
    weights = f"model-{step:08d}.safetensors"
    optim = f"optim-{step:08d}.safetensors"
    sidecar = run_dir / SIDECAR
    previous = _read_sidecar(sidecar) if sidecar.is_file() else None
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
        kept = f"; the checkpoint of step {previous['step']} is intact" if previous else ""
        raise CheckpointError(e.errno, f"could not write the checkpoint in {run_dir} "
                              f"({e.strerror or e}){kept}") from e
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
    for p in list(run_dir.glob("model-*.safetensors")) + list(run_dir.glob("optim-*.safetensors")):
        if p.name not in keep_names:
            p.unlink(missing_ok=True)


# -- reading ---------------------------------------------------------------------------------

def find_checkpoint(path: str | Path) -> Path:
    """The sidecar for a run folder, a sidecar, or one of its safetensors files."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / SIDECAR
    elif p.suffix == ".safetensors":
        p = p.parent / SIDECAR
    if not p.is_file():
        raise CheckpointError(2, f"no checkpoint at {path} (expected a run folder or its "
                              f"{SIDECAR})")
    return p


def _read_sidecar(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(5, f"cannot read checkpoint {path}: {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(22, f"{path} is not a ResNet Studio checkpoint")
    if doc.get("version", 0) > CHECKPOINT_VERSION:
        raise CheckpointError(22, f"{path} was written by a newer ResNet Studio")
    return doc


def read_checkpoint_meta(path: str | Path) -> dict[str, Any]:
    """The sidecar alone: no tensors loaded (cheap, for lists and forms)."""
    return _read_sidecar(find_checkpoint(path))


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    sidecar = find_checkpoint(path)
    doc = _read_sidecar(sidecar)
    device = str(map_location)
    try:
        model_state = load_file(sidecar.parent / doc["weights"], device=device)
        extra = load_file(sidecar.parent / doc["optimizer_file"], device="cpu") \
            if doc.get("optimizer_file") else {}
    except (OSError, KeyError) as e:
        raise CheckpointError(5, f"checkpoint {sidecar} is incomplete: {e}") from None
    except Exception as e:  # safetensors raises its own error type for damaged files
        raise CheckpointError(5, f"checkpoint {sidecar} is damaged: {e}") from None
    opt_state = None
    if doc.get("optimizer"):
        opt_tensors = {k: v.to(device) for k, v in extra.items() if k.startswith("state.")}
        opt_state = join_optimizer_state(opt_tensors, doc["optimizer"])
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
    return load_file(sidecar.parent / _read_sidecar(sidecar)["weights"], device=device)


__all__ = ["CHECKPOINT_FORMAT", "SIDECAR", "Checkpoint", "CheckpointError", "find_checkpoint",
           "load_checkpoint", "load_weights", "read_checkpoint_meta", "restore_rng",
           "save_checkpoint"]
