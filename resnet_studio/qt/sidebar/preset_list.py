"""The sidebar's list of presets: a search field over a tree of families, with parameter counts.

Imports no torch: presets are `ArchSpec`s; the counts arrive a moment later
(`set_param_counts`), from the inspector, in a worker.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from resnet_studio.core.common.formatting import compact
from resnet_studio.core.zoo import PRESETS

NAME_ROLE = Qt.ItemDataRole.UserRole


class PresetList(QWidget):
    """Every residual preset by family (plain twins are reached through the sidebar's switch).
    Emits `presetPicked(name)` when the user selects one."""

    presetPicked = Signal(str)  # noqa: N815 (Qt naming)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._items: dict[str, QTreeWidgetItem] = {}
        self.search = QLineEdit(placeholderText="Search models…", clearButtonEnabled=True)
        self.search.textChanged.connect(self._filter)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Model", "Params"])
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setColumnWidth(0, 190)
        self.tree.itemSelectionChanged.connect(self._picked)
        self._fill()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)

    def select(self, name: str) -> bool:
        """Select and show a listed preset without emitting; False if it is not listed."""
        item = self._items.get(name)
        if item is None:
            return False
        with QSignalBlocker(self.tree):
            self.tree.setCurrentItem(item)
        self.tree.scrollToItem(item)
        return True

    def selected(self) -> str | None:
        items = self.tree.selectedItems()
        return items[0].data(0, NAME_ROLE) if items else None

    def clear_selection(self) -> None:
        self.tree.clearSelection()

    def set_param_counts(self, counts: dict[str, int]) -> None:
        for name, item in self._items.items():
            if name in counts:
                item.setText(1, compact(counts[name]))
                item.setToolTip(1, f"{counts[name]:,} parameters")

    def _fill(self) -> None:
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

    def _picked(self) -> None:
        name = self.selected()
        if name:
            self.presetPicked.emit(name)
