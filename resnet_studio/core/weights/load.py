"""One entry point: the weights a user names ("imagenet", "random", a file) -> a `ModelSource`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from resnet_studio.core.common.progress import ProgressFn
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.weights.checkpoint import is_app_checkpoint, load_checkpoint_source
from resnet_studio.core.weights.random_init import random_source
from resnet_studio.core.weights.source import (
    ModelSource,
    WeightsError,
    describe_spec,
    resolve_spec,
    torchvision_name,
)
from resnet_studio.core.weights.state_dict import infer_spec, load_state_dict_file, read_state_dict
from resnet_studio.core.weights.torchvision import load_imagenet


def default_weights(model: str | ArchSpec) -> str | None:
    """"imagenet" where torchvision has pretrained weights for the model, else None."""
    return "imagenet" if torchvision_name(resolve_spec(model)) else None


def load_model_source(model: str | ArchSpec | None, weights: str | Path | None = None, *,
                      allow_partial: bool = False, download: bool = True,
                      progress: ProgressFn | None = None,
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
    if p.suffix != ".safetensors":
        refuse_non_pytorch_file(p)
    if model is None:
        guess = infer_spec(read_state_dict(p).tensors)
        hint = f"; it looks like {describe_spec(guess)}" if guess is not None else ""
        raise WeightsError(f"{p.name} holds weights only: name the model it belongs to "
                           f"(--model){hint}")
    return load_state_dict_file(p, model, allow_partial=allow_partial)


def refuse_non_pytorch_file(path: Path) -> None:
    """WeightsError unless `path` starts like what torch.save writes: a zip archive (torch >=
    1.6) or a pickle (older torch). torch.load would read a text file's letters as pickle
    opcodes and fail with a bare KeyError ("101")."""
    with open(path, "rb") as f:
        head = f.read(256)
    if head.startswith(b"PK") or head.startswith(b"\x80"):
        return
    if not head:
        raise WeightsError(f"{path.name} is empty, not a PyTorch weights file")
    try:
        text: str | None = head.decode("utf-8")
    except UnicodeDecodeError as e:  # the last character may be cut by the 256 bytes read
        text = head[:e.start].decode("utf-8") if e.start >= len(head) - 3 else None
    if text is not None and all(c.isprintable() or c in "\t\r\n" for c in text):
        first = text.strip().splitlines()[0][:40] if text.strip() else ""
        raise WeightsError(f"{path.name} is not a PyTorch weights file: it is a text file "
                           f"({first!r}...)")
    raise WeightsError(f"{path.name} is not a PyTorch weights file: it is neither a zip "
                       "archive nor a pickle")
