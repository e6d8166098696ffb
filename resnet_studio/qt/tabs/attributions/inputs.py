"""What the maps are made from: the image, the model (from the sidebar), its weights, and what
it is compared with (nothing, its plain twin, or a second checkpoint)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QFormLayout, QGroupBox, QLabel, QPushButton

from resnet_studio.app.attribution import PLAIN

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"
WEIGHTS_FILTER = "Weights (*.json *.safetensors *.pt *.pth);;All files (*)"
PICK = "pick"  # the compare picker's "Second checkpoint…" entry


class InputsBox(QGroupBox):
    imagePicked = Signal(str)
    weightsPicked = Signal(str)
    comparePicked = Signal(object)  # None, "plain" or a checkpoint path

    def __init__(self, parent=None):
        super().__init__("Input", parent)
        self.image_label = QLabel("no image", wordWrap=True)
        open_button = QPushButton("Open image…")
        open_button.clicked.connect(self.open_image_dialog)
        self.model_label = QLabel("no model", wordWrap=True)
        self.weights_combo = QComboBox()
        self.weights_combo.addItems(["imagenet", "random"])
        self.weights_combo.currentTextChanged.connect(self.weightsPicked)
        self.compare_combo = QComboBox()
        self.compare_combo.addItem("Nothing", None)
        self.compare_combo.addItem("Plain twin (no shortcuts)", PLAIN)
        self.compare_combo.addItem("Second checkpoint…", PICK)
        self.compare_combo.activated.connect(self._compare_activated)
        self._compare: str | None = None
        form = QFormLayout(self)
        form.addRow(self.image_label)
        form.addRow(open_button)
        form.addRow("Model", self.model_label)
        form.addRow("Weights", self.weights_combo)
        form.addRow("Compare with", self.compare_combo)

    def show_image(self, path: str) -> None:
        self.image_label.setText(Path(path).name)
        self.image_label.setToolTip(path)

    def show_model(self, name: str) -> None:
        self.model_label.setText(name)

    def show_weights(self, weights: str) -> None:
        if self.weights_combo.findText(weights) < 0:
            self.weights_combo.addItem(weights)
        self.weights_combo.blockSignals(True)
        self.weights_combo.setCurrentText(weights)
        self.weights_combo.blockSignals(False)

    def show_compare(self, compare: str | None) -> None:
        self._compare = compare
        if compare not in (None, PLAIN) and self.compare_combo.findData(compare) < 0:
            self.compare_combo.insertItem(self.compare_combo.count() - 1, Path(compare).name,
                                          compare)
        self.compare_combo.setCurrentIndex(max(0, self.compare_combo.findData(compare)))

    def open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "", IMAGE_FILTER)
        if path:
            self.imagePicked.emit(path)

    def _compare_activated(self, _index: int) -> None:
        data = self.compare_combo.currentData()
        if data == PICK:
            path, _ = QFileDialog.getOpenFileName(self, "Second checkpoint", "", WEIGHTS_FILTER)
            data = path or self._compare
            self.show_compare(data)  # a cancelled dialog keeps the previous choice
        self.comparePicked.emit(data)
