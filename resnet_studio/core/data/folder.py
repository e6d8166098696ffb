"""Image folders (`imagefolder:PATH`): one sub-folder per class, every image squashed to a
square side; a deterministic, stratified held-out split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from resnet_studio.core.common.progress import ProgressFn
from resnet_studio.core.data.dataset import DatasetError, DatasetInfo, ImageData, channel_stats
from resnet_studio.core.data.footprint import FOLDER_COPIES, DatasetFootprint, check_dataset_memory

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm",
                  ".pgm")
DEFAULT_FOLDER_SIZE = 32


def load_image_folder(path: str | Path, *, val_fraction: float = 0.1,
                      image_size: int = DEFAULT_FOLDER_SIZE,
                      progress: ProgressFn | None = None) -> ImageData:
    """PATH/<class>/<image>: every image resized (squashed) to image_size x image_size.

    Greyscale folders give 1 channel, anything else 3. The held-out split takes `val_fraction`
    of every class (at least one image where a class has two or more), with a fixed seed.
    """
    from PIL import Image, UnidentifiedImageError

    root = Path(path).expanduser()
    if not root.is_dir():
        raise DatasetError(f"image folder {root} does not exist or is not a folder")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    loose = [p.name for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if not class_dirs:
        hint = (f" (found {len(loose)} images directly in it: put them into one sub-folder per "
                "class)") if loose else ""
        raise DatasetError(f"image folder {root} has no class sub-folders{hint}; expected "
                           f"{root}/<class name>/<image files>")
    listing = {d.name: sorted(p for p in d.rglob("*") if p.is_file()
                              and p.suffix.lower() in IMAGE_SUFFIXES
                              and not p.name.startswith("."))
               for d in class_dirs}
    empty = [name for name, files in listing.items() if not files]
    listing = {k: v for k, v in listing.items() if v}
    if len(listing) < 2:
        raise DatasetError(
            f"image folder {root} needs at least 2 class sub-folders with images "
            f"({IMAGE_SUFFIXES[0]}, {IMAGE_SUFFIXES[1]}, ...); found {len(listing)}"
            + (f" (empty: {', '.join(empty[:5])})" if empty else ""))
    total = sum(len(v) for v in listing.values())
    check_dataset_memory(DatasetFootprint(f"imagefolder:{root}", 3, image_size, len(listing),
                                          total, copies=FOLDER_COPIES))
    images: list[np.ndarray] = []
    labels: list[int] = []
    skipped: list[str] = []
    grey = True
    decoded: list[tuple[Image.Image, int]] = []
    done = 0
    for label, (_name, files) in enumerate(listing.items()):
        for f in files:
            done += 1
            try:
                with Image.open(f) as im:
                    im.load()
                    im = im.convert("L") if im.mode in ("1", "L", "I", "I;16", "F") else \
                        im.convert("RGB")
            except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
                skipped.append(str(f))
                continue
            grey = grey and im.mode == "L"
            decoded.append((im.resize((image_size, image_size), Image.BILINEAR), label))
            if progress and done % 200 == 0:
                progress(done, total, "reading images")
    if progress:
        progress(total, total, "reading images")
    counts = np.bincount([lb for _, lb in decoded], minlength=len(listing))
    bad = [name for name, n in zip(listing, counts) if n == 0]
    if bad:
        raise DatasetError(f"image folder {root}: no readable images in "
                           f"{', '.join(bad[:5])} ({len(skipped)} unreadable file(s), e.g. "
                           f"{skipped[0] if skipped else '?'})")
    for im, label in decoded:
        arr = np.asarray(im.convert("L" if grey else "RGB"), dtype=np.uint8)
        images.append(arr[None] if grey else arr.transpose(2, 0, 1))
        labels.append(label)
    x = torch.from_numpy(np.stack(images))
    y = torch.tensor(labels, dtype=torch.int64)
    # stratified split with a fixed seed
    rng = np.random.default_rng(20151210)
    val_idx: list[int] = []
    for c in range(len(listing)):
        idx = np.flatnonzero(y.numpy() == c)
        k = int(round(len(idx) * val_fraction))
        k = min(max(k, 1), len(idx) - 1) if val_fraction > 0 and len(idx) >= 2 else 0
        val_idx.extend(rng.permutation(idx)[:k].tolist())
    is_val = torch.zeros(len(y), dtype=torch.bool)
    is_val[val_idx] = True
    mean, std = channel_stats(x[~is_val])
    info = DatasetInfo(name=f"imagefolder:{root}", num_classes=len(listing),
                       in_channels=x.shape[1], image_size=image_size, classes=tuple(listing),
                       mean=mean, std=std, crop_pad=max(1, image_size // 8), flip=True,
                       train_size=int((~is_val).sum()), val_size=int(is_val.sum()),
                       skipped=tuple(skipped))
    return ImageData(info, x[~is_val], y[~is_val], x[is_val], y[is_val])


__all__ = ["DEFAULT_FOLDER_SIZE", "IMAGE_SUFFIXES", "load_image_folder"]
