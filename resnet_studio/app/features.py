"""Inside the model for one image: a layer's feature maps as one mosaic, and a residual block
taken apart into x, F(x) and F(x) + x. The use cases under the Images tab's model views and
`resnet-studio features`.

* `layer_maps(source, image, layer)` — the layer's output for the image, preprocessed the
  way the source's weights expect; `mosaic_image(maps, options)` tiles and colours it. The
  command writes the mosaic as a PNG (`write_mosaic_png`), the tab shows it in one ImageItem.
* `feature_mosaic(models, info, ...)` and `block_view(models, info, ...)` — the tab's jobs: the
  model leased from the shared `ModelSourceCache` while its hooks run, numpy arrays back.

Threading: the functions run in a worker (a `LatestJob`'s thread, or the command's main
thread). Results are numpy arrays and dataclasses of them, never tensors or modules. Every
progress report is a cancellation point.

Imports no torch at module level: the window imports this module at start-up.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from resnet_studio.app.images import SourceInfo
from resnet_studio.core.common.progress import Progress, ProgressFn
from resnet_studio.core.images import LoadedImage

if TYPE_CHECKING:
    from resnet_studio.app.model_sources import ModelSourceCache
    from resnet_studio.core.analysis.features import BlockDecomposition, FeatureMaps
    from resnet_studio.core.weights import ModelSource

MOSAIC_PAD = 1  # pixels between tiles
WHITE = (255, 255, 255)

# A blue-white-red diverging map (ColorBrewer RdBu, reversed): negative blue, 0 white.
_DIVERGING_ANCHORS = np.array([
    (33, 102, 172), (103, 169, 207), (209, 229, 240), (247, 247, 247),
    (253, 219, 199), (239, 138, 98), (178, 24, 43)], dtype=np.float64)


def diverging_lut() -> np.ndarray:
    """256 x 3 uint8, blue (most negative) through white (0) to red (most positive)."""
    x = np.linspace(0, len(_DIVERGING_ANCHORS) - 1, 256)
    cols = [np.interp(x, np.arange(len(_DIVERGING_ANCHORS)), _DIVERGING_ANCHORS[:, c])
            for c in range(3)]
    return np.round(np.stack(cols, axis=1)).astype(np.uint8)


DIVERGING = diverging_lut()


def _to_unit(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip((a - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.zeros_like(a)


def _lut_image(a: np.ndarray, lut: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return lut[np.round(_to_unit(a.astype(np.float64), lo, hi) * 255).astype(np.uint8)]


# -- feature maps ----------------------------------------------------------------------------------

class MosaicOptions(NamedTuple):
    """How a layer's maps are tiled: `normalise` "per-channel" or "global", `colormap`
    "viridis" or "gray", tiles sorted by descending `sort_by` ("mean", "std", "max"; None:
    channel order), `cols` tiles per row (None: square-ish)."""

    normalise: str = "per-channel"
    colormap: str = "viridis"
    sort_by: str | None = "mean"
    cols: int | None = None


DEFAULT_OPTIONS = MosaicOptions()


@dataclass
class FeatureMosaic:
    """One layer's maps for one image, tiled into one RGB picture."""

    maps: FeatureMaps  # C x H x W float32 and per-channel statistics
    rgb: np.ndarray  # the mosaic, H x W x 3 uint8
    order: np.ndarray  # channel shown in tile i
    rows: int
    cols: int
    lut: np.ndarray  # 256 x 3, the colormap
    options: MosaicOptions

    def tile_at(self, col: int, row: int) -> int | None:
        """The channel under mosaic pixel (col, row), or None on padding / an empty cell."""
        h, w = self.maps.size
        q, dx = divmod(col, w + MOSAIC_PAD)
        p, dy = divmod(row, h + MOSAIC_PAD)
        i = p * self.cols + q
        if dx >= w or dy >= h or q >= self.cols or i >= self.maps.channels:
            return None
        return int(self.order[i])

    def tile_of(self, channel: int) -> int:
        """Where `channel` is in the mosaic (0 = the first tile)."""
        return int(np.flatnonzero(self.order == channel)[0])

    def channel_rgb(self, channel: int) -> np.ndarray:
        """One channel alone, stretched to its own range, H x W x 3 uint8."""
        m = self.maps.maps[channel]
        return _lut_image(m, self.lut, float(m.min()), float(m.max()))


def layer_maps(source: ModelSource, image: LoadedImage, layer: str) -> FeatureMaps:
    """`layer`'s output for `image` (preprocessed as `source`'s weights expect)."""
    from resnet_studio.core.analysis.features import feature_maps

    return feature_maps(source.model, source.preprocess(image), layer)


def mosaic_image(maps: FeatureMaps, options: MosaicOptions = DEFAULT_OPTIONS, *,
                 gap_rgb: tuple[int, int, int] = WHITE) -> FeatureMosaic:
    """All channels tiled and coloured; `gap_rgb` fills the padding and the empty cells."""
    from resnet_studio.core.analysis import features as F

    gray = F.mosaic(maps, normalise=options.normalise, sort_by=options.sort_by,
                    cols=options.cols, pad=MOSAIC_PAD)
    rgb = F.colorize(gray, options.colormap)
    rgb[~F.mosaic_tile_mask(maps.channels, *maps.size, cols=options.cols,
                            pad=MOSAIC_PAD)] = gap_rgb
    rows, cols = F.mosaic_grid(maps.channels, options.cols)
    return FeatureMosaic(maps=maps, rgb=rgb, order=F.mosaic_order(maps, options.sort_by),
                         rows=rows, cols=cols, lut=F.colormap_lut(options.colormap),
                         options=options)


def feature_mosaic(models: ModelSourceCache, info: SourceInfo, image: LoadedImage, layer: str,
                   options: MosaicOptions = DEFAULT_OPTIONS, *,
                   gap_rgb: tuple[int, int, int] = WHITE, cached: FeatureMaps | None = None,
                   progress: Progress | ProgressFn | None = None) -> FeatureMosaic:
    """The tab's job: `layer`'s mosaic for `image`; `cached` maps (same image and layer, other
    options) skip the model."""
    if cached is None:
        with info.lease(models, progress) as source:
            cached = layer_maps(source, image, layer)
    return mosaic_image(cached, options, gap_rgb=gap_rgb)


def default_scale(maps: FeatureMaps, at_least: int = 32) -> int:
    """How many times to enlarge each map pixel so a map is at least `at_least` pixels."""
    return max(1, -(-at_least // max(maps.size)))


def write_mosaic_png(path: str | Path, mosaic: FeatureMosaic, scale: int = 1) -> tuple[int, int]:
    """The mosaic as an RGB PNG, each map pixel `scale` x `scale`, written atomically; returns
    the picture's (width, height)."""
    from PIL import Image

    from resnet_studio.core.common.files import write_bytes_atomic

    rgb = mosaic.rgb
    if scale > 1:
        rgb = rgb.repeat(scale, axis=0).repeat(scale, axis=1)
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, "PNG")
    write_bytes_atomic(Path(path), buf.getvalue())
    return rgb.shape[1], rgb.shape[0]


# -- a residual block taken apart -------------------------------------------------------------------

@dataclass
class BlockPlanes:
    """x, F(x) and F(x) + x of one block for one image: one channel (or their mean) each, on
    one shared diverging colour scale."""

    decomposition: BlockDecomposition  # all channels, numpy
    channel: int  # -1: mean over channels
    images: tuple[np.ndarray, np.ndarray, np.ndarray]  # x, F(x), F(x)+x as H x W x 3 uint8
    planes: tuple[np.ndarray, np.ndarray, np.ndarray]  # the H x W values shown
    limit: float  # the colour scale is -limit..+limit

    @property
    def residual_ratio(self) -> float | None:
        """‖F(x)‖ / ‖x‖ over all channels (None without a shortcut signal): how much the block
        changes its input."""
        norm = lambda a: float(np.sqrt(np.square(a, dtype=np.float64).sum()))
        nx = norm(self.decomposition.shortcut)
        return norm(self.decomposition.residual) / nx if nx > 0 else None


def block_planes(decomposition: BlockDecomposition, channel: int = -1) -> BlockPlanes:
    """The planes and pictures of one channel (-1, or one past the last: the mean)."""
    if channel >= decomposition.total.shape[0]:
        channel = -1

    def plane(a: np.ndarray) -> np.ndarray:
        return a.mean(axis=0) if channel < 0 else a[channel]

    d = decomposition
    planes = (plane(d.shortcut), plane(d.residual), plane(d.total))
    limit = max(float(np.abs(p).max()) for p in planes) or 1.0
    images = tuple(_lut_image(p, DIVERGING, -limit, limit) for p in planes)
    return BlockPlanes(decomposition=d, channel=channel, images=images, planes=planes,
                       limit=limit)


def block_view(models: ModelSourceCache, info: SourceInfo, image: LoadedImage, block: str,
               channel: int = -1, *, cached: BlockDecomposition | None = None,
               progress: Progress | ProgressFn | None = None) -> BlockPlanes:
    """The tab's job: `block` taken apart for `image`; `cached` (same image and block, another
    channel) skips the model."""
    if cached is None:
        from resnet_studio.core.analysis.features import block_decomposition

        with info.lease(models, progress) as source:
            cached = block_decomposition(source.model, source.preprocess(image), block)
    return block_planes(cached, channel)
