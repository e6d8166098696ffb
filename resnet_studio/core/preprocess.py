"""How an image becomes a model's input, and the facts of the datasets models are trained on.

`Preprocess` is the one description of that step: resize the shorter side, centre-crop a
square, scale to 0..1, normalise per channel. It comes either from the torchvision Weights enum
(`Preprocess.from_weights`, identical to `weights.transforms()`) or from a training dataset's
statistics (`preprocess_for_dataset`). Both `core.weights` (a model source carries its
preprocessing) and `core.classify` (which applies it) use this module; neither imports the
other at run time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from resnet_studio.core.images import LoadedImage

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# name -> (resize, crop, mean, std, channels); CIFAR/MNIST stats as in core.data
DATASET_STATS: dict[str, tuple[int, int, tuple[float, ...], tuple[float, ...], int]] = {
    "imagenet": (256, 224, IMAGENET_MEAN, IMAGENET_STD, 3),
    "cifar10": (32, 32, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), 3),
    "cifar100": (32, 32, (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762), 3),
    "mnist": (28, 28, (0.1307,), (0.3081,), 1),
    "fashionmnist": (28, 28, (0.2860,), (0.3530,), 1),
}
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")

ImageLike = LoadedImage | Image.Image | np.ndarray


@dataclass(frozen=True)
class Preprocess:
    """Resize the shorter side to `resize`, centre-crop `crop` x `crop`, normalise."""

    resize: int
    crop: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    interpolation: str = "bilinear"
    channels: int = 3  # 1: the image is converted to grayscale first
    source: str = ""  # where these numbers come from, for labels

    @classmethod
    def from_weights(cls, weights: Any) -> Preprocess:
        """From a torchvision Weights enum member: the numbers its `transforms()` uses."""
        t = weights.transforms()
        resize = t.resize_size[0] if isinstance(t.resize_size, (list, tuple)) else t.resize_size
        crop = t.crop_size[0] if isinstance(t.crop_size, (list, tuple)) else t.crop_size
        interp = getattr(t.interpolation, "value", str(t.interpolation))
        return cls(resize=int(resize), crop=int(crop), mean=tuple(float(v) for v in t.mean),
                   std=tuple(float(v) for v in t.std), interpolation=str(interp),
                   source=f"{weights} transforms")

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """C x H x W of what the model receives."""
        return self.channels, self.crop, self.crop

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d

    def _crop(self, image: ImageLike) -> np.ndarray:
        """The resized, centre-cropped image as uint8 H x W (x C)."""
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms import functional as TF

        pil = as_pil(image)
        pil = pil.convert("L") if self.channels == 1 else pil.convert("RGB")
        pil = TF.resize(pil, [self.resize], interpolation=InterpolationMode(self.interpolation),
                        antialias=True)
        return np.asarray(TF.center_crop(pil, [self.crop]))

    def __call__(self, image: ImageLike) -> torch.Tensor:
        """C x crop x crop float32 tensor, normalised."""
        return self.batch([image])[0]

    def batch(self, images: Sequence[ImageLike]) -> torch.Tensor:
        """N x C x crop x crop. The crops are stacked as uint8 and normalised in one batched
        operation: per-image float conversion was most of a 32-image drop's time."""
        x = torch.from_numpy(np.stack([self._crop(im) for im in images]))
        x = (x[..., None] if x.ndim == 3 else x).permute(0, 3, 1, 2).float()
        mean = torch.tensor(self.mean).view(1, -1, 1, 1) * 255.0
        std = torch.tensor(self.std).view(1, -1, 1, 1) * 255.0
        return x.sub_(mean).div_(std).contiguous()


def as_pil(image: ImageLike) -> Image.Image:
    if isinstance(image, LoadedImage):
        return image.image
    if isinstance(image, Image.Image):
        return image
    if isinstance(image, np.ndarray):
        arr = image
        if arr.dtype != np.uint8:
            raise ValueError(f"expected a uint8 image array, got {arr.dtype}")
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[:, :, 0]
        return Image.fromarray(arr)
    raise TypeError(f"not an image: {type(image).__name__}")


def preprocess_for_dataset(dataset: str | Mapping[str, Any], *,
                           image_size: int | None = None) -> Preprocess:
    """Preprocessing for a model trained on `dataset`: a known name ("imagenet", "cifar10",
    "cifar100", "mnist", "fashionmnist"), or a dict with mean/std/image_size/in_channels (a
    `DatasetInfo.to_dict()`, as stored in a checkpoint)."""
    if isinstance(dataset, Mapping):
        mean = tuple(float(v) for v in dataset["mean"])
        std = tuple(float(v) for v in dataset["std"])
        side = int(image_size or dataset.get("image_size") or 32)
        channels = int(dataset.get("in_channels") or len(mean))
        return Preprocess(resize=side, crop=side, mean=mean, std=std, channels=channels,
                          source=f"{dataset.get('name', 'training set')} statistics")
    key = dataset.strip().lower().replace("-", "").replace("_", "").split(":")[0]
    if key not in DATASET_STATS:
        raise ValueError(f"no known normalisation for dataset '{dataset}' "
                         f"(known: {', '.join(DATASET_STATS)})")
    resize, crop, mean, std, channels = DATASET_STATS[key]
    if image_size and key == "imagenet":  # keep the 224/256 ratio
        crop, resize = int(image_size), round(int(image_size) / 0.875)
    elif image_size:
        resize = crop = int(image_size)
    return Preprocess(resize=resize, crop=crop, mean=mean, std=std, channels=channels,
                      source=f"{key} statistics")


__all__ = ["CIFAR10_CLASSES", "DATASET_STATS", "IMAGENET_MEAN", "IMAGENET_STD", "INTERPOLATIONS",
           "ImageLike", "Preprocess", "as_pil", "preprocess_for_dataset"]
