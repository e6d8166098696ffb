"""Attribution maps as pictures (numpy only, no Qt): a heat map scaled to a percentile, coloured
through a colour map and blended over the picture the model saw."""

from __future__ import annotations

import numpy as np

from resnet_studio.core.analysis.attribution_names import COLORMAPS
from resnet_studio.core.analysis.features import colormap_lut


def heatmap(attribution: np.ndarray, *, signed: bool = False,
            clip_percentile: float = 99.0) -> np.ndarray:
    """H x W float32: the channel sum (signed, in [-1, 1]) or the sum of |values| (in [0, 1]),
    scaled so that the `clip_percentile` percentile of |values| maps to 1 (clipped above)."""
    a = np.asarray(attribution, dtype=np.float32)
    a = a if a.ndim == 2 else (a.sum(0) if signed else np.abs(a).sum(0))
    mag = np.abs(a)
    scale = float(np.percentile(mag, clip_percentile)) if mag.size else 0.0
    if scale <= 0:
        scale = float(mag.max()) if mag.size else 0.0
    if scale <= 0:
        return np.zeros_like(a)
    out = a / scale
    return np.clip(out, -1.0, 1.0) if signed else np.clip(out, 0.0, 1.0)


def lut(name: str) -> np.ndarray:
    """256 x 3 uint8: viridis, gray, hot (black-red-yellow-white), bwr (blue-white-red)."""
    if name in ("viridis", "gray", "grey"):
        return colormap_lut(name)
    t = np.linspace(0.0, 1.0, 256)
    if name == "hot":
        rgb = np.stack([np.clip(3 * t, 0, 1), np.clip(3 * t - 1, 0, 1), np.clip(3 * t - 2, 0, 1)], 1)
    elif name == "bwr":
        rgb = np.stack([np.clip(2 * t, 0, 1), 1 - np.abs(2 * t - 1), np.clip(2 - 2 * t, 0, 1)], 1)
    else:
        raise ValueError(f"unknown colormap '{name}' (choose {', '.join(COLORMAPS)})")
    return (rgb * 255 + 0.5).astype(np.uint8)


def colorize_heatmap(heat: np.ndarray, colormap: str = "viridis",
                     signed: bool = False) -> np.ndarray:
    """H x W in [0, 1] (or [-1, 1] when signed) -> H x W x 3 uint8."""
    v = (heat + 1.0) / 2.0 if signed else heat
    return lut(colormap)[np.clip(np.round(v * 255), 0, 255).astype(np.uint8)]


def overlay(image: np.ndarray | None, heat: np.ndarray, *, colormap: str = "viridis",
            signed: bool = False, opacity: float = 0.6) -> np.ndarray:
    """The coloured heat map blended over `image` (H x W x 3 or H x W uint8, same size). The
    blend is weighted by |heat| too, so zero attribution leaves the image visible."""
    colour = colorize_heatmap(heat, colormap, signed).astype(np.float32)
    if image is None:
        return colour.astype(np.uint8)
    img = np.asarray(image)
    img = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3]
    if img.shape[:2] != heat.shape:
        raise ValueError(f"image {img.shape[:2]} and heat map {heat.shape} differ in size")
    alpha = float(np.clip(opacity, 0.0, 1.0)) * np.clip(np.abs(heat), 0.0, 1.0)[..., None]
    alpha = np.maximum(alpha, 0.15 * float(np.clip(opacity, 0.0, 1.0)))
    out = img.astype(np.float32) * (1 - alpha) + colour * alpha
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def preprocessed_image(preprocess, image) -> np.ndarray:
    """The resized, centre-cropped uint8 picture the model saw (for overlays)."""
    return preprocess._crop(image)
