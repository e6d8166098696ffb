"""Sidebar: presets by family, the plain-twin switch, input size, and the builder form."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.summary import parse_input
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.zoo import PRESETS
from resnet_studio.qt.kit.palette import message_style
from resnet_studio.qt.sidebar.preset_list import PresetList
from resnet_studio.qt.sidebar.spec_form import SpecForm


class ModelSidebar(QWidget):
    """Emits `specChanged(spec, input_shape_or_None)` whenever the model to show changes."""

    specChanged = Signal(object, object)
    inputError = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._base: ArchSpec = PRESETS["resnet56"].spec
        self._spec: ArchSpec = self._base
        self.presets = PresetList()
        self.presets.presetPicked.connect(self._preset_picked)

        self.plain = QCheckBox("Plain twin (remove every shortcut)")
        self.plain.setToolTip("He et al. 2015's plain network: the same stack, no y = F(x) + x.")
        self.plain.toggled.connect(self._plain_toggled)
        self.input_edit = QLineEdit(clearButtonEnabled=True)
        self.input_edit.setToolTip("Input size C, H, W. Empty: the model's own (224² ImageNet, "
                                   "32² CIFAR).")
        self.input_edit.editingFinished.connect(self._emit)
        self.input_error = QLabel(objectName="inlineError", wordWrap=True)
        self.input_error.setStyleSheet(message_style(error=True))
        self.input_error.hide()

        self.form = SpecForm()
        self.form.specChanged.connect(self._form_changed)
        builder = QGroupBox("Builder")
        scroll = QScrollArea(widgetResizable=True, frameShape=QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.form)
        QVBoxLayout(builder).addWidget(scroll)

        input_row = QFormLayout()
        input_row.addRow("Input (C, H, W):", self.input_edit)
        top = QWidget()
        column = QVBoxLayout(top)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.presets, 1)
        column.addWidget(self.plain)
        column.addLayout(input_row)
        column.addWidget(self.input_error)

        split = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=False)
        split.addWidget(top)
        split.addWidget(builder)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split)
        self.splitter = split

    # -- presets ----------------------------------------------------------------------------
    def set_param_counts(self, counts: dict[str, int]) -> None:
        self.presets.set_param_counts(counts)

    def _preset_picked(self, name: str) -> None:
        self._base = PRESETS[name].spec
        self._show(self._base.plain_twin() if self.plain.isChecked() else self._base)

    # -- plain twin / builder ---------------------------------------------------------------
    def _plain_toggled(self, checked: bool) -> None:
        if checked:
            spec = self._spec.plain_twin()
        else:
            restored = self._base.shortcut if not self._base.plain else "B"
            spec = replace(self._spec, shortcut=restored,
                           name=self._spec.name.removeprefix("plain_"))
        self._show(spec)

    def _form_changed(self, spec: ArchSpec) -> None:
        self._spec = spec
        self._check_plain(spec.plain)
        self._emit()

    def _show(self, spec: ArchSpec) -> None:
        self._spec = spec
        self.form.set_spec(spec)
        self._check_plain(spec.plain)
        self.input_edit.setPlaceholderText(", ".join(map(str, spec.default_input)))
        self._emit()

    def _check_plain(self, plain: bool) -> None:
        """Show the plain-twin switch's state without acting on it."""
        with QSignalBlocker(self.plain):
            self.plain.setChecked(plain)

    # -- public -----------------------------------------------------------------------------
    def spec(self) -> ArchSpec:
        return self._spec

    def input_shape(self) -> tuple[int, ...] | None:
        """The typed input size (None: the model's own); ValueError for text that is not
        C,H,W, with the same message `resnet-studio summary --input` gives."""
        return parse_input(self.input_edit.text())

    def set_input_text(self, text: str) -> None:
        self.input_edit.setText(text)

    def select_model(self, name: str, plain: bool = False) -> bool:
        """Select a preset by name (as on the command line). False if unknown."""
        from resnet_studio.core.zoo import resolve_name

        try:
            name = resolve_name(name)
        except KeyError:
            return False
        spec = PRESETS[name].spec
        if spec.plain:
            plain, name = True, name.removeprefix("plain_")
        self._check_plain(plain)
        if not self.presets.select(name):
            return False
        self._preset_picked(name)
        return True

    def set_spec(self, spec: ArchSpec) -> None:
        """Show a spec opened from a file (not a preset)."""
        self._base = spec
        self.presets.clear_selection()
        self._show(spec)

    def _emit(self) -> None:
        try:
            shape = self.input_shape()
        except ValueError as e:
            self.input_error.setText(str(e))
            self.input_error.show()
            self.inputError.emit(str(e))
            return
        self.input_error.hide()
        self.specChanged.emit(self._spec, shape)
