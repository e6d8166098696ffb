"""How an attribution map is shown and saved, for the tab's grid and Export and for
`resnet-studio attribute --out/--npy`: the same picture from the same display settings.

Display settings only change the picture: the stored map is redrawn, never recomputed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from resnet_studio.core.common.files import write_bytes_atomic

if TYPE_CHECKING:
    from resnet_studio.app.attribution import AttributionCell


def default_colormap(signed: bool) -> str:
    """bwr for signed values (blue negative, red positive), viridis for |values|."""
    return "bwr" if signed else "viridis"


@dataclass(frozen=True)
class Display:
    signed: bool = False  # the signed channel sum, or the sum of |values|
    colormap: str = "viridis"
    opacity: float = 0.6  # of the heat map over the picture, 0..1
    clip_percentile: float = 99.0  # this percentile of |values| gets the full colour

    def with_signed(self, signed: bool) -> Display:
        """Signed values on or off; the default colour map of one becomes the other's."""
        colormap = self.colormap
        if colormap == default_colormap(not signed):
            colormap = default_colormap(signed)
        return replace(self, signed=signed, colormap=colormap)


def render(cell: AttributionCell, display: Display) -> np.ndarray:
    """H x W x 3 uint8: the cell's heat map over the picture its model saw."""
    return render_map(cell.result.attribution, cell.image, display)


def render_map(attribution: np.ndarray, image: np.ndarray | None, display: Display) -> np.ndarray:
    """H x W x 3 uint8: a map (C x H x W) over `image` (dropped when its size differs)."""
    from resnet_studio.core.analysis.attribution_pictures import heatmap, overlay

    heat = heatmap(attribution, signed=display.signed, clip_percentile=display.clip_percentile)
    picture = image if image is not None and image.shape[:2] == heat.shape else None
    return overlay(picture, heat, colormap=display.colormap, signed=display.signed,
                   opacity=display.opacity)


def write_map(cell: AttributionCell, png: str | Path, display: Display,
              npy: str | Path | None = None) -> tuple[Path, Path | None]:
    """The overlay as PNG at `png` and, if given, the raw C x H x W map as `.npy`; each file
    written atomically."""
    from PIL import Image

    png = Path(png)
    buf = io.BytesIO()
    Image.fromarray(render(cell, display)).save(buf, format="PNG")
    write_bytes_atomic(png, buf.getvalue())
    if npy is not None:
        npy = Path(npy)
        buf = io.BytesIO()
        np.save(buf, cell.result.attribution)
        write_bytes_atomic(npy, buf.getvalue())
    return png, npy
