"""The block graph as a file: PNG (raster, on white) or SVG (vector, text stays text).

Both draw the whole scene, not just what the view shows, through a `render(painter, target,
source)` callback (the scene plus the legend), and write the file atomically.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize
from PySide6.QtGui import QColor, QImage, QPainter

from resnet_studio.core.common.files import write_bytes_atomic

Render = Callable[[QPainter, QRectF, QRectF], None]  # painter, target rect, scene rect


def write_png(render: Render, source: QRectF, path: str | Path, scale: float = 2.0) -> None:
    """`source` (scene units) at `scale` pixels per unit, within what QImage and memory take.
    Raises OSError when the folder is missing or the image cannot be made."""
    path = _existing_folder(path, "PNG")
    scale = max(0.05, min(scale, 30000 / max(source.width(), source.height()),
                          math.sqrt(200e6 / max(source.width() * source.height(), 1))))
    size = QSize(max(1, math.ceil(source.width() * scale)),
                 max(1, math.ceil(source.height() * scale)))
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    if image.isNull():
        raise OSError(f"cannot export the graph as PNG: a {size.width()}×{size.height()} "
                      "image is too large")
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        render(painter, QRectF(0, 0, size.width(), size.height()), source)
    finally:
        painter.end()
    data, buffer = _buffer()
    if not image.save(buffer, "PNG"):
        raise OSError(f"could not encode the PNG file {path}")
    write_bytes_atomic(path, bytes(data.data()))


def write_svg(render: Render, source: QRectF, path: str | Path,
              title: str = "ResNet block graph") -> None:
    """`source` as an SVG, one scene unit per CSS pixel. Raises OSError when the folder is
    missing or the file cannot be written."""
    from PySide6.QtSvg import QSvgGenerator

    path = _existing_folder(path, "SVG")
    data, buffer = _buffer()
    target = QRectF(0, 0, source.width(), source.height())
    gen = QSvgGenerator()
    gen.setOutputDevice(buffer)
    gen.setSize(QSize(math.ceil(source.width()), math.ceil(source.height())))
    gen.setViewBox(target)
    gen.setResolution(96)
    gen.setTitle(title)
    gen.setDescription("Exported from ResNet Studio")
    painter = QPainter()
    if not painter.begin(gen):
        raise OSError(f"could not write the SVG file {path}")
    try:
        painter.fillRect(target, QColor("white"))
        render(painter, target, source)
    finally:
        painter.end()
    write_bytes_atomic(path, bytes(data.data()))


def _existing_folder(path: str | Path, kind: str) -> Path:
    # write_bytes_atomic would create missing folders; an export names an existing one
    path = Path(path)
    if not path.parent.is_dir():
        raise OSError(f"could not write the {kind} file {path}: folder {path.parent} "
                      "does not exist")
    return path


def _buffer() -> tuple[QByteArray, QBuffer]:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    return data, buffer
