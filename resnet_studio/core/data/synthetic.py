"""The built-in synthetic dataset: procedurally drawn glyphs, offline and deterministic.

`synthetic:classes=10,size=16,channels=3,train=10000,val=2000,seed=0,easy=0` (any subset of the
options): every image is a pure function of the options, so two machines train on the same
pixels without a download. `easy=1` draws the same glyphs cleanly (EASY_GLYPH).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from resnet_studio.core.data.dataset import DatasetError, DatasetInfo, ImageData, channel_stats

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
# The clean drawing (`easy=1`): no distractors, strong ink, little noise and turning. Deep plain
# nets leave the initial plateau on it within a few hundred steps (on the cluttered default,
# plain-56 stays at chance for 400 steps at any lr we tried), so the quick Depth Lab demo can
# show the paper's Fig. 6: plain-56 learns, only slower than plain-20.
EASY_GLYPH = dict(GLYPH, distractors=0, noise=0.03, contrast=(0.5, 0.8), rotate_deg=5.0)
SYNTHETIC_CHUNK_PIXELS = 1 << 20  # image pixels drawn at once (about 100 MB of temporaries)


@dataclass(frozen=True)
class SyntheticOptions:
    classes: int = 10
    size: int = 16
    channels: int = 3
    train: int = 10_000
    val: int = 2_000
    seed: int = 0  # the dataset's own seed (the glyphs and the images), not the run's
    easy: int = 0  # 1: the clean drawing (EASY_GLYPH)

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
        if self.easy not in (0, 1):
            raise DatasetError("synthetic: easy must be 0 (cluttered) or 1 (clean)")
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
                   seed: int = 0, split: str = "train",
                   easy: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """`n` images (uint8, N x C x size x size) and labels; a pure function of the arguments."""
    g = EASY_GLYPH if easy else GLYPH
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
    width = rng.uniform(*g["width"], size=(n, 1, 1, 1)).astype(f32)
    weight = np.ones((n, S + K), f32)
    weight[:, S:] = rng.uniform(*g["distractor_ink"], size=(n, K))
    # colours: a random background, ink brighter by a random amount with a random tint
    bg = rng.uniform(0.1, 0.6, size=(n, channels)).astype(f32)
    fg = bg + rng.uniform(*g["contrast"], size=(n, 1)) * rng.uniform(0.6, 1.4, size=(n, channels))
    tint = (fg - bg).astype(f32)
    # the pixels a chunk of images at a time: the per-stroke distance maps are 20 bytes a pixel
    # and several are alive at once; the pixel noise is drawn last, chunk after chunk, which
    # draws the same numbers as one call for all (so the images do not depend on the chunking)
    x = np.empty((n, channels, size, size), np.uint8)
    step = max(1, SYNTHETIC_CHUNK_PIXELS // (size * size))
    for a in range(0, n, step):
        b = min(n, a + step)
        ink = _ink(ends[a:b], width[a:b], weight[a:b], size)
        img = bg[a:b, :, None, None] + tint[a:b, :, None, None] * ink[:, None]
        img += rng.normal(0, g["noise"], size=img.shape).astype(f32)
        x[a:b] = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    return x, y.astype(np.int64)


def _ink(ends: np.ndarray, width: np.ndarray, weight: np.ndarray, size: int) -> np.ndarray:
    """n x H x W ink of the strokes `ends` (n, strokes, 2 ends, xy): anti-aliased, the
    strongest stroke at each pixel."""
    f32 = np.float32
    coords = (np.arange(size, dtype=f32) + 0.5) / size
    px = coords[None, None, None, :]
    py = coords[None, None, :, None]
    # distance of every pixel centre to every stroke (segment)
    ax, ay = ends[:, :, 0, 0, None, None], ends[:, :, 0, 1, None, None]
    vx = ends[:, :, 1, 0, None, None] - ax
    vy = ends[:, :, 1, 1, None, None] - ay
    t = np.clip(((px - ax) * vx + (py - ay) * vy) / (vx * vx + vy * vy + 1e-6), 0.0, 1.0)
    dist = np.sqrt((px - ax - t * vx) ** 2 + (py - ay - t * vy) ** 2)
    ink = np.clip(1.5 - dist / width, 0.0, 1.0)
    return (ink * weight[:, :, None, None]).max(1)


def load_synthetic(options: str = "", image_size: int | None = None) -> ImageData:
    opts = SyntheticOptions.parse(options)
    if image_size:
        opts = replace(opts, size=int(image_size)).check()
    kw = dict(classes=opts.classes, size=opts.size, channels=opts.channels, seed=opts.seed,
              easy=bool(opts.easy))
    tx, ty = make_synthetic(opts.train, split="train", **kw)
    vx, vy = make_synthetic(opts.val, split="val", **kw)
    train_x = torch.from_numpy(tx)
    mean, std = channel_stats(train_x)
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


__all__ = ["EASY_GLYPH", "GLYPH", "SyntheticOptions", "load_synthetic", "make_synthetic", "synthetic_glyphs"]
