"""Datasets for training, held in memory as uint8 tensors and batched by indexing.

Dataset names (the `dataset` field of a TrainConfig, the `--dataset` flag):

* ``synthetic`` — built in, procedurally generated, offline and deterministic. Options after a
  colon: ``synthetic:classes=10,size=16,channels=3,train=10000,val=2000,seed=0``.
* ``cifar10``, ``cifar100``, ``mnist``, ``fashionmnist`` — the torchvision file layouts under
  ``datasets_dir()``, downloaded on demand (with a progress callback).
* ``imagefolder:PATH`` — one sub-folder per class; a deterministic, stratified held-out split.

Small datasets live as uint8 tensors (on the GPU when training there); a batch is an index into
them. The batch order and the augmentation of every step are pure functions of (seed, epoch), so
a resumed run sees exactly the batches the uninterrupted run would have seen.
"""

from __future__ import annotations

from pathlib import Path

from resnet_studio.core.common.progress import ProgressFn
from resnet_studio.core.data.batches import TensorBatches, epoch_seed
from resnet_studio.core.data.cifar import load_cifar
from resnet_studio.core.data.dataset import (
    DatasetError,
    DatasetInfo,
    DatasetUnavailable,
    ImageData,
    resize_data,
)
from resnet_studio.core.data.folder import DEFAULT_FOLDER_SIZE, IMAGE_SUFFIXES, load_image_folder
from resnet_studio.core.data.footprint import (
    DatasetFootprint,
    check_dataset_memory,
    dataset_footprint,
)
from resnet_studio.core.data.mnist import load_mnist
from resnet_studio.core.data.synthetic import (
    GLYPH,
    SyntheticOptions,
    load_synthetic,
    make_synthetic,
    synthetic_glyphs,
)

BUILTIN = ("synthetic", "cifar10", "cifar100", "mnist", "fashionmnist")


def parse_dataset(name: str) -> tuple[str, str]:
    """("synthetic", "size=8,..."), ("cifar10", ""), ("imagefolder", "/path")."""
    text = (name or "").strip()
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower().replace("-", "").replace("_", "")
    if kind == "imagefolder":
        if not rest.strip():
            raise DatasetError("imagefolder needs a path: imagefolder:/path/to/folder")
        return kind, rest.strip()
    if kind == "fashion":
        kind = "fashionmnist"
    if kind not in BUILTIN:
        raise DatasetError(f"unknown dataset '{name}'; choose one of {', '.join(BUILTIN)} "
                           "or imagefolder:PATH")
    if rest and kind != "synthetic":
        raise DatasetError(f"dataset '{kind}' takes no options (got '{rest}')")
    return kind, rest.strip()


def dataset_names() -> list[str]:
    return [*BUILTIN, "imagefolder:PATH"]


def load_dataset(name: str, *, val_fraction: float = 0.1, image_size: int | None = None,
                 root: str | Path | None = None, download: bool = True,
                 progress: ProgressFn | None = None) -> ImageData:
    """Load (downloading if needed and allowed) a dataset as uint8 tensors on the CPU.

    `val_fraction` holds out part of the training set (CIFAR, MNIST, image folders; 0 uses the
    official test split as validation where there is one). `image_size` resizes to a square side
    (image folders default to 32; synthetic data is generated at that size).
    """
    kind, rest = parse_dataset(name)
    if not 0.0 <= val_fraction < 1.0:
        raise DatasetError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if kind == "synthetic":
        canonical = SyntheticOptions.parse(rest).to_string()  # every option named in messages
        check_dataset_memory(dataset_footprint(canonical, image_size))  # before generating it
        return load_synthetic(rest, image_size=image_size)
    if kind == "imagefolder":
        return load_image_folder(rest, val_fraction=val_fraction,
                                 image_size=image_size or DEFAULT_FOLDER_SIZE, progress=progress)
    check_dataset_memory(dataset_footprint(name, image_size))
    root = Path(root) if root is not None else _datasets_dir()
    if kind in ("cifar10", "cifar100"):
        data = load_cifar(kind, root, val_fraction=val_fraction, download=download,
                          progress=progress)
    else:
        data = load_mnist(kind, root, val_fraction=val_fraction, download=download,
                          progress=progress)
    if image_size and image_size != data.info.image_size:
        data = resize_data(data, image_size)
    return data


def _datasets_dir() -> Path:
    from resnet_studio.core.common.paths import datasets_dir

    return datasets_dir()


__all__ = ["BUILTIN", "DEFAULT_FOLDER_SIZE", "GLYPH", "IMAGE_SUFFIXES", "DatasetError",
           "DatasetFootprint", "DatasetInfo", "DatasetUnavailable", "ImageData",
           "SyntheticOptions", "TensorBatches", "check_dataset_memory", "dataset_footprint",
           "dataset_names", "epoch_seed", "load_cifar", "load_dataset", "load_image_folder",
           "load_mnist", "load_synthetic", "make_synthetic", "parse_dataset", "resize_data",
           "synthetic_glyphs"]
