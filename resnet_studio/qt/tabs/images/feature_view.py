"""Feature maps: a layer's maps for the selected image as one mosaic; click a map to enlarge
it. The mosaic is computed by `app.features.feature_mosaic` in the background (see
`image_view.ModelImageView`); this module imports no torch."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from resnet_studio.app.features import FeatureMosaic, feature_mosaic
from resnet_studio.app.model_sources import ModelSourceCache
from resnet_studio.qt.kit.palette import BACKGROUND
from resnet_studio.qt.tabs.images.controls import MosaicControls
from resnet_studio.qt.tabs.images.image_view import ImageView, ModelImageView, column, muted

GAP_RGB = QColor(BACKGROUND).getRgb()[:3]  # the padding between tiles: the view's background


class FeatureMapView(ModelImageView):
    """A layer's maps for the selected image as one mosaic; click a map to enlarge it."""

    def __init__(self, models: ModelSourceCache, parent: QWidget | None = None):
        super().__init__(models, parent)
        self.result: FeatureMosaic | None = None
        self._result_key: tuple | None = None  # (source key, image uid, layer) of `result`
        self._requested: tuple | None = None  # the same, of the call running
        self.channel = -1  # the enlarged channel
        self.controls = MosaicControls()
        self.mosaic_view = ImageView()
        self.mosaic_view.setToolTip("Each tile is one channel (feature map). Click one to "
                                    "enlarge it; wheel to zoom, drag to pan")
        self.channel_view = ImageView(interactive=False)
        self.channel_title = QLabel(textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.channel_stats = QLabel(textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.channel_stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        self.splitter.addWidget(self.mosaic_view)
        self.splitter.addWidget(column(self.channel_title, self.channel_view, self.channel_stats,
                                       stretch=1))
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.info)
        layout.addWidget(self.splitter, 1)

        self.controls.layerChanged.connect(self._layer_changed)
        self.controls.optionsChanged.connect(self.request)
        self.mosaic_view.clicked.connect(self._mosaic_clicked)
        self._clear(self._hint())

    # the controls, as the tab and tests use them
    @property
    def colormap_combo(self):
        return self.controls.colormap_combo

    def layer(self) -> str:
        return self.controls.layer()

    def layers(self) -> list[str]:
        return self.controls.layers()

    def select_layer(self, name: str) -> bool:
        return self.controls.select_layer(name)

    def select_channel(self, channel: int) -> None:
        """Enlarge `channel` (an index into the layer's channels)."""
        r = self.result
        if r is None or not 0 <= channel < r.maps.channels:
            return
        self.channel = channel
        self.channel_view.set_rgb(r.channel_rgb(channel))
        self.channel_view.view.autoRange(padding=0.02)
        fm = r.maps
        h, w = fm.size
        m = fm.maps[channel]
        self.channel_title.setText(
            f"<b>{escape(fm.layer)}</b> · channel <b>{channel}</b> "
            + muted(f"(tile {r.tile_of(channel) + 1} of {fm.channels}, {h}×{w}, stretched to "
                    "its own range)"))
        self.channel_stats.setText(
            f"mean <b>{fm.mean[channel]:.4g}</b> · std <b>{fm.std[channel]:.4g}</b> · "
            f"max <b>{fm.max[channel]:.4g}</b> · min {float(m.min()):.4g} · "
            f"{100.0 * float((m > 0).mean()):.0f}% of pixels &gt; 0")

    def tile_at(self, col: int, row: int) -> int | None:
        """The channel under mosaic pixel (col, row), or None on padding / an empty cell."""
        return self.result.tile_at(col, row) if self.result is not None else None

    # -- internals
    def _source_changed(self) -> None:
        self.result = self._result_key = None
        self.controls.set_source(self.source)

    def _layer_changed(self) -> None:
        self.channel = -1
        self.request()

    def _key(self) -> tuple:
        return self.source.key, self.uid, self.layer()

    def _submit(self) -> None:
        layer = self.layer()
        if not layer:
            return
        options = self.controls.value()
        cached = self.result.maps if self._result_key == self._key() else None
        if cached is not None and self.result.options == options:
            return
        self._requested = self._key()
        self._start(layer, feature_mosaic, layer, options, gap_rgb=GAP_RGB, cached=cached)

    def _show(self, r: FeatureMosaic) -> None:
        same_maps = self._result_key == self._requested
        self.result, self._result_key = r, self._requested
        fm = r.maps
        h, w = fm.size
        sort = r.options.sort_by
        order = f"sorted by {sort} (highest first)" if sort else "in channel order"
        self.info.setText(
            f"<b>{escape(fm.layer)}</b> — {fm.channels} maps of {h}×{w}, {order}, "
            f"{r.rows}×{r.cols} tiles. "
            + muted("Bright = strong response. Click a map to enlarge it."))
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
        self.result = self._result_key = None
        self.info.setText(message)
        self.mosaic_view.set_rgb(None)
        self.channel_view.set_rgb(None)
        self.channel_title.setText("")
        self.channel_stats.setText("")

