"""What the maps are made from: the image (any opened this session, in this tab or the Images
tab), the model (from the sidebar, or a checkpoint the window chose), its weights, and what it
is compared with (nothing, its plain twin, or a second checkpoint)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QFormLayout, QGroupBox, QLabel, QPushButton

from resnet_studio.app.attribution import PLAIN
from resnet_studio.app.samples import AUTO, SHIPPED

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"
WEIGHTS_FILTER = "Weights (*.json *.safetensors *.pt *.pth);;All files (*)"
PICK = "pick"  # the compare picker's "Second checkpoint…" entry
WEIGHTS_CHOICES = (("Automatic", AUTO), ("Trained ResNet-20 (shipped)", SHIPPED),
                   ("ImageNet", "imagenet"), ("Random (untrained)", "random"))
WEIGHTS_TIP = ("Automatic: ImageNet weights where they are on this machine, else the shipped "
               "ResNet-20 and plain-20 trained on the built-in glyphs")


class InputsBox(QGroupBox):
    imagePicked = Signal(str)
    weightsPicked = Signal(str)
    comparePicked = Signal(object)  # None, "plain" or a checkpoint path

    def __init__(self, parent=None):
        super().__init__("Input", parent)
        self.image_combo = QComboBox()
        self.image_combo.setToolTip("Images opened this session, here or in the Images tab")
        self.image_combo.setPlaceholderText("no image")
        self.image_combo.activated.connect(
            lambda i: self.imagePicked.emit(self.image_combo.itemData(i)))
        open_button = QPushButton("Open image…")
        open_button.clicked.connect(self.open_image_dialog)
        self.model_label = QLabel("no model", wordWrap=True)
        self.weights_combo = QComboBox()
        for text, data in WEIGHTS_CHOICES:
            self.weights_combo.addItem(text, data)
        self.weights_combo.setToolTip(WEIGHTS_TIP)
        self.weights_combo.activated.connect(
            lambda i: self.weightsPicked.emit(self.weights_combo.itemData(i)))
        self.compare_combo = QComboBox()
        self.compare_combo.addItem("Nothing", None)
        self.compare_combo.addItem("Plain twin (no shortcuts)", PLAIN)
        self.compare_combo.addItem("Second checkpoint…", PICK)
        self.compare_combo.activated.connect(self._compare_activated)
        self._compare: str | None = None
        form = QFormLayout(self)
        form.addRow("Image", self.image_combo)
        form.addRow(open_button)
        form.addRow("Model", self.model_label)
        form.addRow("Weights", self.weights_combo)
        form.addRow("Compare with", self.compare_combo)

    def add_images(self, paths: list[str]) -> None:
        """Images offered in the picker (the session's, oldest first)."""
        for p in paths:
            if self.image_combo.findData(p) < 0:
                self.image_combo.addItem(Path(p).name, p)
                self.image_combo.setItemData(self.image_combo.count() - 1, p,
                                             Qt.ItemDataRole.ToolTipRole)

    def image_paths(self) -> list[str]:
        return [self.image_combo.itemData(i) for i in range(self.image_combo.count())]

    def show_image(self, path: str) -> None:
        self.add_images([path])
        self.image_combo.setCurrentIndex(self.image_combo.findData(path))
        self.image_combo.setToolTip(path)

    def show_model(self, name: str) -> None:
        self.model_label.setText(name)

    def show_weights(self, weights: str) -> None:
        if self.weights_combo.findData(weights) < 0:
            self.weights_combo.addItem(Path(weights).name, weights)
        self.weights_combo.setCurrentIndex(self.weights_combo.findData(weights))

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
