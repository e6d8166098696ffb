"""The Attributions tab's form: the target class, the methods and their parameters.

`value()` gives an `AttributionSettings`, `set_value(v)` shows one; `set_choices` fills the
target and Grad-CAM layer pickers from the model (class names, blocks and convs).
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.attribution import MethodParams, ModelChoices
from resnet_studio.app.attribution_state import AttributionSettings
from resnet_studio.core.analysis.attribution_names import BASELINES, METHOD_LABELS, METHODS

NOISE_TUNNEL_LABELS = {None: "None", "smoothgrad": "SmoothGrad", "vargrad": "VarGrad"}


def _spin(lo: int, hi: int, tip: str = "") -> QSpinBox:
    box = QSpinBox(minimum=lo, maximum=hi)
    box.setToolTip(tip)
    return box


def _select(combo: QComboBox, data) -> None:
    combo.setCurrentIndex(max(0, combo.findData(data)))


class AttributionForm(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.target_combo = QComboBox()
        self.target_combo.addItem("Predicted class", None)
        self.target_combo.setToolTip("The class the maps explain")
        self.same_target_combo = QComboBox()
        self.same_target_combo.addItem("Second model: the same class", True)
        self.same_target_combo.addItem("Second model: its own prediction", False)
        self.same_target_combo.setToolTip(
            "The same class: both maps answer the same question (comparable). Its own "
            "prediction: each map explains what that net predicts.")

        self.method_boxes: dict[str, QCheckBox] = {m: QCheckBox(METHOD_LABELS[m]) for m in METHODS}
        methods = QGroupBox("Methods")
        grid = QGridLayout(methods)
        grid.addWidget(self.target_combo, 0, 0, 1, 2)
        grid.addWidget(self.same_target_combo, 1, 0, 1, 2)
        for i, box in enumerate(self.method_boxes.values()):
            grid.addWidget(box, 2 + i // 2, i % 2)

        self.noise_combo = QComboBox()
        for data, label in NOISE_TUNNEL_LABELS.items():
            self.noise_combo.addItem(label, data)
        self.steps_spin = _spin(2, 1000)
        self.baseline_combo = QComboBox()
        self.baseline_combo.addItems(BASELINES)
        self.batch_spin = _spin(1, 512, "Internal batch size: bounds memory; Cancel acts per batch")
        self.samples_spin = _spin(1, 500)
        self.window_spin = _spin(1, 224)
        self.stride_spin = _spin(1, 224)
        self.layer_combo = QComboBox()
        self.layer_combo.addItem("last block", None)
        self.layer_combo.setToolTip("The block or conv layer Grad-CAM looks at")
        params = QGroupBox("Parameters")
        form = QFormLayout(params)
        for label, widget in (("Noise tunnel", self.noise_combo), ("IG steps", self.steps_spin),
                              ("Baseline", self.baseline_combo),
                              ("Internal batch", self.batch_spin),
                              ("Samples (SHAP / noise)", self.samples_spin),
                              ("Occlusion window", self.window_spin),
                              ("Occlusion stride", self.stride_spin),
                              ("Grad-CAM layer", self.layer_combo)):
            form.addRow(label, widget)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(methods)
        layout.addWidget(params)
        self.set_value(AttributionSettings())

    def value(self) -> AttributionSettings:
        params = MethodParams(steps=self.steps_spin.value(),
                              baseline=self.baseline_combo.currentText(),
                              batch_size=self.batch_spin.value(),
                              samples=self.samples_spin.value(), window=self.window_spin.value(),
                              stride=self.stride_spin.value(),
                              layer=self.layer_combo.currentData())
        return AttributionSettings(
            methods=tuple(m for m, box in self.method_boxes.items() if box.isChecked()),
            target=self.target_combo.currentData(), noise_tunnel=self.noise_combo.currentData(),
            params=params, same_target=bool(self.same_target_combo.currentData()))

    def set_value(self, v: AttributionSettings) -> None:
        for m, box in self.method_boxes.items():
            box.setChecked(m in v.methods)
        self.set_target(v.target)
        _select(self.same_target_combo, v.same_target)
        _select(self.noise_combo, v.noise_tunnel)
        p = v.params
        for spin, value in ((self.steps_spin, p.steps), (self.batch_spin, p.batch_size),
                            (self.samples_spin, p.samples), (self.window_spin, p.window),
                            (self.stride_spin, p.stride)):
            if value is not None:
                spin.setValue(value)
        if p.baseline is not None:
            self.baseline_combo.setCurrentText(p.baseline)
        _select(self.layer_combo, p.layer)

    def set_target(self, target: int | None) -> None:
        """None: the predicted class; else a class index (listed even before the names are)."""
        i = self.target_combo.findData(target)
        if i < 0 and target is not None:
            self.target_combo.addItem(f"class {target}", target)
            i = self.target_combo.count() - 1
        self.target_combo.setCurrentIndex(max(0, i))

    def set_choices(self, choices: ModelChoices) -> None:
        """The model's class names and Grad-CAM layers; the picks are kept where they exist."""
        self._refill(self.layer_combo, "last block",
                     [(name, name) for name in choices.layers])
        self._refill(self.target_combo, "Predicted class",
                     [(f"{i}: {name}", i) for i, name in enumerate(choices.categories)])

    @staticmethod
    def _refill(combo: QComboBox, first: str, items: list[tuple[str, object]]) -> None:
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(first, None)
        for label, data in items:
            combo.addItem(label, data)
        _select(combo, current)
        combo.blockSignals(False)
