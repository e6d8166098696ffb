"""The model views' controls: which layer and how to tile its maps; which block and channel.

Each is a small form: `value()` gives what the view computes (an app-layer `MosaicOptions`
for the mosaic), `changed` says when it did."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QSpinBox, QWidget

from resnet_studio.app.features import MosaicOptions
from resnet_studio.app.images import SourceInfo
from resnet_studio.core.common.formatting import shape_text
from resnet_studio.qt.tabs.images.image_view import labelled


def _combo(items: list[tuple[str, Any]], tip: str) -> QComboBox:
    box = QComboBox()
    for text, data in items:
        box.addItem(text, data)
    box.setToolTip(tip)
    return box


def _refill(box: QComboBox, items: list[tuple[str, str]], keep: str, fallback: str = "") -> None:
    """New items, keeping the selection if it is still there (else `fallback`, else the
    first), without emitting changes."""
    box.blockSignals(True)
    box.clear()
    for text, data in items:
        box.addItem(text, data)
    i = box.findData(keep) if keep else -1
    if i < 0:
        i = max(0, box.findData(fallback)) if fallback else 0
    box.setCurrentIndex(i)
    box.blockSignals(False)


class MosaicControls(QWidget):
    """Layer, scale (per map / all alike), colours, tile order."""

    layerChanged = Signal()
    optionsChanged = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
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
        self._parts = [labelled("Layer", self.layer_combo), labelled("Scale", self.normalise_combo),
                       labelled("Colours", self.colormap_combo),
                       labelled("Sort by", self.sort_combo)]
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(12)
        self._rows = 0
        self._arrange(1)
        self.layer_combo.currentIndexChanged.connect(lambda _i: self.layerChanged.emit())
        for box in (self.normalise_combo, self.colormap_combo, self.sort_combo):
            box.currentIndexChanged.connect(lambda _i: self.optionsChanged.emit())

    def _arrange(self, rows: int) -> None:
        """One row, or two (the layer above the rest) where one does not fit the width."""
        if rows == self._rows:
            return
        self._rows = rows
        for w in self._parts:
            self._grid.removeWidget(w)
        if rows == 1:
            for i, w in enumerate(self._parts):
                self._grid.addWidget(w, 0, i)
            self._grid.setColumnStretch(len(self._parts), 1)
        else:
            self._grid.addWidget(self._parts[0], 0, 0, 1, len(self._parts))
            for i, w in enumerate(self._parts[1:]):
                self._grid.addWidget(w, 1, i)

    def _one_row_width(self) -> int:
        return sum(w.sizeHint().width() for w in self._parts) + 12 * len(self._parts)

    def minimumSizeHint(self):
        hint = super().minimumSizeHint()
        hint.setWidth(min(hint.width(), max(self._parts[0].minimumSizeHint().width(),
                                            sum(w.sizeHint().width() for w in self._parts[1:])
                                            + 36)))
        return hint

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange(1 if event.size().width() >= self._one_row_width() else 2)

    def layer(self) -> str:
        return self.layer_combo.currentData() or ""

    def layers(self) -> list[str]:
        return [self.layer_combo.itemData(i) for i in range(self.layer_combo.count())]

    def select_layer(self, name: str) -> bool:
        i = self.layer_combo.findData(name)
        if i >= 0:
            self.layer_combo.setCurrentIndex(i)
        return i >= 0

    def set_source(self, source: SourceInfo | None) -> None:
        """The source's layers; the layer shown stays if it has it, else the first block's
        output (past the stem, still large maps)."""
        items = [(f"{n}   {shape_text(s)}", n) for n, s in source.layers] if source else []
        first_block = source.blocks[0] if source is not None and source.blocks else ""
        _refill(self.layer_combo, items, self.layer(), first_block)

    def value(self) -> MosaicOptions:
        return MosaicOptions(normalise=self.normalise_combo.currentData(),
                             colormap=self.colormap_combo.currentData(),
                             sort_by=self.sort_combo.currentData())

    def set_value(self, options: MosaicOptions) -> None:
        for box, data in ((self.normalise_combo, options.normalise),
                          (self.colormap_combo, options.colormap),
                          (self.sort_combo, options.sort_by)):
            box.setCurrentIndex(max(0, box.findData(data)))


class BlockControls(QWidget):
    """Block, and one channel or the mean of all."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.source: SourceInfo | None = None
        self.block_combo = QComboBox(minimumContentsLength=12)
        self.block_combo.setToolTip("Which residual block")
        self.channel_spin = QSpinBox(minimum=-1, maximum=0, value=-1)
        self.channel_spin.setSpecialValueText("mean of all channels")
        self.channel_spin.setToolTip("Show one channel, or the mean over all channels")
        self.channel_spin.setMinimumWidth(170)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        layout.addWidget(labelled("Block", self.block_combo))
        layout.addWidget(labelled("Channel", self.channel_spin))
        layout.addStretch(1)
        self.block_combo.currentIndexChanged.connect(self._block_changed)
        self.channel_spin.valueChanged.connect(lambda _v: self.changed.emit())

    def block(self) -> str:
        return self.block_combo.currentData() or ""

    def channel(self) -> int:
        return self.channel_spin.value()

    def value(self) -> tuple[str, int]:
        return self.block(), self.channel()

    def select_block(self, name: str) -> bool:
        i = self.block_combo.findData(name)
        if i >= 0:
            self.block_combo.setCurrentIndex(i)
        return i >= 0

    def set_channel(self, channel: int) -> None:
        self.channel_spin.setValue(channel)

    def set_source(self, source: SourceInfo | None) -> None:
        self.source = source
        items = []
        for name in source.blocks if source is not None else ():
            shape = source.shape_of(name)
            items.append((f"{name}   {shape_text(shape)}" if shape else name, name))
        _refill(self.block_combo, items, self.block())
        self._update_channel_range()

    def _update_channel_range(self) -> None:
        shape = self.source.shape_of(self.block()) if self.source is not None else None
        self.channel_spin.blockSignals(True)
        self.channel_spin.setMaximum((shape[0] - 1) if shape else 0)
        self.channel_spin.blockSignals(False)

    def _block_changed(self, _index: int) -> None:
        self._update_channel_range()
        self.changed.emit()
