"""What the Images tab works on: image files loaded a chunk at a time (each with a thumbnail),
and the model that classifies them, described as plain data (`SourceInfo`).

Loading is split into small steps (`LoadRequest` -> `load_step`) so a window can show the
first thumbnails while a folder of hundreds still loads: a step either finds the image files
under some paths, or loads a few of them, or takes one image from memory (the clipboard).

Threading: `load_step` and `open_source` run in a worker thread. Their results are plain data
(PIL images, numpy thumbnails, strings, tuples); the model itself never leaves the
`ModelSourceCache`: a job that needs it leases it again by `SourceInfo.key`.

Imports no torch at module level: the window imports this module at start-up.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from resnet_studio.app.model_sources import model_key
from resnet_studio.core.common.progress import Progress, ProgressFn
from resnet_studio.core.images import (
    ImageLoadError,
    LoadedImage,
    LoadFailure,
    expand_image_paths,
    from_pil,
    load_image,
)
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.zoo import PRESETS

if TYPE_CHECKING:
    from resnet_studio.app.model_sources import ModelSourceCache
    from resnet_studio.core.weights import ModelSource

# Images are kept at most this large: the model sees 224 pixels, the preview a few hundred,
# and a folder of 24-megapixel photos must fit in memory. `classify` decodes the same way, so
# both front-ends give the model the same pixels.
DECODE_MAX_SIDE = 1024
THUMB_SIDE = 128
LOAD_CHUNK = 8  # files per load step: the strip fills while a large folder loads


@dataclass(frozen=True)
class ImageRecord:
    """One loaded image as the tab keeps it: the image, its thumbnail, its name."""

    image: LoadedImage
    thumbnail: np.ndarray  # H x W x 3 uint8, the longer side at most THUMB_SIDE
    name: str
    pasted: bool = False  # from the clipboard: no file behind it


@dataclass(frozen=True)
class LoadRequest:
    """One step of loading: find the image files under `paths`, or load `files`, or take
    `image` (a PIL image from the clipboard) as `name`."""

    paths: tuple[str, ...] = ()
    files: tuple[Path, ...] = ()
    image: Any = None
    name: str = ""


@dataclass
class LoadResult:
    images: list[ImageRecord] = field(default_factory=list)
    failures: list[LoadFailure] = field(default_factory=list)
    found: list[Path] = field(default_factory=list)  # files found under `paths`, to load next


def thumbnail(image: LoadedImage, side: int = THUMB_SIDE) -> np.ndarray:
    small = image.image.copy()
    small.thumbnail((side, side))
    return np.asarray(small.convert("RGB"), dtype=np.uint8)


def load_step(request: LoadRequest, *, max_side: int = DECODE_MAX_SIDE,
              progress: Progress | ProgressFn | None = None) -> LoadResult:
    """Do one `LoadRequest`; a file that cannot be read becomes a failure with its reason."""
    progress = Progress.of(progress)
    if request.image is not None:
        try:
            loaded = from_pil(request.image, path=request.name, max_side=max_side)
        except ImageLoadError as e:
            return LoadResult(failures=[e.to_failure()])
        return LoadResult(images=[ImageRecord(loaded, thumbnail(loaded), request.name, True)])
    if request.paths:
        files, failures = expand_image_paths(request.paths)
        return LoadResult(failures=failures, found=files)
    result = LoadResult()
    for i, f in enumerate(request.files):
        progress(i, len(request.files), f"loading {f.name}")
        try:
            loaded = load_image(f, max_side=max_side)
        except ImageLoadError as e:
            result.failures.append(e.to_failure())
            continue
        result.images.append(ImageRecord(loaded, thumbnail(loaded), loaded.name))
    return result


def chunks(files: Sequence[Path], size: int = LOAD_CHUNK) -> list[LoadRequest]:
    """The load steps for files found by a `paths` step."""
    return [LoadRequest(files=tuple(files[i:i + size])) for i in range(0, len(files), size)]


# -- the model, as plain data ------------------------------------------------------------------

def model_name(model: str | ArchSpec | None) -> str:
    if model is None:
        return "no model"
    return model if isinstance(model, str) else model.name


def has_imagenet_weights(model: str | ArchSpec) -> bool:
    """torchvision has pretrained weights for this preset (a spec must equal the preset's)."""
    name = model if isinstance(model, str) else model.name
    preset = PRESETS.get(name)
    if preset is None or not preset.torchvision:
        return False
    return isinstance(model, str) or preset.spec == model


@dataclass(frozen=True)
class SourceInfo:
    """A loaded model source without the model: what the tab shows and what its jobs need to
    lease the model again from the cache (`model`, `weights`)."""

    model: str | ArchSpec | None  # with `weights`, the key in the ModelSourceCache (None: a
    # checkpoint's own spec)
    weights: str
    name: str  # the architecture's name
    kind: str  # torchvision | checkpoint | state_dict | random
    label: str  # "random weights (untrained)", "ImageNet weights (...)"
    categories: tuple[str, ...]
    input_shape: tuple[int, int, int]  # what the preprocessing gives the model
    layers: tuple[tuple[str, tuple[int, ...]], ...]  # feature-map layers, forward order, C x H x W
    blocks: tuple[str, ...]  # residual blocks
    asked: tuple[str, str, bool] | None = None  # the key asked for when it differs ("auto")
    shipped: bool = False  # the shipped trained net (app.samples)

    @property
    def key(self) -> tuple[str, str, bool]:
        return model_key(self.model, self.weights)

    @property
    def requested(self) -> tuple[str, str, bool]:
        """The (model, weights) key the tab asked for: "auto" weights stand for what
        `app.samples.default_source` chose."""
        return self.asked or self.key

    def shape_of(self, layer: str) -> tuple[int, ...] | None:
        return next((s for n, s in self.layers if n == layer), None)

    def find(self, name: str) -> tuple[str, str] | None:
        """What the architecture view's `name` is here: ("block", "layer2.0"), ("layer",
        "layer1.0.conv1"), or None. "stem" is the stem's last layer (its max-pool, or the ReLU
        of a CIFAR stem)."""
        layers = [n for n, _ in self.layers]
        if name == "stem":
            stem = list(itertools.takewhile(lambda n: "." not in n and not n.startswith("layer"),
                                            layers))
            name = stem[-1] if stem else name
        if name in self.blocks:
            return "block", name
        return ("layer", name) if name in layers else None

    @contextlib.contextmanager
    def lease(self, models: ModelSourceCache,
              progress: Progress | ProgressFn | None = None) -> Iterator[ModelSource]:
        """The model itself, from `models` (loaded again if it was evicted), for this job alone
        while the block runs; a cancellation point once it is in hand. Worker threads only:
        the module must not reach the GUI thread."""
        progress = Progress.of(progress)
        with models.lease(self.model, self.weights, progress=progress) as source:
            progress.check()
            yield source


def open_source(models: ModelSourceCache, model: str | ArchSpec, weights: str, *,
                warm_up: bool = True,
                progress: Progress | ProgressFn | None = None) -> SourceInfo:
    """Load (or find in the cache) a model source and describe it: its layers (a meta-device
    pass) and blocks. `weights` "auto": ImageNet weights where they are on this machine, else
    the shipped trained ResNet-20 (`app.samples.default_source`; nothing is downloaded);
    "shipped": that net.

    `warm_up` runs one forward pass on a blank image after a fresh load: the first pass through
    a new model is several times slower than the next (kernel selection, allocations), and it
    is better spent here than on the user's first image."""
    import torch

    from resnet_studio.app.samples import AUTO, SHIPPED, default_source, shipped_label
    from resnet_studio.core.analysis.features import block_names, list_layers

    progress = Progress.of(progress)
    asked = None
    if weights in (AUTO, SHIPPED):
        asked, chosen = model_key(model, weights), default_source(model, weights)
        model, weights = chosen.model, chosen.weights
    fresh = not models.cached(model, weights)
    with models.lease(model, weights, progress=progress) as source:
        shape = source.preprocess.input_shape
        layers = tuple((r.name, tuple(r.shape)) for r in list_layers(source.model, shape))
        if warm_up and fresh:
            with torch.no_grad():
                source.model.eval()(torch.zeros((1, *shape)))
        shipped = shipped_label(weights)
        return SourceInfo(model=model, weights=str(weights), name=source.spec.name,
                          kind=source.kind, label=shipped or source.label,
                          categories=tuple(source.categories), input_shape=shape, layers=layers,
                          blocks=tuple(block_names(source.model)), asked=asked,
                          shipped=shipped is not None)
