"""MNIST and Fashion-MNIST through torchvision's dataset classes (`MNIST/raw/` under the
datasets folder), downloaded on demand from torchvision's mirrors; files put there by hand,
packed or not, are used as they are."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import torch

from resnet_studio.core.common.progress import ProgressFn
from resnet_studio.core.data import download as dl
from resnet_studio.core.data.dataset import DatasetError, DatasetInfo, ImageData, split_holdout

_MNIST = {
    "mnist": dict(title="MNIST", cls="MNIST", mean=(0.1307,), std=(0.3081,), flip=False),
    "fashionmnist": dict(title="Fashion-MNIST", cls="FashionMNIST", mean=(0.2860,),
                         std=(0.3530,), flip=True),
}


def load_mnist(kind: str, root: Path, *, val_fraction: float = 0.1, download: bool = True,
               progress: ProgressFn | None = None) -> ImageData:
    import torchvision.datasets as tvd

    c = _MNIST[kind]
    cls = getattr(tvd, c["cls"])
    raw = root / c["cls"] / "raw"
    files = [name[:-3] for name, _ in cls.resources]  # torchvision keeps them un-gzipped
    for f in files:  # .gz files put there by hand
        if not (raw / f).is_file() and (raw / f"{f}.gz").is_file():
            try:
                with gzip.open(raw / f"{f}.gz", "rb") as src, open(raw / f, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except (OSError, EOFError) as e:
                (raw / f).unlink(missing_ok=True)
                raise DatasetError(f"{raw / f}.gz is damaged ({e}); delete it and try "
                                   "again") from None

    def fetch() -> None:
        for name, md5 in cls.resources:
            if (raw / name[:-3]).is_file():
                continue
            gz = raw / name
            dl.download_checked([m + name for m in cls.mirrors], gz, md5, progress)
            with gzip.open(gz, "rb") as src, open(raw / name[:-3], "wb") as dst:
                shutil.copyfileobj(src, dst)
            gz.unlink(missing_ok=True)

    dl.fetch_missing(
        c["title"], lambda: [f for f in files if not (raw / f).is_file()], fetch,
        download=download, incomplete="download incomplete",
        how=lambda missing: f"Download {', '.join(m + '.gz' for m in missing)} from "
        f"{cls.mirrors[0]} and put them (packed or unpacked) into {raw}")
    try:
        train = cls(str(root), train=True, download=False)
        test = cls(str(root), train=False, download=False)
    except (RuntimeError, ValueError, TypeError, OSError) as e:
        raise DatasetError(f"{c['title']} files in {raw} are damaged ({e}); delete them and "
                           "try again") from None
    to_x = lambda d: d.data.to(torch.uint8).unsqueeze(1).contiguous()
    info = DatasetInfo(name=kind, num_classes=10, in_channels=1, image_size=28,
                       classes=tuple(cls.classes), mean=c["mean"], std=c["std"], crop_pad=2,
                       flip=c["flip"])
    return split_holdout(info, to_x(train), train.targets.to(torch.int64), to_x(test),
                  test.targets.to(torch.int64), val_fraction)


__all__ = ["load_mnist"]
