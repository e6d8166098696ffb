"""How the maps are drawn: signed or |values|, colour map, opacity, percentile clipping.

Changing any of them redraws the stored maps (`changed` carries the new `Display`); nothing is
recomputed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QSlider

from resnet_studio.app.attribution_export import Display
from resnet_studio.core.analysis.attribution_names import COLORMAPS


class DisplayControls(QGroupBox):
    changed = Signal(object)  # Display

    def __init__(self, parent=None):
        super().__init__("Display", parent)
        self._filling = False
        self.signed_check = QCheckBox("Signed (blue −, red +)")
        self.colormap_combo = QComboBox()
        self.colormap_combo.addItems(COLORMAPS)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100)
        self.clip_spin = QDoubleSpinBox(minimum=50.0, maximum=100.0, decimals=1, suffix=" %")
        form = QFormLayout(self)
        form.addRow(self.signed_check)
        form.addRow("Colour map", self.colormap_combo)
        form.addRow("Opacity", self.opacity_slider)
        form.addRow("Clip at percentile", self.clip_spin)
        self.set_value(Display())
        self.signed_check.toggled.connect(lambda on: self.set_value(self.value().with_signed(on)))
        self.colormap_combo.currentTextChanged.connect(self._edited)
        self.opacity_slider.valueChanged.connect(self._edited)
        self.clip_spin.valueChanged.connect(self._edited)

    def value(self) -> Display:
        return Display(signed=self.signed_check.isChecked(),
                       colormap=self.colormap_combo.currentText(),
                       opacity=self.opacity_slider.value() / 100.0,
                       clip_percentile=self.clip_spin.value())

    def set_value(self, display: Display) -> None:
        """Show `display`; one `changed` for the whole change."""
        self._filling = True
        try:
            self.signed_check.setChecked(display.signed)
            self.colormap_combo.setCurrentText(display.colormap)
            self.opacity_slider.setValue(round(display.opacity * 100))
            self.clip_spin.setValue(display.clip_percentile)
        finally:
            self._filling = False
        self._edited()

    def _edited(self, *_args) -> None:
        if not self._filling:
            self.changed.emit(self.value())
