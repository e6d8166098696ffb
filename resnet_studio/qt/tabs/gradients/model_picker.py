"""The Gradients tab's top row: which model (a CIFAR ResNet of He et al. 2015, or the sidebar's)
and the seed of its initial weights -- shared by the initialisation and lesion views."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from resnet_studio.core.zoo import get_spec

if TYPE_CHECKING:
    from resnet_studio.core.spec import ArchSpec

CIFAR_DEPTHS = (20, 32, 44, 56, 110)
CURRENT = "current"  # the combo's item for the sidebar's model


def spin(lo: int, hi: int, value: int, tip: str) -> QSpinBox:
    """A spin box that reports a value when the edit is done, not per digit."""
    s = QSpinBox(minimum=lo, maximum=hi, value=value, toolTip=tip)
    s.setKeyboardTracking(False)
    return s


class ModelPicker(QWidget):
    """Model and seed; `changed` fires when either does (or the sidebar's model, if chosen)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.current_spec: ArchSpec | None = None
        self.model_combo = QComboBox(toolTip="The CIFAR ResNets of He et al. 2015 (6n+2 layers), "
                                             "or the model chosen in the sidebar")
        for d in CIFAR_DEPTHS:
            self.model_combo.addItem(f"ResNet-{d} vs plain-{d}", d)
        self.model_combo.addItem("Current model (none chosen)", CURRENT)
        self._enable_current(False)
        self.seed_spin = spin(0, 2**31 - 1, 0, "Seed of the initial weights and the batch")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Model:"))
        layout.addWidget(self.model_combo)
        layout.addSpacing(12)
        layout.addWidget(QLabel("Seed:"))
        layout.addWidget(self.seed_spin)
        self.model_combo.currentIndexChanged.connect(self.changed)
        self.seed_spin.valueChanged.connect(self.changed)

    def set_current(self, spec: ArchSpec) -> None:
        """The sidebar's model: offered as the last item (measured again if it is chosen)."""
        self.current_spec = spec
        self.model_combo.setItemText(self.model_combo.findData(CURRENT),
                                     f"Current model: {spec.name}")
        self._enable_current(True)
        if self.model_combo.currentData() == CURRENT:
            self.changed.emit()

    def choose_current(self) -> None:
        self.model_combo.setCurrentIndex(self.model_combo.findData(CURRENT))

    def _enable_current(self, on: bool) -> None:
        item = self.model_combo.model().item(self.model_combo.findData(CURRENT))
        if item is not None:
            item.setEnabled(on)

    def spec(self) -> ArchSpec | None:
        """The chosen model (None: the sidebar's, before it has told us one)."""
        data = self.model_combo.currentData()
        if data == CURRENT:
            return self.current_spec
        return get_spec(f"resnet{data}")

    def seed(self) -> int:
        return self.seed_spin.value()
