"""What a dataset will occupy in memory, known from its name before a byte of it is loaded, and
the check each loader makes before it allocates (`core.common.budget`).

A dataset lives in memory as uint8 images (N x C x H x W bytes). Loading adds: the channel
statistics' float64 sample where they are measured (synthetic sets, image folders: up to
20,000 images, 8 bytes a pixel, twice while it is scaled), the synthetic generator's per-image
draws (stroke ends, angles, colours: under 400 bytes an image), an image folder's decoded
copies (the resized images, their arrays and the stacked tensor: three copies at the peak),
and for a resized CIFAR or MNIST the files' own images plus a float32 chunk of 4,096 before
and after resizing.
"""

from __future__ import annotations

from dataclasses import dataclass

from resnet_studio.core.common.budget import check_memory

STATS_SAMPLE = 20_000  # images `channel_stats` converts to float64 (see dataset.py)
RESIZE_CHUNK = 4096  # images `resize_data` interpolates at once, in float32
SYNTHETIC_DRAWS = 400  # bytes of random draws per synthetic image, held until it is drawn
FOLDER_COPIES = 3
# name -> (channels, side, classes, images in the files: training + test split)
KNOWN = {"cifar10": (3, 32, 10, 60_000), "cifar100": (3, 32, 100, 60_000),
         "mnist": (1, 28, 10, 70_000), "fashionmnist": (1, 28, 10, 70_000)}


@dataclass(frozen=True)
class DatasetFootprint:
    """A dataset's geometry and what loading it takes; `images` is None for an image folder
    until its files are listed (its loader checks again then)."""

    name: str
    channels: int
    side: int
    classes: int | None
    images: int | None
    native_side: int | None = None  # the files' own side when `side` is a resize of it
    per_image_extra: int = 0  # bytes per image held while loading (synthetic draws)
    copies: int = 1  # copies of the images alive at the loading peak
    measures_stats: bool = True  # False: the dataset's published mean and std are used

    @property
    def image_bytes(self) -> int:
        return (self.images or 0) * self.channels * self.side * self.side

    def peak_bytes(self) -> int:
        """Bytes alive at the loading peak: the images (and any copies or the pre-resize
        originals), the statistics' float64 sample and per-image extras."""
        n = self.images or 0
        pixels = self.channels * self.side * self.side
        native = 0
        if self.native_side:
            native_pixels = self.channels * self.native_side ** 2
            native = n * native_pixels + 4 * min(n, RESIZE_CHUNK) * (native_pixels + pixels)
        stats = 2 * 8 * min(n, STATS_SAMPLE) * pixels if self.measures_stats else 0
        return self.copies * self.image_bytes + native + stats + n * self.per_image_extra


def dataset_footprint(name: str, image_size: int | None = None) -> DatasetFootprint:
    """The footprint of a dataset string (`synthetic:...`, `cifar10`, `imagefolder:PATH`)
    resized to `image_size`; raises DatasetError for a name `load_dataset` would refuse."""
    from resnet_studio.core.data import DEFAULT_FOLDER_SIZE, parse_dataset
    from resnet_studio.core.data.synthetic import SyntheticOptions

    kind, rest = parse_dataset(name)
    if kind == "synthetic":
        opts = SyntheticOptions.parse(rest)
        side = int(image_size or opts.size)
        return DatasetFootprint(name, opts.channels, side, opts.classes, opts.train + opts.val,
                                per_image_extra=SYNTHETIC_DRAWS)
    if kind == "imagefolder":
        return DatasetFootprint(name, 3, int(image_size or DEFAULT_FOLDER_SIZE), None, None,
                                copies=FOLDER_COPIES)
    channels, side, classes, images = KNOWN[kind]
    resized = bool(image_size) and image_size != side
    return DatasetFootprint(name, channels, int(image_size) if resized else side, classes,
                            images, native_side=side if resized else None, measures_stats=False)


def check_dataset_memory(footprint: DatasetFootprint, *, limit: int | None = None) -> None:
    """BudgetError if loading the dataset would not fit in the available memory."""
    f = footprint
    check_memory(f"loading {f.name} ({f.images or 0:,} images of {f.channels}x{f.side}x{f.side})",
                 f.peak_bytes(), {"images": f.copies * f.image_bytes,
                                  "while loading": f.peak_bytes() - f.copies * f.image_bytes},
                 limit=limit, advice="Use fewer or smaller images")


__all__ = ["DatasetFootprint", "check_dataset_memory", "dataset_footprint"]
