"""Foreign state_dicts: a `.pt`/`.pth` (or bare `.safetensors`) from anywhere, loaded only with
`torch.load(..., weights_only=True)`, so a pickle that would import and call code is refused.

Common wrappers (``{"state_dict": ...}``, ``{"model": ...}``, ``module.`` prefixes) are
unwrapped; missing / unexpected keys and shape mismatches are reported in a `LoadReport` and
refused unless the caller allows partial loading. `infer_spec` guesses the architecture a
state_dict was saved from, so a mismatch can name both.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from resnet_studio.core.common.budget import check_weights_file
from resnet_studio.core.memory import check_model_memory
from resnet_studio.core.models.builder import build_model
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.weights.source import (
    LoadReport,
    ModelSource,
    WeightsError,
    WeightsMismatch,
    default_categories,
    default_preprocess,
    describe_spec,
    matching_presets,
    model_from_state,
    resolve_spec,
    same_arch,
)
from resnet_studio.core.zoo import with_io

_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model_state", "model", "net", "network",
                 "module", "weights", "params", "ema", "model_ema", "state")
_PREFIXES = ("module.", "_orig_mod.", "model.", "net.", "network.", "backbone.")
_CLASS_KEYS = ("classes", "categories", "class_names", "labels")


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
    """A state_dict from .pt/.pth (weights_only) or .safetensors, unwrapped. A file that would
    inflate beyond the available memory, or a zip bomb, is refused first (BudgetError)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise WeightsError(f"no such weights file: {p}")
    check_weights_file(p)  # what it would inflate to, before torch or safetensors reads it
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
    if guess is not None and not same_arch(guess, spec, ignore_io=True):
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
    check_model_memory(spec)
    found = read_state_dict(p)
    state = found.tensors
    report = compare_state(build_model(spec, "meta").state_dict(), state)
    notes: list[str] = []
    guess = infer_spec(state) if not report.ok else None
    if not report.ok and guess is not None and same_arch(guess, spec, ignore_io=True):
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
        model_ = model_from_state(spec, state)
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

