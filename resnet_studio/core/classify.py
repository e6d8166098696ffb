"""Classification: batched inference with a model source, top-k with class names.

The CSV export of predictions is in `app.classify` (shared by the tab and `classify --csv`).

`classify(source, images)` runs the model of a `core.weights.ModelSource` in eval mode under
no_grad, batch by batch, reporting progress after each batch and checking `should_stop()`
before each one (cooperative cancel: it returns the predictions made so far). How an image
becomes the model's input is `core.preprocess.Preprocess`, which the source carries; its names
are re-exported here for existing callers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from PIL import Image

from resnet_studio.core.common.progress import ProgressFn
from resnet_studio.core.images import LoadedImage
from resnet_studio.core.memory import check_inference_memory
from resnet_studio.core.preprocess import (
    CIFAR10_CLASSES,
    DATASET_STATS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    INTERPOLATIONS,
    ImageLike,
    Preprocess,
    as_pil,
    preprocess_for_dataset,
)

if TYPE_CHECKING:
    from resnet_studio.core.weights import ModelSource


# -- predictions ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Prediction:
    index: int  # position in the input list
    name: str  # file name, or "image <index>"
    path: str | None
    classes: tuple[int, ...]  # top-k class indices, most probable first
    labels: tuple[str, ...]  # their names
    probabilities: tuple[float, ...]  # softmax probabilities

    @property
    def top1(self) -> str:
        return self.labels[0]

    @property
    def top1_probability(self) -> float:
        return self.probabilities[0]

    def to_dict(self) -> dict:
        return {"index": self.index, "name": self.name, "path": self.path,
                "top": [{"class": c, "label": lb, "probability": p}
                        for c, lb, p in zip(self.classes, self.labels, self.probabilities)]}


def _name_of(image: ImageLike, i: int) -> tuple[str, str | None]:
    if isinstance(image, LoadedImage) and image.path is not None:
        return image.path.name, str(image.path)
    filename = getattr(image, "filename", None) if isinstance(image, Image.Image) else None
    if filename:
        return Path(filename).name, str(filename)
    return f"image {i}", None


def classify(source: ModelSource, images: Sequence[ImageLike], *, topk: int = 5,
             batch_size: int = 32, progress: ProgressFn | None = None,
             should_stop: Callable[[], bool] | None = None,
             device: str | torch.device | None = None) -> list[Prediction]:
    """Top-k predictions for every image, in order.

    Batched; eval mode and inference mode; `progress(done, total, message)` after each batch;
    `should_stop()` before each batch: when it returns True the predictions made so far are
    returned (fewer than `len(images)`). `device` moves `source.model` there first. A batch
    whose activations cannot fit in the device's free memory is refused first (BudgetError).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    model = source.model
    if device is not None:
        model.to(device)
    try:
        dev = next(model.parameters()).device
    except StopIteration:
        dev = torch.device("cpu")
    categories = list(source.categories)
    total = len(images)
    check_inference_memory(source.spec, source.preprocess.input_shape, min(batch_size, total),
                           device=dev)
    out: list[Prediction] = []
    was_training = model.training
    model.eval()
    # channels_last input: oneDNN (CPU) and cuDNN run NHWC convolutions faster (ResNet-50,
    # 32 images on a 2-core CPU: 2.3 s instead of 3.3 s); the weights stay as they are.
    layout = torch.channels_last if dev.type in ("cpu", "cuda") else torch.contiguous_format
    try:
        with torch.inference_mode():
            for start in range(0, total, batch_size):
                if should_stop is not None and should_stop():
                    break
                chunk = images[start:start + batch_size]
                x = source.preprocess.batch(chunk).to(dev, memory_format=layout)
                probs = torch.softmax(model(x).float(), dim=1)
                k = max(1, min(topk, probs.shape[1]))
                p, idx = probs.topk(k, dim=1)
                p, idx = p.cpu().numpy(), idx.cpu().numpy()
                for j, im in enumerate(chunk):
                    name, path = _name_of(im, start + j)
                    classes = tuple(int(c) for c in idx[j])
                    labels = tuple(categories[c] if c < len(categories) else f"class {c}"
                                   for c in classes)
                    out.append(Prediction(index=start + j, name=name, path=path, classes=classes,
                                          labels=labels,
                                          probabilities=tuple(float(v) for v in p[j])))
                if progress is not None:
                    progress(len(out), total, f"classified {len(out)} of {total} images")
    finally:
        model.train(was_training)
    return out


__all__ = ["CIFAR10_CLASSES", "DATASET_STATS", "IMAGENET_MEAN", "IMAGENET_STD", "INTERPOLATIONS",
           "ImageLike", "Prediction", "Preprocess", "as_pil", "classify", "preprocess_for_dataset"]
