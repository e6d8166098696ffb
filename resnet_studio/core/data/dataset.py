"""A dataset in memory (`ImageData`: uint8 images, int64 labels, a train/validation split, and
the facts in `DatasetInfo`), the errors loading one raises, and what every source shares:
channel statistics, the held-out split, resizing."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F


class DatasetError(ValueError):
    """A dataset that cannot be used as asked (empty folder, unreadable files, bad name)."""


class DatasetUnavailable(DatasetError):
    """The dataset's files are missing and could not be downloaded (offline, no space...)."""


@dataclass(frozen=True)
class DatasetInfo:
    name: str  # the canonical dataset string
    num_classes: int
    in_channels: int
    image_size: int  # square side after loading
    classes: tuple[str, ...]
    mean: tuple[float, ...]  # per channel, on the 0..1 scale
    std: tuple[float, ...]
    crop_pad: int = 0  # augmentation: pad by this many pixels, then a random crop back
    flip: bool = False  # augmentation: random horizontal flip
    train_size: int = 0
    val_size: int = 0
    skipped: tuple[str, ...] = ()  # files that could not be read (image folders)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["skipped"] = self.skipped[:20]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


@dataclass
class ImageData:
    """uint8 images (N, C, H, W) and int64 labels, split into train and validation."""

    info: DatasetInfo
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    extra: dict = field(default_factory=dict)

    def to(self, device: torch.device | str) -> ImageData:
        move = lambda t: t.to(device, non_blocking=True)
        return replace(self, train_x=move(self.train_x), train_y=move(self.train_y),
                       val_x=move(self.val_x), val_y=move(self.val_y))


def channel_stats(x: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std (0..1 scale) of a uint8 N x C x H x W tensor."""
    sample = x[: min(len(x), 20_000)].to(torch.float64) / 255.0
    mean = sample.mean(dim=(0, 2, 3))
    std = sample.std(dim=(0, 2, 3)).clamp_min(1e-3)
    return tuple(round(float(v), 6) for v in mean), tuple(round(float(v), 6) for v in std)


def split_holdout(info: DatasetInfo, x, y, test_x, test_y, val_fraction: float) -> ImageData:
    """Hold out `val_fraction` of the training set (fixed seed, the same for every run);
    0 validates on the official test split."""
    if val_fraction > 0:
        n_val = max(1, int(round(len(x) * val_fraction)))
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(20151210))
        val_idx, train_idx = order[:n_val].sort().values, order[n_val:].sort().values
        data = ImageData(info, x[train_idx], y[train_idx], x[val_idx], y[val_idx],
                         extra={"test_x": test_x, "test_y": test_y})
    else:
        data = ImageData(info, x, y, test_x, test_y)
    data.info = replace(info, train_size=len(data.train_y), val_size=len(data.val_y))
    return data


def resize_data(data: ImageData, size: int) -> ImageData:
    def rs(x):
        if len(x) == 0:
            return x.new_zeros((0, x.shape[1], size, size))
        out = [F.interpolate(x[i:i + 4096].float(), size=(size, size), mode="bilinear",
                             antialias=True, align_corners=False)
               for i in range(0, len(x), 4096)]
        return torch.cat(out).round_().clamp_(0, 255).to(torch.uint8)

    info = replace(data.info, image_size=size,
                   crop_pad=max(1, round(data.info.crop_pad * size / data.info.image_size)))
    return replace(data, info=info, train_x=rs(data.train_x), val_x=rs(data.val_x))


__all__ = ["DatasetError", "DatasetInfo", "DatasetUnavailable", "ImageData", "channel_stats",
           "resize_data", "split_holdout"]
