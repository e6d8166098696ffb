"""CIFAR-10 and CIFAR-100 in torchvision's layout (`cifar-10-batches-py/` under the datasets
folder), downloaded on demand; the pickled batches are read without running code."""

from __future__ import annotations

import io
import pickle
import tarfile
import warnings
from pathlib import Path

import numpy as np
import torch

from resnet_studio.core.common.progress import ProgressFn
from resnet_studio.core.data import download as dl
from resnet_studio.core.data.dataset import DatasetError, DatasetInfo, ImageData, split_holdout

_CIFAR = {
    "cifar10": dict(title="CIFAR-10", folder="cifar-10-batches-py",
                    archive="cifar-10-python.tar.gz",
                    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                    md5="c58f30108f718f92721af3b95e74349a",
                    train=[f"data_batch_{i}" for i in range(1, 6)], test=["test_batch"],
                    meta="batches.meta", label_key="labels", names_key="label_names",
                    mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616)),
    "cifar100": dict(title="CIFAR-100", folder="cifar-100-python",
                     archive="cifar-100-python.tar.gz",
                     url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                     md5="eb9058c3a382ffc7106e4002c42a8d85",
                     train=["train"], test=["test"], meta="meta", label_key="fine_labels",
                     names_key="fine_label_names",
                     mean=(0.5071, 0.4865, 0.4409), std=(0.2673, 0.2564, 0.2762)),
}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles the CIFAR batches (dicts, lists, numpy arrays) and nothing else, so a
    tampered file in the datasets folder cannot run code."""

    ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"),
               ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"),
               ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
               ("_codecs", "encode"), ("copyreg", "_reconstructor"),
               ("builtins", "object")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _read_cifar_file(path: Path) -> dict:
    try:
        with open(path, "rb") as f, warnings.catch_warnings():
            # the real files name numpy.core.multiarray (numpy 1), deprecated under numpy 2
            warnings.simplefilter("ignore", DeprecationWarning)
            entry = _ArrayUnpickler(io.BufferedReader(f), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as e:
        raise DatasetError(f"{path} is damaged ({e}); delete its folder and try again") from None
    if not isinstance(entry, dict):
        raise DatasetError(f"{path} is not a CIFAR batch file")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in entry.items()}


def load_cifar(kind: str, root: Path, *, val_fraction: float = 0.1, download: bool = True,
               progress: ProgressFn | None = None) -> ImageData:
    c = _CIFAR[kind]
    folder = root / c["folder"]
    needed = [*c["train"], *c["test"], c["meta"]]
    missing = lambda: [f for f in needed if not (folder / f).is_file()]
    archive = root / c["archive"]
    if missing() and archive.is_file():  # the archive was put there by hand
        try:
            dl.extract_tar(archive, root)
        except (OSError, tarfile.TarError, EOFError) as e:
            raise DatasetError(f"{archive} is damaged ({e}); delete it and try again") from None

    def fetch() -> None:
        dl.download_checked([c["url"]], archive, c["md5"], progress)
        if progress:
            progress(0, 0, f"extracting {c['archive']}")
        dl.extract_tar(archive, root)
        archive.unlink(missing_ok=True)

    dl.fetch_missing(
        c["title"], missing, fetch, download=download, incomplete="the archive did not contain "
        "them", how=lambda files: f"Download {c['archive']} from {c['url']} and put it into "
        f"{root}, or extract it there so that {folder} holds {', '.join(files)}")

    def read(files):
        xs, ys = [], []
        for name in files:
            entry = _read_cifar_file(folder / name)
            try:
                data = np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
                labels = np.asarray(entry[c["label_key"]], dtype=np.int64)
            except (KeyError, ValueError) as e:
                raise DatasetError(f"{folder / name} is not a {c['title']} batch ({e})") from None
            if len(labels) != len(data):
                raise DatasetError(f"{folder / name}: {len(data)} images but {len(labels)} labels")
            xs.append(data)
            ys.append(labels)
        return torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))

    train_x, train_y = read(c["train"])
    test_x, test_y = read(c["test"])
    meta = _read_cifar_file(folder / c["meta"])
    names = tuple(str(n) for n in meta.get(c["names_key"], []))
    num_classes = 10 if kind == "cifar10" else 100
    names = names if len(names) == num_classes else tuple(str(i) for i in range(num_classes))
    info = DatasetInfo(name=kind, num_classes=num_classes, in_channels=3, image_size=32,
                       classes=names, mean=c["mean"], std=c["std"], crop_pad=4, flip=True)
    return split_holdout(info, train_x, train_y, test_x, test_y, val_fraction)


__all__ = ["load_cifar"]
