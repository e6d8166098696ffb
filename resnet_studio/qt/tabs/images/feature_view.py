"""The Images tab's model views: feature-map mosaics and a residual block taken apart.

Both compute in the thread pool (`LatestJob`: one job in flight, only the newest request
waiting) and only when they are on screen. The module imports no torch: the functions that run
in workers import core.analysis themselves, and send back numpy arrays.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.core.common.formatting import shape_text
from resnet_studio.qt.workers import run_in_background

BACKGROUND = "#fbfcfe"
GAP_RGB = (251, 252, 254)  # the padding between mosaic tiles: the view's background
MUTED = "#64748b"
ERROR = "#b91c1c"
MOSAIC_PAD = 1
_SERIAL = itertools.count(1)

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


# -- the model as the views use it -----------------------------------------------------------------

@dataclass
class SourceHandle:
    """A loaded `ModelSource` plus what the views need to know about it. `lock` serialises
    every use of the model (classification batches, feature hooks): hooks are registered on
    the shared modules, so two passes at once would see each other's hooks."""

    source: Any  # core.weights.ModelSource
    key: tuple  # (model key, weights) it was loaded for
    layers: list[tuple[str, tuple[int, ...]]]  # layer_names with C x H x W shapes
    blocks: list[str]  # residual blocks
    input_shape: tuple[int, int, int]
    lock: threading.Lock = field(default_factory=threading.Lock)
    serial: int = field(default_factory=lambda: next(_SERIAL))

    @property
    def name(self) -> str:
        return self.source.spec.name

    @property
    def kind(self) -> str:
        return self.source.kind

    @property
    def label(self) -> str:
        return self.source.label

    def shape_of(self, layer: str) -> tuple[int, ...] | None:
        return next((s for n, s in self.layers if n == layer), None)


def load_source_handle(model, weights, key, progress=None, should_stop=None,
                       warm_up: bool = True) -> SourceHandle:
    """Runs in a worker: the model source, its layers (a meta-device pass) and blocks.

    `warm_up` runs one forward pass on a blank image: the first pass through a freshly loaded
    model is several times slower than the next (kernel selection, allocations), and it is
    better spent here than on the user's first image."""
    import torch

    from resnet_studio.core.analysis.features import block_names, list_layers
    from resnet_studio.core.weights import load_model_source

    source = load_model_source(model, weights, download=True, progress=progress,
                               should_stop=should_stop)
    pre = source.preprocess
    shape = (pre.channels, pre.crop, pre.crop)
    layers = [(r.name, tuple(r.shape)) for r in list_layers(source.model, shape)]
    if warm_up:
        with torch.no_grad():
            source.model.eval()(torch.zeros((1, *shape)))
    return SourceHandle(source=source, key=key, layers=layers, blocks=block_names(source.model),
                        input_shape=shape)


def _to_unit(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip((a - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.zeros_like(a)


def _lut_image(a: np.ndarray, lut: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return lut[np.round(_to_unit(a.astype(np.float64), lo, hi) * 255).astype(np.uint8)]


@dataclass
class FeatureResult:
    key: tuple  # (handle serial, image uid, layer)
    maps: Any  # core FeatureMaps (numpy only)
    rgb: np.ndarray  # the mosaic, H x W x 3 uint8
    order: np.ndarray  # channel shown in tile i
    rows: int
    cols: int
    lut: np.ndarray  # 256 x 3, for enlarging one channel
    options: tuple  # (normalise, colormap, sort_by)


def compute_features(handle: SourceHandle, image, uid: int, layer: str, normalise: str,
                     colormap: str, sort_by: str | None, cached=None) -> FeatureResult:
    """Runs in a worker: one layer's maps for one image (or `cached` ones), as a mosaic."""
    from resnet_studio.core.analysis import features as F

    fm = cached
    if fm is None:
        x = handle.source.preprocess(image)
        with handle.lock:
            fm = F.feature_maps(handle.source.model, x, layer)
    gray = F.mosaic(fm, normalise=normalise, sort_by=sort_by, pad=MOSAIC_PAD)
    rgb = F.colorize(gray, colormap)
    rgb[~F.mosaic_tile_mask(fm.channels, *fm.size, pad=MOSAIC_PAD)] = GAP_RGB
    rows, cols = F.mosaic_grid(fm.channels)
    return FeatureResult(key=(handle.serial, uid, layer), maps=fm, rgb=rgb,
                         order=F.mosaic_order(fm, sort_by), rows=rows, cols=cols,
                         lut=F.colormap_lut(colormap), options=(normalise, colormap, sort_by))


@dataclass
class BlockResult:
    key: tuple  # (handle serial, image uid, block)
    decomposition: Any  # core BlockDecomposition (numpy only)
    channel: int  # -1: mean over channels
    images: tuple[np.ndarray, np.ndarray, np.ndarray]  # x, F(x), F(x)+x as H x W x 3 uint8
    planes: tuple[np.ndarray, np.ndarray, np.ndarray]  # the H x W values shown
    limit: float  # the shared colour scale is -limit..+limit


def compute_block(handle: SourceHandle, image, uid: int, block: str, channel: int,
                  cached=None) -> BlockResult:
    """Runs in a worker: x, F(x) and F(x)+x of one block for one image, on one colour scale."""
    dec = cached
    if dec is None:
        from resnet_studio.core.analysis.features import block_decomposition

        x = handle.source.preprocess(image)
        with handle.lock:
            dec = block_decomposition(handle.source.model, x, block)
    channels = dec.total.shape[0]
    if channel >= channels:
        channel = -1

    def plane(a: np.ndarray) -> np.ndarray:
        return a.mean(axis=0) if channel < 0 else a[channel]

    planes = (plane(dec.shortcut), plane(dec.residual), plane(dec.total))
    limit = max(float(np.abs(p).max()) for p in planes) or 1.0
    images = tuple(_lut_image(p, DIVERGING, -limit, limit) for p in planes)
    return BlockResult(key=(handle.serial, uid, block), decomposition=dec, channel=channel,
                       images=images, planes=planes, limit=limit)


# -- Qt plumbing ----------------------------------------------------------------------------------

class LatestJob(QObject):
    """One job in flight; a request made meanwhile waits, replacing any older waiting one.
    Only the newest request's result (or error) is delivered."""

    result = Signal(object)
    error = Signal(object)
    busy = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._generation = 0
        self._running = False
        self._pending: tuple | None = None

    @property
    def running(self) -> bool:
        return self._running

    def submit(self, func, *args) -> None:
        self._generation += 1
        self._pending = (self._generation, func, args)
        if not self._running:
            self._start()

    def discard(self) -> None:
        """Drop the waiting request and whatever the running one returns."""
        self._generation += 1
        self._pending = None

    def _start(self) -> None:
        generation, func, args = self._pending
        self._pending = None
        self._running = True
        self.busy.emit(True)

        def deliver(signal):
            def emit(value):
                if shiboken6.isValid(self) and generation == self._generation:
                    signal.emit(value)
            return emit

        run_in_background(func, *args, on_result=deliver(self.result),
                          on_error=deliver(self.error), on_finished=self._done)

    def _done(self) -> None:
        if not shiboken6.isValid(self):  # deleted while the job ran (its view was closed)
            return
        self._running = False
        if self._pending is not None:
            self._start()
        else:
            self.busy.emit(False)


class ImageView(pg.GraphicsLayoutWidget):
    """One RGB image in a ViewBox (row-major, y down, square pixels); `clicked(col, row)`."""

    clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None, interactive: bool = True):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.view = self.addViewBox()
        self.view.setAspectLocked(True)
        self.view.invertY(True)
        self.view.setMenuEnabled(False)
        self.view.setMouseEnabled(interactive, interactive)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.item)
        self.scene().sigMouseClicked.connect(self._scene_clicked)
        self.setMinimumSize(120, 100)

    @property
    def image(self) -> np.ndarray | None:
        return self.item.image

    def set_rgb(self, rgb: np.ndarray | None) -> None:
        if rgb is None:
            self.item.clear()
            return
        old = self.item.image
        self.item.setImage(rgb, autoLevels=False, levels=(0, 255))
        if old is None or old.shape[:2] != rgb.shape[:2]:
            self.view.autoRange(padding=0.02)

    def _scene_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.item.image is None:
            return
        p = self.item.mapFromScene(event.scenePos())
        h, w = self.item.image.shape[:2]
        col, row = int(np.floor(p.x())), int(np.floor(p.y()))
        if 0 <= col < w and 0 <= row < h:
            self.clicked.emit(col, row)


def _combo(items: list[tuple[str, Any]], tip: str) -> QComboBox:
    box = QComboBox()
    for text, data in items:
        box.addItem(text, data)
    box.setToolTip(tip)
    return box


def _labelled(text: str, widget: QWidget) -> QWidget:
    w = QWidget()
    layout = QHBoxLayout(w)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(4)
    layout.addWidget(QLabel(text))
    layout.addWidget(widget)
    return w


class _ModelImageView(QWidget):
    """What both views share: the current model and image, and compute-when-visible."""

    busyChanged = Signal(bool)
    shown = Signal()  # a new result is on screen

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.handle: SourceHandle | None = None
        self.uid = -1
        self.image = None  # LoadedImage
        self._dirty = False
        self._waiting = "Waiting for the model…"
        self.jobs = LatestJob(self)
        self.jobs.result.connect(self._show)
        self.jobs.error.connect(self._failed)
        self.jobs.busy.connect(self.busyChanged)
        self.info = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def is_busy(self) -> bool:
        return self.jobs.running

    def set_source(self, handle: SourceHandle | None) -> None:
        self.handle = handle
        self._source_changed()
        self.request()

    def set_hint(self, text: str) -> None:
        """What to say while there is no model."""
        self._waiting = text
        if self.handle is None:
            self._clear(self._hint())

    def set_image(self, uid: int, image) -> None:
        if uid == self.uid and image is self.image:
            return
        self.uid, self.image = uid, image
        self.request()

    def request(self) -> None:
        self.jobs.discard()  # whatever runs now is for an older request
        if self.handle is None or self.image is None:
            self._clear(self._hint())
            return
        if not self.isVisible():
            self._dirty = True
            return
        self._dirty = False
        self._submit()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self.request()

    def _failed(self, error: BaseException) -> None:
        self._clear(f"<span style='color:{ERROR}'>{_escape(str(error))}</span>")

    # for subclasses
    def _hint(self) -> str:
        if self.handle is None:
            return f"<span style='color:{MUTED}'>{_escape(self._waiting)}</span>"
        return f"<span style='color:{MUTED}'>Add images and select one to look inside the " \
               "model.</span>"

    def _source_changed(self) -> None: ...
    def _submit(self) -> None: ...
    def _show(self, result) -> None: ...
    def _clear(self, message: str) -> None: ...


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- feature maps ---------------------------------------------------------------------------------

class FeatureMapView(_ModelImageView):
    """A layer's maps for the selected image as one mosaic; click a map to enlarge it."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.result: FeatureResult | None = None
        self.channel = -1  # the enlarged channel
        self.layer_combo = QComboBox(minimumContentsLength=24)
        self.layer_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.layer_combo.setMaxVisibleItems(24)
        self.layer_combo.setToolTip("Which layer's output to show (in forward order; ':2' is "
                                    "the second call of a module, e.g. a block's last ReLU)")
        self.normalise_combo = _combo([("per map", "per-channel"), ("all maps alike", "global")],
                                      "Stretch each map to the full colour range on its own, "
                                      "or use one scale for all maps so brightness compares")
        self.colormap_combo = _combo([("viridis", "viridis"), ("gray", "gray")], "Colours")
        self.sort_combo = _combo([("mean", "mean"), ("std", "std"), ("max", "max"),
                                  ("channel order", None)],
                                 "Tile order: by descending per-map statistic, or by channel")
        controls = QHBoxLayout()
        controls.setSpacing(12)
        controls.addWidget(_labelled("Layer", self.layer_combo))
        controls.addWidget(_labelled("Scale", self.normalise_combo))
        controls.addWidget(_labelled("Colours", self.colormap_combo))
        controls.addWidget(_labelled("Sort by", self.sort_combo))
        controls.addStretch(1)

        self.mosaic_view = ImageView()
        self.mosaic_view.setToolTip("Each tile is one channel (feature map). Click one to "
                                    "enlarge it; wheel to zoom, drag to pan")
        self.channel_view = ImageView(interactive=False)
        self.channel_title = QLabel(textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.channel_stats = QLabel(textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.channel_stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.channel_title)
        right_layout.addWidget(self.channel_view, 1)
        right_layout.addWidget(self.channel_stats)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        self.splitter.addWidget(self.mosaic_view)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.info)
        layout.addWidget(self.splitter, 1)

        self.layer_combo.currentIndexChanged.connect(self._layer_changed)
        for box in (self.normalise_combo, self.colormap_combo, self.sort_combo):
            box.currentIndexChanged.connect(lambda _i: self.request())
        self.mosaic_view.clicked.connect(self._mosaic_clicked)
        self._clear(self._hint())

    # -- public
    def layer(self) -> str:
        return self.layer_combo.currentData() or ""

    def layers(self) -> list[str]:
        return [self.layer_combo.itemData(i) for i in range(self.layer_combo.count())]

    def select_layer(self, name: str) -> bool:
        i = self.layer_combo.findData(name)
        if i < 0:
            return False
        self.layer_combo.setCurrentIndex(i)
        return True

    def select_channel(self, channel: int) -> None:
        """Enlarge `channel` (an index into the layer's channels)."""
        r = self.result
        if r is None or not 0 <= channel < r.maps.channels:
            return
        self.channel = channel
        m = r.maps.maps[channel]
        gray = np.round(_to_unit(m.astype(np.float64), float(m.min()), float(m.max())) * 255)
        self.channel_view.set_rgb(r.lut[gray.astype(np.uint8)])
        self.channel_view.view.autoRange(padding=0.02)
        h, w = r.maps.size
        tile = int(np.flatnonzero(r.order == channel)[0])
        self.channel_title.setText(f"<b>{_escape(r.maps.layer)}</b> · channel <b>{channel}</b>"
                                   f" <span style='color:{MUTED}'>(tile {tile + 1} of "
                                   f"{r.maps.channels}, {h}×{w}, stretched to its own range)"
                                   "</span>")
        fm = r.maps
        self.channel_stats.setText(
            f"mean <b>{fm.mean[channel]:.4g}</b> · std <b>{fm.std[channel]:.4g}</b> · "
            f"max <b>{fm.max[channel]:.4g}</b> · min {float(m.min()):.4g} · "
            f"{100.0 * float((m > 0).mean()):.0f}% of pixels &gt; 0")

    def tile_at(self, col: int, row: int) -> int | None:
        """The channel under mosaic pixel (col, row), or None on padding / an empty cell."""
        r = self.result
        if r is None:
            return None
        h, w = r.maps.size
        q, dx = divmod(col, w + MOSAIC_PAD)
        p, dy = divmod(row, h + MOSAIC_PAD)
        i = p * r.cols + q
        if dx >= w or dy >= h or q >= r.cols or i >= r.maps.channels:
            return None
        return int(r.order[i])

    # -- internals
    def _source_changed(self) -> None:
        keep = self.layer()
        self.result = None
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        if self.handle is not None:
            for name, shape in self.handle.layers:
                self.layer_combo.addItem(f"{name}   {shape_text(shape)}", name)
            i = self.layer_combo.findData(keep) if keep else -1
            if i < 0:  # the first block's output: past the stem, still large maps
                i = max(0, self.layer_combo.findData(self.handle.blocks[0])
                        if self.handle.blocks else 0)
            self.layer_combo.setCurrentIndex(i)
        self.layer_combo.blockSignals(False)

    def _layer_changed(self, _index: int) -> None:
        self.channel = -1
        self.request()

    def _options(self) -> tuple:
        return (self.normalise_combo.currentData(), self.colormap_combo.currentData(),
                self.sort_combo.currentData())

    def _submit(self) -> None:
        layer = self.layer()
        if not layer:
            return
        key = (self.handle.serial, self.uid, layer)
        cached = self.result.maps if self.result is not None and self.result.key == key else None
        if cached is not None and self.result.options == self._options():
            return
        self.info.setText(f"<span style='color:{MUTED}'>Computing {_escape(layer)}…</span>")
        self.jobs.submit(compute_features, self.handle, self.image, self.uid, layer,
                         *self._options(), cached)

    def _show(self, r: FeatureResult) -> None:
        same_maps = self.result is not None and self.result.key == r.key
        self.result = r
        fm = r.maps
        h, w = fm.size
        sort = r.options[2]
        order = f"sorted by {sort} (highest first)" if sort else "in channel order"
        self.info.setText(
            f"<b>{_escape(fm.layer)}</b> — {fm.channels} maps of {h}×{w}, {order}, "
            f"{r.rows}×{r.cols} tiles. <span style='color:{MUTED}'>Bright = strong response. "
            "Click a map to enlarge it.</span>")
        self.mosaic_view.set_rgb(r.rgb)
        if not same_maps:
            self.mosaic_view.view.autoRange(padding=0.02)
        channel = self.channel if 0 <= self.channel < fm.channels else int(r.order[0])
        self.select_channel(channel)
        self.shown.emit()

    def _mosaic_clicked(self, col: int, row: int) -> None:
        channel = self.tile_at(col, row)
        if channel is not None:
            self.select_channel(channel)

    def _clear(self, message: str) -> None:
        self.result = None
        self.info.setText(message)
        self.mosaic_view.set_rgb(None)
        self.channel_view.set_rgb(None)
        self.channel_title.setText("")
        self.channel_stats.setText("")


# -- residual block ------------------------------------------------------------------------------

_SHORTCUT_TEXT = {
    "identity": "the block's input, passed on unchanged (identity shortcut)",
    "projection": "the block's input through the 1×1 projection (the shape changes here)",
    "zero_pad": "the block's input, subsampled and zero-padded to the new width (option A)",
    "none": "zeros: this plain block has no shortcut, so its output is F(x) alone",
}


class ResidualBlockView(_ModelImageView):
    """x (the shortcut), F(x) (the residual branch) and F(x) + x side by side."""

    TITLES = ("x — shortcut", "F(x) — residual branch", "F(x) + x — sum")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.result: BlockResult | None = None
        self.block_combo = QComboBox(minimumContentsLength=12)
        self.block_combo.setToolTip("Which residual block")
        self.channel_spin = QSpinBox(minimum=-1, maximum=0, value=-1)
        self.channel_spin.setSpecialValueText("mean of all channels")
        self.channel_spin.setToolTip("Show one channel, or the mean over all channels")
        self.channel_spin.setMinimumWidth(170)
        controls = QHBoxLayout()
        controls.setSpacing(12)
        controls.addWidget(_labelled("Block", self.block_combo))
        controls.addWidget(_labelled("Channel", self.channel_spin))
        controls.addStretch(1)

        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        self.views: list[ImageView] = []
        self.titles: list[QLabel] = []
        self.captions: list[QLabel] = []
        for i, title in enumerate(self.TITLES):
            t = QLabel(f"<b>{title}</b>", textFormat=Qt.TextFormat.RichText)
            v = ImageView(interactive=False)
            c = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
            c.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            c.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
            grid.addWidget(t, 0, i)
            grid.addWidget(v, 1, i)
            grid.addWidget(c, 2, i)
            grid.setColumnStretch(i, 1)
            self.views.append(v)
            self.titles.append(t)
            self.captions.append(c)
        grid.setRowStretch(1, 1)
        self.legend = QLabel(textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.summary = QLabel(textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.info)
        layout.addLayout(grid, 1)
        layout.addWidget(self.legend)
        layout.addWidget(self.summary)

        self.block_combo.currentIndexChanged.connect(self._block_changed)
        self.channel_spin.valueChanged.connect(lambda _v: self.request())
        self._clear(self._hint())

    # -- public
    def block(self) -> str:
        return self.block_combo.currentData() or ""

    def select_block(self, name: str) -> bool:
        i = self.block_combo.findData(name)
        if i < 0:
            return False
        self.block_combo.setCurrentIndex(i)
        return True

    def set_channel(self, channel: int) -> None:
        """-1: the mean over channels."""
        self.channel_spin.setValue(channel)

    def images(self) -> list[np.ndarray | None]:
        return [v.image for v in self.views]

    # -- internals
    def _source_changed(self) -> None:
        keep = self.block()
        self.result = None
        self.block_combo.blockSignals(True)
        self.block_combo.clear()
        if self.handle is not None:
            for name in self.handle.blocks:
                shape = self.handle.shape_of(name)
                self.block_combo.addItem(f"{name}   {shape_text(shape)}" if shape else name, name)
            i = self.block_combo.findData(keep) if keep else -1
            self.block_combo.setCurrentIndex(max(0, i))
        self.block_combo.blockSignals(False)
        self._update_channel_range()

    def _update_channel_range(self) -> None:
        shape = self.handle.shape_of(self.block()) if self.handle is not None else None
        self.channel_spin.blockSignals(True)
        self.channel_spin.setMaximum((shape[0] - 1) if shape else 0)
        self.channel_spin.blockSignals(False)

    def _block_changed(self, _index: int) -> None:
        self._update_channel_range()
        self.request()

    def _hint(self) -> str:
        if self.handle is not None and not self.handle.blocks:
            return f"<span style='color:{MUTED}'>This model has no residual blocks.</span>"
        return super()._hint()

    def _submit(self) -> None:
        block = self.block()
        if not block:
            self._clear(self._hint())
            return
        key = (self.handle.serial, self.uid, block)
        cached = self.result.decomposition if self.result is not None and \
            self.result.key == key else None
        self.info.setText(f"<span style='color:{MUTED}'>Computing {_escape(block)}…</span>")
        self.jobs.submit(compute_block, self.handle, self.image, self.uid, block,
                         self.channel_spin.value(), cached)

    def _show(self, r: BlockResult) -> None:
        self.result = r
        d = r.decomposition
        c, h, w = d.total.shape
        which = "mean over all channels" if r.channel < 0 else f"channel {r.channel}"
        self.info.setText(f"<b>{_escape(d.block)}</b> — output {c}×{h}×{w}, showing the "
                          f"{which}. <span style='color:{MUTED}'>The block adds what its "
                          "layers compute, F(x), to what the shortcut carries, x.</span>")
        for view, image in zip(self.views, r.images):
            view.set_rgb(image)
            view.view.autoRange(padding=0.02)
        after = "then a ReLU clips it at 0 to give the block's output" if d.final_relu else \
            "this is the block's output (pre-activation: no ReLU after the sum)"
        captions = (_SHORTCUT_TEXT.get(d.shortcut_kind, d.shortcut_kind),
                    "what the block's convolutions compute: the change it makes to x",
                    f"the two added together; {after}")
        for label, caption, plane in zip(self.captions, captions, r.planes):
            label.setText(f"{caption}<br><span style='color:{MUTED}'>mean {plane.mean():.3g}, "
                          f"std {plane.std():.3g}, range {plane.min():.3g} … {plane.max():.3g}"
                          "</span>")
        self.titles[0].setText(f"<b>{self.TITLES[0]}</b> <span style='color:{MUTED}'>"
                               f"({d.shortcut_kind.replace('_', '-')})</span>")
        self.legend.setText(
            "<b style='color:#2166ac'>blue</b> negative · white 0 · "
            "<b style='color:#b2182b'>red</b> positive — one colour scale for all three, "
            f"−{r.limit:.3g} … +{r.limit:.3g}")
        norm = lambda a: float(np.sqrt(np.square(a, dtype=np.float64).sum()))
        nx, nf = norm(d.shortcut), norm(d.residual)
        ratio = f"‖F(x)‖ / ‖x‖ = <b>{nf / nx:.2f}</b> (all channels)" if nx > 0 else \
            "no shortcut signal"
        self.summary.setText(
            f"{ratio} <span style='color:{MUTED}'>— a small ratio means the block only nudges "
            f"its input. Check: F(x) + x matches the block's own sum to "
            f"{d.max_abs_error:.1e}.</span>")
        self.shown.emit()

    def _clear(self, message: str) -> None:
        self.result = None
        self.info.setText(message)
        for v in self.views:
            v.set_rgb(None)
        for c in self.captions:
            c.setText("")
        self.legend.setText("")
        self.summary.setText("")
