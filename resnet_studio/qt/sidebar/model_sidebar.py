"""Sidebar: presets by family, the plain-twin switch, input size, and the builder form."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.core.common.formatting import compact
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.zoo import PRESETS
from resnet_studio.qt.sidebar.spec_form import SpecForm

NAME_ROLE = Qt.ItemDataRole.UserRole


class ModelSidebar(QWidget):
    """Emits `specChanged(spec, input_shape_or_None)` whenever the model to show changes."""

    specChanged = Signal(object, object)
    inputError = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._base: ArchSpec = PRESETS["resnet56"].spec
        self._spec: ArchSpec = self._base
        self._items: dict[str, QTreeWidgetItem] = {}

        self.search = QLineEdit(placeholderText="Search models…", clearButtonEnabled=True)
        self.search.textChanged.connect(self._filter)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Model", "Params"])
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setColumnWidth(0, 190)
        self.tree.itemSelectionChanged.connect(self._preset_picked)
        self._fill_tree()

        self.plain = QCheckBox("Plain twin (remove every shortcut)")
        self.plain.setToolTip("He et al. 2015's plain network: the same stack, no y = F(x) + x.")
        self.plain.toggled.connect(self._plain_toggled)
        self.input_edit = QLineEdit(clearButtonEnabled=True)
        self.input_edit.setToolTip("Input size C, H, W. Empty: the model's own (224² ImageNet, "
                                   "32² CIFAR).")
        self.input_edit.editingFinished.connect(self._emit)
        self.input_error = QLabel(objectName="inlineError", wordWrap=True)
        self.input_error.setStyleSheet("color: #c62828;")
        self.input_error.hide()

        self.form = SpecForm()
        self.form.specChanged.connect(self._form_changed)
        builder = QGroupBox("Builder")
        scroll = QScrollArea(widgetResizable=True, frameShape=QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.form)
        QVBoxLayout(builder).addWidget(scroll)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.search)
        top_layout.addWidget(self.tree, 1)
        top_layout.addWidget(self.plain)
        row = QFormLayout()
        row.addRow("Input (C, H, W):", self.input_edit)
        top_layout.addLayout(row)
        top_layout.addWidget(self.input_error)

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
    def _fill_tree(self) -> None:
        families: dict[str, QTreeWidgetItem] = {}
        for name, preset in PRESETS.items():
            if preset.spec.plain:  # reached through the plain-twin switch instead
                continue
            parent = families.get(preset.family)
            if parent is None:
                parent = families[preset.family] = QTreeWidgetItem(self.tree, [preset.family])
                parent.setFlags(parent.flags() & ~Qt.ItemFlag.ItemIsSelectable)
                parent.setExpanded(True)
            item = QTreeWidgetItem(parent, [name, ""])
            item.setData(0, NAME_ROLE, name)
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            spec = preset.spec
            item.setToolTip(0, f"{name}: {spec.depth} layers, {spec.block} blocks, shortcut "
                               f"{spec.shortcut}{', pre-activation' if spec.preact else ''}\n"
                               f"{preset.reference}{' · ' + spec.notes if spec.notes else ''}")
            self._items[name] = item

    def set_param_counts(self, counts: dict[str, int]) -> None:
        for name, item in self._items.items():
            if name in counts:
                item.setText(1, compact(counts[name]))
                item.setToolTip(1, f"{counts[name]:,} parameters")

    def _filter(self, text: str) -> None:
        text = text.strip().lower()
        for i in range(self.tree.topLevelItemCount()):
            family = self.tree.topLevelItem(i)
            visible = 0
            for j in range(family.childCount()):
                child = family.child(j)
                hit = not text or text in child.text(0).lower() or text in family.text(0).lower()
                child.setHidden(not hit)
                visible += hit
            family.setHidden(visible == 0)

    def _preset_picked(self) -> None:
        items = self.tree.selectedItems()
        name = items[0].data(0, NAME_ROLE) if items else None
        if not name:
            return
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
        self.plain.blockSignals(True)
        self.plain.setChecked(spec.plain)
        self.plain.blockSignals(False)
        self._emit()

    def _show(self, spec: ArchSpec) -> None:
        self._spec = spec
        self.form.set_spec(spec)
        self.plain.blockSignals(True)
        self.plain.setChecked(spec.plain)
        self.plain.blockSignals(False)
        self.input_edit.setPlaceholderText(", ".join(map(str, spec.default_input)))
        self._emit()

    # -- public -----------------------------------------------------------------------------
    def spec(self) -> ArchSpec:
        return self._spec

    def input_shape(self) -> tuple[int, ...] | None:
        text = self.input_edit.text().strip()
        if not text:
            return None
        parts = [p for p in text.replace("x", ",").replace("×", ",").split(",") if p.strip()]
        try:
            shape = tuple(int(p) for p in parts)
        except ValueError:
            raise ValueError(f"'{text}' is not three whole numbers C, H, W") from None
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError("input needs three positive numbers: channels, height, width")
        return shape

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
        self.plain.blockSignals(True)
        self.plain.setChecked(plain)
        self.plain.blockSignals(False)
        item = self._items.get(name)
        if item is None:
            return False
        self.tree.blockSignals(True)
        self.tree.setCurrentItem(item)
        self.tree.blockSignals(False)
        self.tree.scrollToItem(item)
        self._preset_picked()
        return True

    def set_spec(self, spec: ArchSpec) -> None:
        """Show a spec opened from a file (not a preset)."""
        self._base = spec
        self.tree.clearSelection()
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
