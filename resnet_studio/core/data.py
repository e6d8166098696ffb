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

import gzip
import hashlib
import io
import os
import pickle
import shutil
import tarfile
import tempfile
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

# progress(done, total, message): bytes for downloads, images for folders; total 0 = unknown.
Progress = Callable[[int, int, str], None]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm",
                  ".pgm")
DEFAULT_FOLDER_SIZE = 32
BUILTIN = ("synthetic", "cifar10", "cifar100", "mnist", "fashionmnist")


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


# -- names ---------------------------------------------------------------------------------

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
                 progress: Progress | None = None) -> ImageData:
    """Load (downloading if needed and allowed) a dataset as uint8 tensors on the CPU.

    `val_fraction` holds out part of the training set (CIFAR, MNIST, image folders; 0 uses the
    official test split as validation where there is one). `image_size` resizes to a square side
    (image folders default to 32; synthetic data is generated at that size).
    """
    kind, rest = parse_dataset(name)
    if not 0.0 <= val_fraction < 1.0:
        raise DatasetError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if kind == "synthetic":
        return load_synthetic(rest, image_size=image_size)
    if kind == "imagefolder":
        return load_image_folder(rest, val_fraction=val_fraction,
                                 image_size=image_size or DEFAULT_FOLDER_SIZE, progress=progress)
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


# -- synthetic -------------------------------------------------------------------------------

# How the synthetic images are drawn (units: fractions of the image side). Each class is a small
# set of "glyphs" (a few strokes each, like hand-made letters); every image is one glyph of its
# class, moved, turned, scaled and jittered, drawn in a random colour on a random background,
# with faint distractor strokes and pixel noise. Telling the classes apart means finding
# strokes and their arrangement anywhere in the image: a linear probe on the pixels does poorly,
# a small CNN learns it within a few hundred steps.
GLYPH = dict(
    variants=2,  # glyphs per class
    strokes=3,  # strokes per glyph
    distractors=2,  # faint random strokes per image
    distractor_ink=(0.2, 0.6),  # their brightness relative to the glyph's
    point_jitter=0.03,  # per-image wobble of each stroke end
    rotate_deg=15.0,
    scale=(0.85, 1.1),
    shift=0.15,
    width=(0.05, 0.08),  # stroke half-width
    contrast=(0.25, 0.5),  # ink brightness above the background
    noise=0.08,  # pixel noise (std)
)


@dataclass(frozen=True)
class SyntheticOptions:
    classes: int = 10
    size: int = 16
    channels: int = 3
    train: int = 10_000
    val: int = 2_000
    seed: int = 0  # the dataset's own seed (the glyphs and the images), not the run's

    @classmethod
    def parse(cls, text: str) -> SyntheticOptions:
        kwargs = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, eq, value = part.partition("=")
            key = key.strip()
            if not eq or key not in cls.__dataclass_fields__:
                raise DatasetError(f"synthetic: unknown option '{part}' (options: "
                                   f"{', '.join(cls.__dataclass_fields__)})")
            try:
                kwargs[key] = int(value)
            except ValueError:
                raise DatasetError(f"synthetic: {key} must be a whole number, got "
                                   f"'{value}'") from None
        return cls(**kwargs).check()

    def check(self) -> SyntheticOptions:
        if not 2 <= self.classes <= 1000:
            raise DatasetError("synthetic: classes must be 2..1000")
        if self.size < 8:
            raise DatasetError("synthetic: size must be at least 8 pixels")
        if self.channels not in (1, 3):
            raise DatasetError("synthetic: channels must be 1 or 3")
        if self.train < 1 or self.val < 0:
            raise DatasetError("synthetic: train must be positive and val not negative")
        return self

    def to_string(self) -> str:
        return "synthetic:" + ",".join(f"{k}={getattr(self, k)}"
                                       for k in self.__dataclass_fields__)


def synthetic_glyphs(classes: int, seed: int = 0) -> np.ndarray:
    """(classes, variants, strokes, 2 ends, xy) stroke end points: the class definitions."""
    g = GLYPH
    rng = np.random.default_rng([seed, 99])
    return rng.uniform(0.18, 0.82, size=(classes, g["variants"], g["strokes"], 2, 2)) \
        .astype(np.float32)


def make_synthetic(n: int, *, classes: int = 10, size: int = 16, channels: int = 3,
                   seed: int = 0, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """`n` images (uint8, N x C x size x size) and labels; a pure function of the arguments."""
    g = GLYPH
    f32 = np.float32
    glyphs = synthetic_glyphs(classes, seed)
    rng = np.random.default_rng([seed, {"train": 1, "val": 2, "test": 3}.get(split, 4)])
    y = rng.integers(0, classes, size=n)
    variant = rng.integers(0, g["variants"], size=n)
    S, K = g["strokes"], g["distractors"]
    pts = glyphs[y, variant] + rng.normal(0, g["point_jitter"], size=(n, S, 2, 2)).astype(f32)
    # turn and scale about the centre, then move
    angle = np.deg2rad(g["rotate_deg"]) * rng.uniform(-1, 1, size=n)
    scale = rng.uniform(*g["scale"], size=n)
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2).astype(f32)
    pts = np.einsum("nij,nskj->nski", rot, pts - 0.5) + 0.5
    pts += (g["shift"] * rng.uniform(-1, 1, size=(n, 1, 1, 2))).astype(f32)
    # distractors: short random strokes anywhere
    extra = rng.uniform(0.0, 1.0, size=(n, K, 2, 2)).astype(f32)
    extra[:, :, 1] = extra[:, :, 0] + 0.5 * (extra[:, :, 1] - extra[:, :, 0])
    ends = np.concatenate([pts, extra], 1)  # n, S+K, 2 ends, xy
    # distance of every pixel centre to every stroke (segment)
    coords = (np.arange(size, dtype=f32) + 0.5) / size
    px = coords[None, None, None, :]
    py = coords[None, None, :, None]
    ax, ay = ends[:, :, 0, 0, None, None], ends[:, :, 0, 1, None, None]
    vx = ends[:, :, 1, 0, None, None] - ax
    vy = ends[:, :, 1, 1, None, None] - ay
    t = np.clip(((px - ax) * vx + (py - ay) * vy) / (vx * vx + vy * vy + 1e-6), 0.0, 1.0)
    dist = np.sqrt((px - ax - t * vx) ** 2 + (py - ay - t * vy) ** 2)
    width = rng.uniform(*g["width"], size=(n, 1, 1, 1)).astype(f32)
    ink = np.clip(1.5 - dist / width, 0.0, 1.0)  # anti-aliased strokes
    weight = np.ones((n, S + K), f32)
    weight[:, S:] = rng.uniform(*g["distractor_ink"], size=(n, K))
    ink = (ink * weight[:, :, None, None]).max(1)  # n, H, W
    # colours: a random background, ink brighter by a random amount with a random tint
    bg = rng.uniform(0.1, 0.6, size=(n, channels)).astype(f32)
    fg = bg + rng.uniform(*g["contrast"], size=(n, 1)) * rng.uniform(0.6, 1.4, size=(n, channels))
    img = bg[:, :, None, None] + (fg - bg).astype(f32)[:, :, None, None] * ink[:, None]
    img += rng.normal(0, g["noise"], size=img.shape).astype(f32)
    x = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    return x, y.astype(np.int64)


def load_synthetic(options: str = "", image_size: int | None = None) -> ImageData:
    opts = SyntheticOptions.parse(options)
    if image_size:
        opts = replace(opts, size=int(image_size)).check()
    kw = dict(classes=opts.classes, size=opts.size, channels=opts.channels, seed=opts.seed)
    tx, ty = make_synthetic(opts.train, split="train", **kw)
    vx, vy = make_synthetic(opts.val, split="val", **kw)
    train_x = torch.from_numpy(tx)
    mean, std = _channel_stats(train_x)
    canonical = "synthetic" if opts == SyntheticOptions() else opts.to_string()
    info = DatasetInfo(name=canonical, num_classes=opts.classes, in_channels=opts.channels,
                       image_size=opts.size, classes=tuple(f"glyph {i}"
                                                           for i in range(opts.classes)),
                       mean=mean, std=std,
                       # every image is a fresh random draw already; shifting it further
                       # with black borders only adds straight edges that are not in the data
                       crop_pad=0, flip=False,
                       train_size=opts.train, val_size=opts.val)
    return ImageData(info, train_x, torch.from_numpy(ty), torch.from_numpy(vx),
                     torch.from_numpy(vy))


def _channel_stats(x: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std (0..1 scale) of a uint8 N x C x H x W tensor."""
    sample = x[: min(len(x), 20_000)].to(torch.float64) / 255.0
    mean = sample.mean(dim=(0, 2, 3))
    std = sample.std(dim=(0, 2, 3)).clamp_min(1e-3)
    return tuple(round(float(v), 6) for v in mean), tuple(round(float(v), 6) for v in std)


# -- downloads ----------------------------------------------------------------------------------

def _fetch_url(url: str, dest: Path, progress: Progress | None = None, label: str = "") -> None:
    """Download `url` to `dest` (via a temp file), reporting bytes. Raises OSError offline."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    req = urllib.request.Request(url, headers={"User-Agent": "resnet-studio"})
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp, os.fdopen(fd, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total, f"downloading {label or dest.name}")
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download_checked(urls: list[str], dest: Path, md5: str | None,
                      progress: Progress | None) -> None:
    errors = []
    for url in urls:
        try:
            _fetch_url(url, dest, progress, dest.name)
        except (OSError, ValueError) as e:  # URLError, timeouts, no space left
            errors.append(f"{url}: {e}")
            continue
        if md5 and _md5(dest) != md5:
            dest.unlink(missing_ok=True)
            errors.append(f"{url}: checksum mismatch")
            continue
        return
    raise OSError("; ".join(errors) or "no URL to download from")


def _extract_tar(archive: Path, dest: Path) -> None:
    """Extract without letting a member escape `dest` (absolute paths, .., links)."""
    with tarfile.open(archive, "r:*") as tar:
        try:
            tar.extractall(dest, filter="data")
        except TypeError:  # Python without tarfile filters (3.10 before 3.10.12)
            base = dest.resolve()
            for m in tar.getmembers():
                target = (dest / m.name).resolve()
                if not (m.isfile() or m.isdir()) or base not in (target, *target.parents):
                    raise tarfile.TarError(f"unsafe member {m.name!r} in {archive.name}") \
                        from None
            tar.extractall(dest)


def _unavailable(title: str, reason: str, how: str) -> DatasetUnavailable:
    return DatasetUnavailable(
        f"{title} is not on this computer and could not be downloaded ({reason}). {how}")


# -- CIFAR ---------------------------------------------------------------------------------------

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
               progress: Progress | None = None) -> ImageData:
    c = _CIFAR[kind]
    folder = root / c["folder"]
    needed = [*c["train"], *c["test"], c["meta"]]
    missing = [f for f in needed if not (folder / f).is_file()]
    archive = root / c["archive"]
    if missing and archive.is_file():  # the archive was put there by hand
        try:
            _extract_tar(archive, root)
        except (OSError, tarfile.TarError, EOFError) as e:
            raise DatasetError(f"{archive} is damaged ({e}); delete it and try again") from None
        missing = [f for f in needed if not (folder / f).is_file()]
    if missing:
        reason = "downloads are off"
        if download:
            try:
                _download_checked([c["url"]], archive, c["md5"], progress)
                if progress:
                    progress(0, 0, f"extracting {c['archive']}")
                _extract_tar(archive, root)
                archive.unlink(missing_ok=True)
                reason = ""
            except (OSError, tarfile.TarError) as e:
                reason = str(e) or type(e).__name__
        missing = [f for f in needed if not (folder / f).is_file()]
        if missing:
            raise _unavailable(
                c["title"], reason or "the archive did not contain them",
                f"Download {c['archive']} from {c['url']} and put it into {root}, or extract "
                f"it there so that {folder} holds {', '.join(missing)}")

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
    return _split(info, train_x, train_y, test_x, test_y, val_fraction)


def _split(info: DatasetInfo, x, y, test_x, test_y, val_fraction: float) -> ImageData:
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


# -- MNIST / Fashion-MNIST ---------------------------------------------------------------------

_MNIST = {
    "mnist": dict(title="MNIST", cls="MNIST", mean=(0.1307,), std=(0.3081,), flip=False),
    "fashionmnist": dict(title="Fashion-MNIST", cls="FashionMNIST", mean=(0.2860,),
                         std=(0.3530,), flip=True),
}


def load_mnist(kind: str, root: Path, *, val_fraction: float = 0.1, download: bool = True,
               progress: Progress | None = None) -> ImageData:
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
    missing = [f for f in files if not (raw / f).is_file()]
    if missing:
        reason = "downloads are off"
        if download:
            try:
                for name, md5 in cls.resources:
                    if (raw / name[:-3]).is_file():
                        continue
                    gz = raw / name
                    _download_checked([m + name for m in cls.mirrors], gz, md5, progress)
                    with gzip.open(gz, "rb") as src, open(raw / name[:-3], "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    gz.unlink(missing_ok=True)
                reason = ""
            except OSError as e:
                reason = str(e) or type(e).__name__
        missing = [f for f in files if not (raw / f).is_file()]
        if missing:
            raise _unavailable(
                c["title"], reason or "download incomplete",
                f"Download {', '.join(m + '.gz' for m in missing)} from {cls.mirrors[0]} and "
                f"put them (packed or unpacked) into {raw}")
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
    return _split(info, to_x(train), train.targets.to(torch.int64), to_x(test),
                  test.targets.to(torch.int64), val_fraction)


# -- image folders -------------------------------------------------------------------------------

def load_image_folder(path: str | Path, *, val_fraction: float = 0.1,
                      image_size: int = DEFAULT_FOLDER_SIZE,
                      progress: Progress | None = None) -> ImageData:
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
    mean, std = _channel_stats(x[~is_val])
    info = DatasetInfo(name=f"imagefolder:{root}", num_classes=len(listing),
                       in_channels=x.shape[1], image_size=image_size, classes=tuple(listing),
                       mean=mean, std=std, crop_pad=max(1, image_size // 8), flip=True,
                       train_size=int((~is_val).sum()), val_size=int(is_val.sum()),
                       skipped=tuple(skipped))
    return ImageData(info, x[~is_val], y[~is_val], x[is_val], y[is_val])


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


# -- batching --------------------------------------------------------------------------------------

def epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch, 0x5EED]).generate_state(1, np.uint64)[0]
               & 0x7FFF_FFFF_FFFF_FFFF)


class TensorBatches:
    """Training batches by indexing device tensors: no DataLoader, no worker processes.

    Step `s` (0-based) reads batch `s % steps_per_epoch` of epoch `s // steps_per_epoch`; each
    epoch's permutation and augmentation draws come from a generator seeded with (seed, epoch),
    so any step's batch can be rebuilt after a restart.
    """

    def __init__(self, data: ImageData, batch_size: int, *, seed: int = 0, augment: bool = True,
                 channels_last: bool = False):
        n = len(data.train_y)
        if batch_size < 1:
            raise DatasetError("batch size must be at least 1")
        if n < batch_size:
            raise DatasetError(f"batch size {batch_size} is larger than the training set "
                               f"({n} images); use a smaller batch")
        self.data = data
        self.batch_size = batch_size
        self.seed = seed
        self.augment = augment and (data.info.crop_pad > 0 or data.info.flip)
        self.channels_last = channels_last
        self.steps_per_epoch = n // batch_size
        self.device = data.train_x.device
        info = data.info
        mean = torch.tensor(info.mean, dtype=torch.float32, device=self.device)
        std = torch.tensor(info.std, dtype=torch.float32, device=self.device)
        self._scale = (1.0 / (255.0 * std)).view(1, -1, 1, 1)
        self._shift = (-mean / std).view(1, -1, 1, 1)
        self._epoch = -1
        self._perm: torch.Tensor | None = None
        self._offsets: torch.Tensor | None = None
        self._flips: torch.Tensor | None = None

    def _prepare_epoch(self, epoch: int) -> None:
        n = len(self.data.train_y)
        g = torch.Generator().manual_seed(epoch_seed(self.seed, epoch))
        used = self.steps_per_epoch * self.batch_size
        self._perm = torch.randperm(n, generator=g)[:used].to(self.device)
        if self.augment:
            pad = self.data.info.crop_pad
            self._offsets = torch.randint(0, 2 * pad + 1, (used, 2), generator=g).to(self.device)
            self._flips = (torch.rand(used, generator=g) < 0.5).to(self.device) \
                if self.data.info.flip else None
        self._epoch = epoch

    def epoch_of(self, step: int) -> int:
        return step // self.steps_per_epoch

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised float images and labels for 0-based training step `step`."""
        epoch, pos = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            self._prepare_epoch(epoch)
        sl = slice(pos * self.batch_size, (pos + 1) * self.batch_size)
        idx = self._perm[sl]
        x = self.data.train_x[idx]
        y = self.data.train_y[idx]
        if self.augment:
            x = self._augment(x, self._offsets[sl],
                              None if self._flips is None else self._flips[sl])
        return self.normalize(x), y

    def _augment(self, x: torch.Tensor, offsets: torch.Tensor,
                 flips: torch.Tensor | None) -> torch.Tensor:
        pad = self.data.info.crop_pad
        b, _, h, w = x.shape
        if pad:
            # He et al. 2015: pad with zeros (black), then a random crop of the original size
            xp = F.pad(x, (pad, pad, pad, pad))
            rows = (offsets[:, 0:1] + torch.arange(h, device=x.device)).view(b, 1, h, 1)
            cols = (offsets[:, 1:2] + torch.arange(w, device=x.device)).view(b, 1, 1, w)
            bidx = torch.arange(b, device=x.device).view(b, 1, 1, 1)
            cidx = torch.arange(x.shape[1], device=x.device).view(1, -1, 1, 1)
            x = xp[bidx, cidx, rows, cols]
        if flips is not None:
            x = torch.where(flips.view(b, 1, 1, 1), x.flip(3), x)
        return x

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        out = x.float() * self._scale + self._shift
        if self.channels_last:
            out = out.contiguous(memory_format=torch.channels_last)
        return out

    def eval_batches(self, batch_size: int = 1024,
                     split: str = "val") -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        x = self.data.val_x if split == "val" else self.data.train_x
        y = self.data.val_y if split == "val" else self.data.train_y
        for i in range(0, len(y), batch_size):
            yield self.normalize(x[i:i + batch_size]), y[i:i + batch_size]


__all__ = ["BUILTIN", "DatasetError", "DatasetInfo", "DatasetUnavailable", "ImageData",
           "TensorBatches", "dataset_names", "load_dataset", "load_image_folder",
           "make_synthetic", "parse_dataset", "resize_data", "synthetic_glyphs"]
