"""Model sources: where a model's weights come from, its class names and its preprocessing.

Four kinds, each giving a `ModelSource` (the model in eval mode on the CPU, plus facts):

* ``torchvision`` — pretrained ImageNet weights of the ImageNet presets, through torchvision's
  Weights enum (file name from its `url`, `transforms()`, `meta["categories"]`). The torch hub
  cache (`torch.hub.get_dir()/checkpoints/<file>`, i.e. `$TORCH_HOME`) is looked at first; then
  the file is downloaded with a progress callback; offline, `WeightsUnavailable` names the file
  and the folder to put it in.
* ``checkpoint`` — this app's checkpoints (safetensors + JSON sidecar holding the ArchSpec):
  a run folder, its ``checkpoint.json``, its ``model-*.safetensors``; or any ``X.safetensors``
  with a sibling ``X.json`` holding ``{"spec": {...}}``.
* ``state_dict`` — a foreign ``.pt``/``.pth`` (or bare ``.safetensors``) state_dict, loaded
  only with ``torch.load(..., weights_only=True)``: a pickle that would import and call code is
  refused. Common wrappers (``{"state_dict": ...}``, ``{"model": ...}``, ``module.`` prefixes)
  are unwrapped; missing / unexpected keys and shape mismatches are reported in a `LoadReport`
  and refused unless the caller allows partial loading.
* ``random`` — freshly initialised weights, labelled "random weights (untrained)".

`load_model_source(model, weights)` picks the right one from the strings the CLI and the GUI
use: ``imagenet`` (or ``imagenet:IMAGENET1K_V1``), ``random``, or a path.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from torch import nn

from resnet_studio.core.classify import (
    CIFAR10_CLASSES,
    Preprocess,
    preprocess_for_dataset,
)
from resnet_studio.core.models.builder import build_model
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.zoo import PRESETS, get_spec, with_io

RANDOM_LABEL = "random weights (untrained)"
KINDS = ("torchvision", "checkpoint", "state_dict", "random")
# progress(done, total, message): bytes for downloads (total 0 = unknown), as in core.data
Progress = Callable[[int, int, str], None]

_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model_state", "model", "net", "network",
                 "module", "weights", "params", "ema", "model_ema", "state")
_PREFIXES = ("module.", "_orig_mod.", "model.", "net.", "network.", "backbone.")
_CLASS_KEYS = ("classes", "categories", "class_names", "labels")


class WeightsError(ValueError):
    """Weights that cannot be used as asked; the message says why and what to do."""


class WeightsUnavailable(WeightsError):
    """Pretrained weights are not on this machine and could not be downloaded."""

    def __init__(self, message: str, *, file: str, folder: Path, url: str):
        super().__init__(message)
        self.file, self.folder, self.url = file, folder, url


class WeightsMismatch(WeightsError):
    """A state_dict that does not fit the model; `report` lists the differences."""

    def __init__(self, message: str, report: LoadReport):
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class LoadReport:
    """How a state_dict fitted a model."""

    loaded: int  # tensors copied into the model
    total: int  # tensors in the model's state_dict
    missing: tuple[str, ...] = ()  # in the model, not in the file
    unexpected: tuple[str, ...] = ()  # in the file, not in the model
    mismatched: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = ()  # key, file, model

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def summary(self, examples: int = 3) -> str:
        if self.ok:
            return f"all {self.total} tensors loaded"
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} missing (e.g. {', '.join(self.missing[:examples])})")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} unexpected "
                         f"(e.g. {', '.join(self.unexpected[:examples])})")
        if self.mismatched:
            ex = ", ".join(f"{k}: file {_shape(a)} vs model {_shape(b)}"
                           for k, a, b in self.mismatched[:examples])
            parts.append(f"{len(self.mismatched)} with another shape ({ex})")
        return f"{self.loaded} of {self.total} tensors fit; " + "; ".join(parts)

    def to_dict(self) -> dict:
        return {"loaded": self.loaded, "total": self.total, "missing": list(self.missing),
                "unexpected": list(self.unexpected),
                "mismatched": [[k, list(a), list(b)] for k, a, b in self.mismatched]}


@dataclass
class ModelSource:
    """A model ready for inference and the facts that go with its weights."""

    model: nn.Module  # eval mode, CPU
    spec: ArchSpec
    kind: str  # one of KINDS
    label: str  # for people: "ImageNet weights (ResNet18_Weights.IMAGENET1K_V1, torchvision)"
    categories: tuple[str, ...]  # class names, index = class
    preprocess: Preprocess
    path: Path | None = None  # the weights file, if any
    weights_name: str | None = None  # torchvision enum member, e.g. "ResNet18_Weights.IMAGENET1K_V1"
    report: LoadReport | None = None  # how the state_dict fitted (state_dict/checkpoint kinds)
    meta: dict[str, Any] = field(default_factory=dict)  # accuracy, run id, step, dataset...

    @property
    def num_classes(self) -> int:
        return self.spec.num_classes

    @property
    def pretrained(self) -> bool:
        return self.kind != "random"

    def describe(self) -> str:
        return f"{self.spec.name}: {self.label}"


# -- helpers -------------------------------------------------------------------------------------

def _shape(s) -> str:
    return "×".join(str(v) for v in s) or "scalar"


def _same_arch(a: ArchSpec, b: ArchSpec, *, ignore_io: bool = False) -> bool:
    changes = {"name": "", "notes": ""}
    if ignore_io:
        changes.update(in_channels=3, num_classes=1)
    return replace(a, **changes) == replace(b, **changes)


def describe_spec(spec: ArchSpec) -> str:
    """'resnet50 (bottleneck blocks 3-4-6-3, widths 64-128-256-512, 1000 classes)'."""
    kind = ("pre-activation " if spec.preact else "") + f"{spec.block} blocks"
    extra = f", groups {spec.groups}×{spec.width_per_group}" if spec.block == "bottleneck" and \
        (spec.groups, spec.width_per_group) != (1, 64) else ""
    sc = {"none": "no shortcuts", "A": "zero-pad shortcuts", "B": "projection shortcuts",
          "C": "projection everywhere"}[spec.shortcut] if spec.shortcut in \
        ("none", "A", "B", "C") else spec.shortcut
    return (f"{spec.name} ({kind} {'-'.join(map(str, spec.layers))}, widths "
            f"{'-'.join(map(str, spec.widths))}{extra}, {spec.stem} stem, {sc}, "
            f"{spec.in_channels} input channels, {spec.num_classes} classes)")


def matching_presets(spec: ArchSpec, *, ignore_io: bool = False) -> list[str]:
    """Preset names with exactly this architecture."""
    return [name for name, p in PRESETS.items() if _same_arch(p.spec, spec, ignore_io=ignore_io)]


def torchvision_name(spec: ArchSpec) -> str | None:
    """The torchvision builder whose weights fit `spec` (same architecture), if any."""
    for p in PRESETS.values():
        if p.torchvision and _same_arch(p.spec, spec):
            return p.torchvision
    return None


def resolve_spec(model: str | ArchSpec) -> ArchSpec:
    """A preset name (any spelling `zoo.resolve_name` accepts) or a spec .json file."""
    if isinstance(model, ArchSpec):
        return model
    p = Path(model).expanduser()
    if model.endswith(".json") or p.is_file():
        return ArchSpec.load(p)
    return get_spec(model)


def default_categories(spec: ArchSpec) -> tuple[str, ...]:
    """Class names when the weights do not bring their own: ImageNet's for 1000 classes,
    CIFAR-10's for a 10-class CIFAR-stem net, otherwise 'class 0', 'class 1', ..."""
    if spec.num_classes == 1000:
        from torchvision.models import ResNet18_Weights

        return tuple(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])
    if spec.num_classes == 10 and spec.stem == "cifar":
        return CIFAR10_CLASSES
    return tuple(f"class {i}" for i in range(spec.num_classes))


def default_preprocess(spec: ArchSpec) -> Preprocess:
    pre = preprocess_for_dataset("imagenet" if spec.stem == "imagenet" else "cifar10")
    if spec.in_channels == 1:
        pre = replace(pre, mean=pre.mean[:1], std=pre.std[:1], channels=1)
    return pre


def _model_from_state(spec: ArchSpec, state: Mapping[str, torch.Tensor]) -> nn.Module:
    """Strictly load a complete state_dict; builds on the meta device and adopts the tensors,
    so no time is spent on a random init that is overwritten at once."""
    model = build_model(spec, "meta")
    model.load_state_dict({k: v.float() if v.is_floating_point() else v
                           for k, v in state.items()}, strict=True, assign=True)
    return model.eval()


# -- (d) random ----------------------------------------------------------------------------------

def random_source(spec: ArchSpec | str, *, seed: int | None = 0) -> ModelSource:
    """Freshly initialised weights (torchvision's init), reproducible for a given seed."""
    spec = resolve_spec(spec)
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        model = build_model(spec).eval()
    return ModelSource(model=model, spec=spec, kind="random", label=RANDOM_LABEL,
                       categories=default_categories(spec), preprocess=default_preprocess(spec),
                       meta={"seed": seed})


# -- (a) torchvision ImageNet weights ----------------------------------------------------------

def imagenet_weights(model: str | ArchSpec, variant: str = "DEFAULT"):
    """The torchvision Weights enum member for a preset (DEFAULT, IMAGENET1K_V1, ...)."""
    from torchvision.models import get_model_weights

    spec = resolve_spec(model)
    tv = torchvision_name(spec)
    if tv is None:
        have = ", ".join(n for n, p in PRESETS.items() if p.torchvision)
        raise WeightsError(f"no pretrained ImageNet weights for {spec.name}: torchvision has "
                           f"them only for {have}. Use random weights or a checkpoint.")
    enum = get_model_weights(tv)
    try:
        return enum[variant.upper()] if variant.upper() != "DEFAULT" else enum.DEFAULT
    except KeyError:
        raise WeightsError(f"{enum.__name__} has no '{variant}'; choose one of "
                           f"{', '.join(['DEFAULT', *enum.__members__])}") from None


def hub_checkpoints_dir() -> Path:
    """Where torch (and torchvision) keep downloaded weights: $TORCH_HOME/hub/checkpoints."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def imagenet_weights_file(model: str | ArchSpec, variant: str = "DEFAULT") -> Path:
    """The cache path the weights file of `model` has (whether it is there or not)."""
    w = imagenet_weights(model, variant)
    return hub_checkpoints_dir() / os.path.basename(urlparse(w.url).path)


def _open_url(url: str, timeout: float = 30.0):  # a seam for tests; never called by them
    return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - https URL from torchvision


def download_file(url: str, dest: Path, *, progress: Progress | None = None,
                  should_stop: Callable[[], bool] | None = None) -> Path:
    """Download to a temp file beside `dest`, check torch hub's sha256 prefix in the file name
    (`name-<hash>.pth`), then rename into place. Raises OSError/URLError when offline."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    sha = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as f, _open_url(url) as response:
            total = int(response.headers.get("Content-Length") or 0) \
                if hasattr(response, "headers") else 0
            done = 0
            while True:
                if should_stop is not None and should_stop():
                    raise WeightsError(f"download of {dest.name} cancelled")
                chunk = response.read(1 << 20)
                if not chunk:
                    break
                f.write(chunk)
                sha.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total, f"downloading {dest.name}")
        m = re.search(r"-([a-f0-9]{6,})\.", dest.name)
        if m and not sha.hexdigest().startswith(m.group(1)):
            raise WeightsError(f"downloaded {dest.name} is damaged (its sha256 does not start "
                               f"with {m.group(1)}); try again")
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def load_imagenet(model: str | ArchSpec, *, variant: str = "DEFAULT", download: bool = True,
                  progress: Progress | None = None,
                  should_stop: Callable[[], bool] | None = None) -> ModelSource:
    """torchvision's pretrained weights for an ImageNet preset: cache first, then download."""
    spec = resolve_spec(model)
    weights = imagenet_weights(spec, variant)
    path = imagenet_weights_file(spec, variant)
    if not path.is_file():
        folder = path.parent
        hint = (f"put {path.name} (from {weights.url}) into {folder} "
                "(or set TORCH_HOME to a folder whose hub/checkpoints holds it)")
        if not download:
            raise WeightsUnavailable(f"the ImageNet weights for {spec.name} are not on this "
                                     f"machine: {hint}", file=path.name, folder=folder,
                                     url=weights.url)
        try:
            download_file(weights.url, path, progress=progress, should_stop=should_stop)
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            reason = getattr(e, "reason", None) or getattr(e, "strerror", None) or e
            raise WeightsUnavailable(f"cannot download the ImageNet weights for {spec.name} "
                                     f"({reason}); offline? {hint}", file=path.name,
                                     folder=folder, url=weights.url) from None
    state = read_state_dict(path).tensors
    report = compare_state(build_model(spec, "meta").state_dict(), state)
    if not report.ok:
        raise WeightsMismatch(f"{path} does not fit {spec.name}: {report.summary()}. "
                              "Delete the file to download it again.", report)
    model_ = _model_from_state(spec, state)
    meta = {k: v for k, v in weights.meta.items() if k != "categories"}
    acc = weights.meta.get("_metrics", {}).get("ImageNet-1K", {}).get("acc@1")
    return ModelSource(
        model=model_, spec=spec, kind="torchvision",
        label=f"ImageNet weights ({weights}, torchvision"
              + (f", top-1 {acc:.1f}%)" if acc else ")"),
        categories=tuple(weights.meta["categories"]),
        preprocess=Preprocess.from_weights(weights), path=path, weights_name=str(weights),
        report=report, meta=meta)


# -- (c) foreign state_dicts ---------------------------------------------------------------------

@dataclass
class StateDictFile:
    """What `read_state_dict` found in a file."""

    tensors: dict[str, torch.Tensor]
    unwrapped: tuple[str, ...] = ()  # wrapper keys / prefixes removed, e.g. ("state_dict", "module.")
    categories: tuple[str, ...] | None = None  # class names stored beside the weights, if any


def _refusal_reason(message: str) -> str:
    m = re.search(r"Unsupported global: GLOBAL ([\w.]+)", message)
    if m:
        return f"it would import and call {m.group(1)}"
    m = re.search(r"Unsupported operand (\d+)", message)
    if m:
        return f"it uses pickle opcode {m.group(1)}, which can run code"
    return "it holds Python objects other than tensors"


def _torch_load(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise WeightsError(
            f"refused to load {path.name}: it is a pickle that could run code when loaded "
            f"({_refusal_reason(str(e))}). Only plain tensors (a state_dict) are loaded from "
            f".pt/.pth files. If you trust its author, re-save just the weights: "
            f"torch.save(model.state_dict(), 'clean.pth')") from None
    except (EOFError, RuntimeError, ValueError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise WeightsError(f"cannot read {path.name} as PyTorch weights ({first}); "
                           "is it a damaged or incomplete file?") from None


def _is_tensor_dict(obj: Any) -> bool:
    if not isinstance(obj, Mapping) or not obj:
        return False
    n = sum(isinstance(v, torch.Tensor) for v in obj.values())
    return n > 0 and n >= len(obj) / 2 and all(isinstance(k, str) for k in obj)


def _class_names(obj: Any) -> tuple[str, ...] | None:
    if isinstance(obj, Mapping):
        for key in _CLASS_KEYS:
            v = obj.get(key)
            if isinstance(v, (list, tuple)) and v and all(isinstance(s, str) for s in v):
                return tuple(v)
    return None


def unwrap_state_dict(obj: Any) -> StateDictFile:
    """Find the state_dict in common wrappers and strip DataParallel/compile/Lightning prefixes."""
    steps: list[str] = []
    categories = _class_names(obj)
    for _ in range(4):
        if _is_tensor_dict(obj):
            break
        if not isinstance(obj, Mapping):
            break
        for key in _WRAPPER_KEYS:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                steps.append(key)
                categories = categories or _class_names(obj)
                break
        else:
            break
    if not _is_tensor_dict(obj):
        what = type(obj).__name__
        keys = f" with keys {', '.join(map(str, list(obj)[:6]))}" if isinstance(obj, Mapping) \
            else ""
        raise WeightsError(f"no state_dict found: the file holds a {what}{keys}")
    tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if tensors and all(k.startswith(prefix) for k in tensors):
                tensors = {k[len(prefix):]: v for k, v in tensors.items()}
                steps.append(prefix)
                changed = True
    return StateDictFile(tensors=tensors, unwrapped=tuple(steps), categories=categories)


def read_state_dict(path: str | Path) -> StateDictFile:
    """A state_dict from .pt/.pth (weights_only) or .safetensors, unwrapped."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise WeightsError(f"no such weights file: {p}")
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return unwrap_state_dict(load_file(p, device="cpu"))
        except WeightsError:
            raise
        except Exception as e:  # noqa: BLE001 - safetensors has its own error type
            raise WeightsError(f"cannot read {p.name} as safetensors ({e})") from None
    return unwrap_state_dict(_torch_load(p))


def compare_state(model_state: Mapping[str, torch.Tensor],
                  file_state: Mapping[str, torch.Tensor]) -> LoadReport:
    missing = tuple(k for k in model_state if k not in file_state)
    unexpected = tuple(k for k in file_state if k not in model_state)
    mismatched = tuple((k, tuple(file_state[k].shape), tuple(v.shape))
                       for k, v in model_state.items()
                       if k in file_state and tuple(file_state[k].shape) != tuple(v.shape))
    loaded = sum(1 for k, v in model_state.items()
                 if k in file_state and tuple(file_state[k].shape) == tuple(v.shape))
    return LoadReport(loaded=loaded, total=len(model_state), missing=missing,
                      unexpected=unexpected, mismatched=mismatched)


def infer_spec(state: Mapping[str, torch.Tensor]) -> ArchSpec | None:
    """Guess the ArchSpec a ResNet state_dict was saved from (None if it is not one).

    Zero-pad (A) and absent shortcuts hold no weights, so they cannot be told apart: A is assumed.
    """
    conv1 = state.get("conv1.weight")
    blocks: dict[int, set[int]] = {}
    for k in state:
        m = re.match(r"layer(\d+)\.(\d+)\.", k)
        if m:
            blocks.setdefault(int(m.group(1)), set()).add(int(m.group(2)))
    if conv1 is None or conv1.ndim != 4 or not blocks or sorted(blocks) != list(
            range(1, max(blocks) + 1)):
        return None
    try:
        n = len(blocks)
        layers = tuple(max(blocks[i]) + 1 for i in range(1, n + 1))
        bottleneck = any(re.match(r"layer\d+\.\d+\.conv3\.weight$", k) for k in state)
        preact = "final_bn.weight" in state
        if bottleneck:
            widths = tuple(int(state[f"layer{i}.0.conv3.weight"].shape[0]) // 4
                           for i in range(1, n + 1))
            c2 = state["layer1.0.conv2.weight"]
            width = int(c2.shape[0])
            groups = max(1, width // int(c2.shape[1]))
            wpg = width * 64 // (widths[0] * groups)
        else:
            widths = tuple(int(state[f"layer{i}.0.conv2.weight"].shape[0])
                           for i in range(1, n + 1))
            groups, wpg = 1, 64
        projections = {(int(m.group(1)), int(m.group(2))) for k in state
                       if (m := re.match(r"layer(\d+)\.(\d+)\.downsample\.", k))}
        if projections and len(projections) == sum(layers):
            shortcut = "C"
        elif projections:
            shortcut = "B"
        else:
            shortcut = "A"
        norm = "batch" if any(k.endswith("bn1.weight") for k in state) else "none"
        fc = state.get("fc.weight")
        spec = ArchSpec(name="checkpoint", block="bottleneck" if bottleneck else "basic",
                        layers=layers, widths=widths, groups=groups, width_per_group=wpg,
                        stem="imagenet" if conv1.shape[-1] == 7 else "cifar",
                        shortcut=shortcut, preact=preact, norm=norm,
                        in_channels=int(conv1.shape[1]),
                        num_classes=int(fc.shape[0]) if fc is not None else 1000)
    except (KeyError, IndexError, ZeroDivisionError, ValueError):
        return None
    if spec.errors() and shortcut == "A":
        spec = replace(spec, shortcut="none")
    if spec.errors():
        return None
    names = matching_presets(spec) or matching_presets(spec, ignore_io=True)
    if not names and shortcut == "A":
        names = matching_presets(spec.plain_twin())
    return replace(spec, name=names[0]) if names else spec


def _mismatch_message(path: Path, spec: ArchSpec, report: LoadReport,
                      guess: ArchSpec | None) -> str:
    head = f"{path.name} does not fit {spec.name}"
    if guess is not None and not _same_arch(guess, spec, ignore_io=True):
        use = f" Use --model {guess.name}." if guess.name != "checkpoint" else ""
        return (f"{head}: it is a checkpoint for a different architecture, "
                f"{describe_spec(guess)}, but the model is {describe_spec(spec)}.{use}")
    if guess is None:
        first = ", ".join(list(report.unexpected[:3]) or list(report.missing[:3]))
        return (f"{head}: it does not look like a ResNet state_dict ({report.summary()}; "
                f"keys such as {first})")
    return f"{head}: {report.summary()}. Pass allow_partial (--partial) to load what fits."


def load_state_dict_file(path: str | Path, model: str | ArchSpec, *,
                         allow_partial: bool = False) -> ModelSource:
    """A foreign state_dict (.pt/.pth via weights_only, or .safetensors) into `model`.

    A state_dict for the same architecture with another number of classes or input channels
    (a fine-tuned head) adapts the model to it, and says so. Anything else that does not fit
    raises `WeightsMismatch` naming both architectures, unless `allow_partial`: then the
    tensors whose names and shapes fit are loaded, the rest keep their random init, and the
    label says "partial".
    """
    p = Path(path).expanduser()
    spec = resolve_spec(model)
    found = read_state_dict(p)
    state = found.tensors
    report = compare_state(build_model(spec, "meta").state_dict(), state)
    notes: list[str] = []
    guess = infer_spec(state) if not report.ok else None
    if not report.ok and guess is not None and _same_arch(guess, spec, ignore_io=True):
        adapted = with_io(spec, in_channels=guess.in_channels, num_classes=guess.num_classes)
        again = compare_state(build_model(adapted, "meta").state_dict(), state)
        if again.ok:
            if adapted.num_classes != spec.num_classes:
                notes.append(f"{adapted.num_classes} classes")
            if adapted.in_channels != spec.in_channels:
                notes.append(f"{adapted.in_channels} input channels")
            spec, report = adapted, again
    if not report.ok and not allow_partial:
        raise WeightsMismatch(_mismatch_message(p, spec, report, guess), report)
    if report.ok:
        model_ = _model_from_state(spec, state)
    else:
        model_ = build_model(spec)
        own = model_.state_dict()
        fitting = {k: v for k, v in state.items() if k in own and v.shape == own[k].shape}
        model_.load_state_dict(fitting, strict=False)
        model_.eval()
    categories = found.categories if found.categories and \
        len(found.categories) == spec.num_classes else default_categories(spec)
    label = f"weights from {p.name}"
    if notes:
        label += f" ({', '.join(notes)})"
    if not report.ok:
        label += f" — partial: {report.loaded} of {report.total} tensors, the rest random"
    return ModelSource(model=model_, spec=spec, kind="state_dict", label=label,
                       categories=tuple(categories), preprocess=default_preprocess(spec), path=p,
                       report=report, meta={"unwrapped": list(found.unwrapped)})


# -- (b) this app's checkpoints -------------------------------------------------------------------

def _sibling_json(p: Path) -> Path | None:
    j = p.with_suffix(".json")
    if p.suffix == ".safetensors" and j.is_file():
        try:
            doc = json.loads(j.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        if isinstance(doc, dict) and isinstance(doc.get("spec"), dict):
            return j
    return None


def is_app_checkpoint(path: str | Path) -> bool:
    """A run folder / checkpoint.json / its safetensors, or X.safetensors beside X.json."""
    from resnet_studio.core.training.checkpoint import SIDECAR

    p = Path(path).expanduser()
    if p.is_dir():
        return (p / SIDECAR).is_file()
    if p.name == SIDECAR and p.is_file():
        return True
    if p.suffix == ".safetensors" and p.is_file():
        return (p.parent / SIDECAR).is_file() or _sibling_json(p) is not None
    return False


def _read_app_checkpoint(p: Path) -> tuple[ArchSpec, dict[str, torch.Tensor], dict, Path]:
    """(spec, model state, sidecar dict, weights file)."""
    from safetensors.torch import load_file

    from resnet_studio.core.training import checkpoint as ckpt

    try:
        sibling = _sibling_json(p)
        if sibling is not None:
            doc = json.loads(sibling.read_text(encoding="utf-8"))
            weights_file = p
        else:
            doc = ckpt.read_checkpoint_meta(p)
            sidecar = ckpt.find_checkpoint(p)
            weights_file = p if p.suffix == ".safetensors" else sidecar.parent / doc["weights"]
        spec = ArchSpec.from_dict(doc["spec"])
        state = load_file(weights_file, device="cpu")
    except (OSError, KeyError, ValueError) as e:
        raise WeightsError(f"cannot read checkpoint {p}: {e}") from None
    except Exception as e:  # noqa: BLE001 - safetensors raises its own type for damaged files
        raise WeightsError(f"checkpoint {p} is damaged: {e}") from None
    return spec, state, doc, weights_file


def load_checkpoint_source(path: str | Path, *,
                           expect: str | ArchSpec | None = None) -> ModelSource:
    """A checkpoint written by this app; `expect` (a preset or spec) must match its spec."""
    p = Path(path).expanduser()
    spec, state, doc, weights_file = _read_app_checkpoint(p)
    if expect is not None:
        want = resolve_spec(expect)
        if not _same_arch(want, spec):
            raise WeightsMismatch(
                f"checkpoint {p.name} was trained as {describe_spec(spec)}, not "
                f"{describe_spec(want)}; leave out --model to use the checkpoint's own",
                compare_state(build_model(want, "meta").state_dict(), state))
    report = compare_state(build_model(spec, "meta").state_dict(), state)
    if not report.ok:
        raise WeightsMismatch(f"checkpoint {p} is inconsistent with its own spec: "
                              f"{report.summary()}", report)
    model_ = _model_from_state(spec, state)
    dataset = doc.get("dataset") or {}
    dataset_name = str(dataset.get("name") or (doc.get("config") or {}).get("dataset") or "")
    classes = dataset.get("classes") or doc.get("classes")
    if isinstance(classes, list) and len(classes) == spec.num_classes:
        categories = tuple(str(c) for c in classes)
    elif not dataset_name or dataset_name in ("cifar10", "imagenet"):
        categories = default_categories(spec)  # CIFAR-10 / ImageNet names where they fit
    else:
        categories = tuple(f"class {i}" for i in range(spec.num_classes))
    if dataset.get("mean") and dataset.get("std"):
        preprocess = preprocess_for_dataset(dataset)
    else:
        try:
            preprocess = preprocess_for_dataset(dataset_name)
        except ValueError:
            preprocess = default_preprocess(spec)
    step = doc.get("step")
    run = doc.get("run_id") or p.parent.name
    label = f"checkpoint {run}" + (f", step {step}" if step is not None else "") + \
        (f" ({dataset_name})" if dataset_name else "")
    return ModelSource(model=model_, spec=spec, kind="checkpoint", label=label,
                       categories=categories, preprocess=preprocess, path=weights_file,
                       report=report,
                       meta={"run_id": doc.get("run_id"), "step": step, "dataset": dataset_name})


# -- one entry point -------------------------------------------------------------------------------

def default_weights(model: str | ArchSpec) -> str | None:
    """"imagenet" where torchvision has pretrained weights for the model, else None."""
    return "imagenet" if torchvision_name(resolve_spec(model)) else None


def load_model_source(model: str | ArchSpec | None, weights: str | Path | None = None, *,
                      allow_partial: bool = False, download: bool = True,
                      progress: Progress | None = None,
                      should_stop: Callable[[], bool] | None = None) -> ModelSource:
    """`weights`: "imagenet" / "imagenet:VARIANT" (torchvision), "random", or a path (this
    app's checkpoint, or a foreign state_dict). None: "imagenet" where available.
    `model` may be None only for this app's checkpoints, which carry their own spec."""
    text = "" if weights is None else str(weights).strip()
    low = text.lower()
    if low in ("", "imagenet", "pretrained", "default") or low.startswith("imagenet:"):
        if model is None:
            raise WeightsError("name a model (e.g. --model resnet18) for ImageNet weights")
        variant = text.split(":", 1)[1] if ":" in text else "DEFAULT"
        if not text and default_weights(model) is None:
            spec = resolve_spec(model)
            raise WeightsError(f"{spec.name} has no pretrained weights to download; use "
                               "random weights (untrained) or a checkpoint file")
        return load_imagenet(model, variant=variant, download=download, progress=progress,
                             should_stop=should_stop)
    if low in ("random", "none", "untrained"):
        if model is None:
            raise WeightsError("name a model (e.g. --model resnet20) for random weights")
        return random_source(model)
    p = Path(text).expanduser()
    if not p.exists():
        raise WeightsError(f"no such weights file or folder: {p} (or use 'imagenet' / "
                           "'random')")
    if is_app_checkpoint(p):
        return load_checkpoint_source(p, expect=model)
    if p.is_dir():
        raise WeightsError(f"{p} is a folder without a ResNet Studio checkpoint.json")
    if model is None:
        guess = infer_spec(read_state_dict(p).tensors)
        hint = f"; it looks like {describe_spec(guess)}" if guess is not None else ""
        raise WeightsError(f"{p.name} holds weights only: name the model it belongs to "
                           f"(--model){hint}")
    return load_state_dict_file(p, model, allow_partial=allow_partial)


__all__ = ["KINDS", "RANDOM_LABEL", "LoadReport", "ModelSource", "StateDictFile",
           "WeightsError", "WeightsMismatch", "WeightsUnavailable", "compare_state",
           "default_categories", "default_preprocess", "default_weights", "describe_spec",
           "download_file", "hub_checkpoints_dir", "imagenet_weights", "imagenet_weights_file",
           "infer_spec", "is_app_checkpoint", "load_checkpoint_source", "load_imagenet",
           "load_model_source", "load_state_dict_file", "matching_presets", "random_source",
           "read_state_dict", "resolve_spec", "torchvision_name", "unwrap_state_dict"]
