"""This app's checkpoints: safetensors weights with a JSON sidecar holding the ArchSpec (and
the dataset: class names, normalisation). A run folder, its ``checkpoint.json``, its
``model-*.safetensors``; or any ``X.safetensors`` with a sibling ``X.json`` holding
``{"spec": {...}}``."""

from __future__ import annotations

from pathlib import Path

import torch

from resnet_studio.core.common import schema
from resnet_studio.core.common.budget import BudgetError, check_weights_file
from resnet_studio.core.memory import check_model_memory
from resnet_studio.core.models.builder import build_model
from resnet_studio.core.preprocess import preprocess_for_dataset
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.weights import source
from resnet_studio.core.weights.state_dict import compare_state

SIDE_JSON_BYTES = 64 << 20  # X.json beside X.safetensors: a spec and maybe many class names


def _sibling_json(p: Path) -> Path | None:
    j = p.with_suffix(".json")
    if p.suffix == ".safetensors" and j.is_file():
        try:
            doc = schema.parse_json(schema.read_text_file(j, "checkpoint", SIDE_JSON_BYTES))
        except (OSError, ValueError):
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
            doc = schema.parse_json(schema.read_text_file(sibling, "checkpoint", SIDE_JSON_BYTES))
            weights_file = p
        else:
            doc = ckpt.read_checkpoint_meta(p)
            sidecar = ckpt.find_checkpoint(p)
            weights_file = p if p.suffix == ".safetensors" else sidecar.parent / doc["weights"]
        spec = ArchSpec.from_dict(doc["spec"])
        check_model_memory(spec)
        check_weights_file(weights_file)
        state = load_file(schema.check_regular_file(weights_file, "weights"), device="cpu")
    except BudgetError:
        raise
    except (OSError, KeyError, ValueError) as e:
        raise source.WeightsError(f"cannot read checkpoint {p}: {e}") from None
    except Exception as e:  # noqa: BLE001 - safetensors raises its own type for damaged files
        raise source.WeightsError(f"checkpoint {p} is damaged: {e}") from None
    return spec, state, doc, weights_file


def load_checkpoint_source(path: str | Path, *,
                           expect: str | ArchSpec | None = None) -> source.ModelSource:
    """A checkpoint written by this app; `expect` (a preset or spec) must match its spec."""
    p = Path(path).expanduser()
    spec, state, doc, weights_file = _read_app_checkpoint(p)
    if expect is not None:
        want = source.resolve_spec(expect)
        if not source.same_arch(want, spec):
            raise source.WeightsMismatch(
                f"checkpoint {p.name} was trained as {source.describe_spec(spec)}, not "
                f"{source.describe_spec(want)}; leave out --model to use the checkpoint's own",
                compare_state(build_model(want, "meta").state_dict(), state))
    report = compare_state(build_model(spec, "meta").state_dict(), state)
    if not report.ok:
        raise source.WeightsMismatch(f"checkpoint {p} is inconsistent with its own spec: "
                              f"{report.summary()}", report)
    model_ = source.model_from_state(spec, state)
    dataset = doc.get("dataset") or {}
    dataset_name = str(dataset.get("name") or (doc.get("config") or {}).get("dataset") or "")
    classes = dataset.get("classes") or doc.get("classes")
    if isinstance(classes, list) and len(classes) == spec.num_classes:
        categories = tuple(str(c) for c in classes)
    elif not dataset_name or dataset_name in ("cifar10", "imagenet"):
        categories = source.default_categories(spec)  # CIFAR-10 / ImageNet names where they fit
    else:
        categories = tuple(f"class {i}" for i in range(spec.num_classes))
    if dataset.get("mean") and dataset.get("std"):
        preprocess = preprocess_for_dataset(dataset)
    else:
        try:
            preprocess = preprocess_for_dataset(dataset_name)
        except ValueError:
            preprocess = source.default_preprocess(spec)
    step = doc.get("step")
    run = doc.get("run_id") or p.parent.name
    label = f"checkpoint {run}" + (f", step {step}" if step is not None else "") + \
        (f" ({dataset_name})" if dataset_name else "")
    return source.ModelSource(model=model_, spec=spec, kind="checkpoint", label=label,
                       categories=categories, preprocess=preprocess, path=weights_file,
                       report=report,
                       meta={"run_id": doc.get("run_id"), "step": step, "dataset": dataset_name})

