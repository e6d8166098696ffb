"""pyqtgraph set-up shared by every figure: a layout on the theme's background, styled plots,
and export; `restyle_plots` repaints the figures already made when the theme changes.

Curves are created once and updated with `setData` (pyqtgraph's scrollingPlots example);
`styled_plot` turns on peak downsampling and clip-to-view so a 64k-step run stays smooth.
"""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QApplication

from resnet_studio.core.common.files import write_bytes_atomic
from resnet_studio.qt.kit import palette  # read at each use: the theme may change


class TickGrid(pg.GraphicsObject):
    """Grid lines at the axes' major and minor ticks, drawn by the view box as plain 1-pixel
    lines.

    pyqtgraph's own grid (`showGrid`) draws through each AxisItem's cached picture: 15-20 ms
    per axis at every range change, so three live plots cost the GUI thread ~60 ms per update
    on a 2-core machine (measured). These lines take well under a millisecond."""

    def __init__(self, plot: pg.PlotItem, x: bool = True, y: bool = True):
        super().__init__()
        self.plot, self.x, self.y = plot, x, y
        self.setZValue(-1000)
        self.restyle()
        plot.vb.addItem(self, ignoreBounds=True)
        plot.vb.sigRangeChanged.connect(self._range_changed)

    def restyle(self) -> None:
        # grid colours are opaque on the background: no blending when they are drawn
        self.pens = [QPen(QColor(c)) for c in (palette.GRID_MAJOR, palette.GRID_MINOR)]
        for pen in self.pens:
            pen.setCosmetic(True)
        self.update()

    def _range_changed(self, *_args) -> None:
        self.prepareGeometryChange()
        self.update()

    def boundingRect(self):
        return self.plot.vb.viewRect()

    def paint(self, painter, *_args) -> None:
        vb, rect = self.plot.vb, self.plot.vb.viewRect()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for side, vertical, on in (("bottom", True, self.x), ("left", False, self.y)):
            if not on:
                continue
            lo, hi = (rect.left(), rect.right()) if vertical else (rect.top(), rect.bottom())
            size = vb.width() if vertical else vb.height()
            levels = self.plot.getAxis(side).tickValues(min(lo, hi), max(lo, hi), size)
            for level, (_spacing, values) in reversed(list(enumerate(levels[:2]))):
                painter.setPen(self.pens[level])
                for v in values:
                    if vertical:
                        painter.drawLine(QPointF(v, rect.top()), QPointF(v, rect.bottom()))
                    else:
                        painter.drawLine(QPointF(rect.left(), v), QPointF(rect.right(), v))


def layout_widget(spacing: int = 6) -> pg.GraphicsLayoutWidget:
    """A GraphicsLayoutWidget on the theme's background, antialiased."""
    pg.setConfigOptions(antialias=True)
    view = pg.GraphicsLayoutWidget()
    view.setBackground(palette.PLOT_BACKGROUND)
    view.ci.setSpacing(spacing)
    return view


def style_plot(plot: pg.PlotItem, left: str | None = None, bottom: str | None = None, *,
               title: str | None = None, live: bool = False) -> pg.PlotItem:
    """Grid, muted axes, labels; `live` curves get peak downsampling and clip-to-view."""
    plot.grid = TickGrid(plot)
    plot.studio_title = title
    _style_axes(plot)
    if left:
        plot.setLabel("left", left, color=palette.TEXT)
    if bottom:
        plot.setLabel("bottom", bottom, color=palette.TEXT)
    _style_title(plot)
    if live:
        plot.setDownsampling(mode="peak")
        plot.setClipToView(True)
    return plot


def _style_axes(plot: pg.PlotItem) -> None:
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setPen(palette.AXIS)  # (this resets the label colour: labels after it)
        axis.setTextPen(palette.TEXT)


def set_title(plot: pg.PlotItem, text: str | None) -> None:
    """A plot's title in the house style and the theme's colour (kept when it changes)."""
    plot.studio_title = text
    _style_title(plot)


def _style_title(plot: pg.PlotItem) -> None:
    if plot.studio_title:
        plot.setTitle(f"<span style='color:{palette.TITLE};font-size:11pt;font-weight:600'>"
                      f"{plot.studio_title}</span>")


def restyle_plots() -> int:
    """Give every figure on screen the theme's background, axes, labels, titles and grid
    (the plots' own curves keep their colours); returns how many views were restyled."""
    views = [w for w in QApplication.allWidgets()
             if isinstance(w, (pg.GraphicsLayoutWidget, pg.PlotWidget))]
    for view in views:
        view.setBackground(palette.PLOT_BACKGROUND)
        for item in view.scene().items():
            if isinstance(item, TickGrid):
                item.restyle()
            elif isinstance(item, pg.PlotItem) and hasattr(item, "studio_title"):
                _style_axes(item)
                for side in ("left", "bottom"):
                    axis = item.getAxis(side)
                    if axis.labelText:
                        axis.setLabel(axis.labelText, units=axis.labelUnits, color=palette.TEXT)
                _style_title(item)
    return len(views)


def with_alpha(colour: str | QColor, alpha: int) -> QColor:
    c = QColor(colour)
    c.setAlpha(alpha)
    return c


def export_figure(item, path: str | Path, *, width: int = 1600, title: str = "ResNet Studio") -> Path:
    """Write a figure (a GraphicsLayout, PlotItem or scene item) as PNG or SVG, by suffix,
    atomically. SVG goes through pyqtgraph's SVGExporter, or Qt's own SVG generator where that
    one fails (pyqtgraph 0.14 cannot parse the path syntax of Qt >= 6.10's SVG writer)."""
    import pyqtgraph.exporters as exporters

    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        path = path.with_suffix(".png")
    if path.suffix.lower() == ".svg":
        try:
            data = exporters.SVGExporter(item).export(toBytes=True)
        except (ValueError, IndexError):
            data = _qt_svg(item, title)
        write_bytes_atomic(path, bytes(data))
        return path
    exporter = exporters.ImageExporter(item)
    exporter.parameters()["width"] = max(int(width), 1)
    exporter.parameters()["antialias"] = True
    image = exporter.export(toBytes=True)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buf, "PNG"):
        raise OSError(f"could not encode {path.name} as PNG")
    buf.close()
    write_bytes_atomic(path, bytes(data.data()))
    return path


def _qt_svg(item, title: str) -> bytes:
    from PySide6.QtSvg import QSvgGenerator

    source = item.sceneBoundingRect()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    gen.setSize(source.size().toSize())
    gen.setViewBox(QRectF(0, 0, source.width(), source.height()))
    gen.setTitle(title)
    painter = QPainter(gen)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    item.scene().render(painter, QRectF(0, 0, source.width(), source.height()), source)
    painter.end()
    buf.close()
    return bytes(data.data())
