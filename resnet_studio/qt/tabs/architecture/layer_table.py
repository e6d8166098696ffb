"""The Architecture tab's per-layer table: sortable, filterable, selection-synced, exportable;
with `memory=True`, a `MemoryBar` above it estimates training memory for the "Saved" column.

Imports no torch: it only reads a `ModelSummary` (plain dataclasses)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QItemSelection, QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.summary import (
    MemoryReport,
    row_label,
    totals_text,
    write_layers_csv,
    write_summary_json,
)
from resnet_studio.core.summary import LayerRow, ModelSummary
from resnet_studio.qt.tabs.architecture.layer_model import (
    COL_JUMP,
    COL_MACS,
    COL_MPCT,
    COL_NAME,
    COL_PARAMS,
    COL_PPCT,
    COL_RF,
    COL_SAVED,
    COL_SHAPE,
    COL_TYPE,
    COLUMNS,
    ROW_ROLE,
    SORT_ROLE,
    LayerFilterProxy,
    LayerTableModel,
)
from resnet_studio.qt.tabs.architecture.memory_bar import MemoryBar


class LayerTable(QWidget):
    """Filter bar, the table, and a totals footer. User selection emits `layersSelected`."""

    layersSelected = Signal(list)  # unique layer names, in table order

    def __init__(self, parent=None, *, memory: bool = False):
        super().__init__(parent)
        self._silent = 0  # > 0 while the selection changes programmatically
        self.memory_bar = MemoryBar() if memory else None

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter layers: name or type, e.g. conv or layer2")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setToolTip("Rows whose name or type contains every word you type")
        self.params_only = QCheckBox("Only layers with parameters")

        self.model = LayerTableModel(parent=self)
        self.proxy = LayerFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # network order until clicked
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setShowGrid(False)
        self.view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vh = self.view.verticalHeader()
        vh.setVisible(False)
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # uniform rows: fast with 3,600
        vh.setDefaultSectionSize(self.view.fontMetrics().height() + 8)
        hh = self.view.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(True)
        hh.setHighlightSections(False)
        hh.setSortIndicatorShown(True)
        self._set_default_widths()

        self.footer = QLabel()
        self.footer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.footer.setWordWrap(True)
        self.footer.setContentsMargins(4, 2, 4, 2)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.params_only)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        if self.memory_bar is not None:
            lay.addWidget(self.memory_bar)
            self.memory_bar.estimated.connect(self.set_memory)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.footer)

        self.filter_edit.textChanged.connect(self._apply_filter)
        self.params_only.toggled.connect(self._apply_filter)
        self.view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.view.installEventFilter(self)
        self._update_footer()

    # -- data -------------------------------------------------------------------------------
    def set_summary(self, summary: ModelSummary) -> None:
        """Shows another model; keeps the filter, and re-selects layers that still exist."""
        keep = self.selected_layers()
        self._silent += 1
        try:
            self.model.set_summary(summary)
            self._fit_text_columns()
        finally:
            self._silent -= 1
        if keep:
            self.select_layers(keep, scroll=False)
        self._update_footer()
        if self.memory_bar is not None:
            self.memory_bar.set_summary(summary)

    def summary(self) -> ModelSummary | None:
        return self.model.summary()

    def set_memory(self, report: MemoryReport | None) -> None:
        """The training memory the "Saved" column shows (and the exports carry)."""
        self.model.set_memory(report)

    def clear(self) -> None:
        self._silent += 1
        try:
            self.model.set_summary(None)
        finally:
            self._silent -= 1
        self._update_footer()

    def row_count(self) -> int:
        """Rows currently shown (after the filter)."""
        return self.proxy.rowCount()

    def visible_rows(self) -> list[LayerRow]:
        """The shown rows, in table order."""
        return [self.proxy.index(i, 0).data(ROW_ROLE) for i in range(self.proxy.rowCount())]

    def set_filter_text(self, text: str) -> None:
        self.filter_edit.setText(text)

    # -- selection --------------------------------------------------------------------------
    def selected_layers(self) -> list[str]:
        rows = sorted(i.row() for i in self.view.selectionModel().selectedRows())
        names: list[str] = []
        seen: set[str] = set()
        for r in rows:
            name = self.proxy.index(r, 0).data(ROW_ROLE).name
            if name not in seen:
                seen.add(name)
                names.append(name)
        return names

    def select_layers(self, names: list[str], *, scroll: bool = True) -> None:
        """Selects every row (all calls) of `names` and scrolls to the first; emits nothing."""
        wanted = set(names)
        proxy_rows = sorted(
            self.proxy.mapFromSource(self.model.index(i, 0)).row()
            for i in range(self.model.rowCount())
            if self.model.layer_row(i).name in wanted
        )
        proxy_rows = [r for r in proxy_rows if r >= 0]  # filtered-out rows map to -1
        sel = QItemSelection()
        last_col = self.proxy.columnCount() - 1
        start = prev = None
        for r in [*proxy_rows, None]:  # merge runs of adjacent rows into ranges
            if r is not None and prev is not None and r == prev + 1:
                prev = r
                continue
            if start is not None:
                sel.select(self.proxy.index(start, 0), self.proxy.index(prev, last_col))
            start = prev = r
        flags = (QItemSelectionModel.SelectionFlag.ClearAndSelect
                 | QItemSelectionModel.SelectionFlag.Rows)
        self._silent += 1
        try:
            sm = self.view.selectionModel()
            if sel.isEmpty():
                sm.clearSelection()
            else:
                sm.select(sel, flags)
                first = self.proxy.index(proxy_rows[0], 0)
                sm.setCurrentIndex(first, QItemSelectionModel.SelectionFlag.NoUpdate)
                if scroll:
                    self.view.scrollTo(first, QAbstractItemView.ScrollHint.PositionAtCenter)
        finally:
            self._silent -= 1

    def _on_selection_changed(self, *_):
        if not self._silent:
            self.layersSelected.emit(self.selected_layers())

    # -- filter -----------------------------------------------------------------------------
    def _apply_filter(self, *_):
        # rows that disappear leave the selection without telling the rest of the window
        self._silent += 1
        try:
            self.proxy.set_filter(self.filter_edit.text(), self.params_only.isChecked())
        finally:
            self._silent -= 1
        self._update_footer()

    # -- footer -----------------------------------------------------------------------------
    def footer_text(self) -> str:
        return self.footer.text()

    def _update_footer(self) -> None:
        s = self.model.summary()
        shown = self.visible_rows() if self.proxy.is_filtered() else None
        self.footer.setText("No model" if s is None else totals_text(s, shown))

    # -- layout -----------------------------------------------------------------------------
    def _set_default_widths(self) -> None:
        fm = self.view.fontMetrics()
        samples = {COL_NAME: "layer4.2.downsample.0", COL_TYPE: "BatchNorm2d",
                   COL_SHAPE: "2048×56×56", COL_PARAMS: "2,359,296", COL_PPCT: "0.00%",
                   COL_MACS: "118M", COL_MPCT: "0.00%", COL_RF: "1451", COL_JUMP: "32",
                   COL_SAVED: "102.8 MB"}
        for col, sample in samples.items():
            # header text + room for the sort arrow, or the typical cell, whichever is wider
            w = max(fm.horizontalAdvance(COLUMNS[col]) + 32, fm.horizontalAdvance(sample) + 16)
            self.view.setColumnWidth(col, w)

    def _fit_text_columns(self) -> None:
        """Widens Layer and Type to their longest text (font metrics, no per-row widgets).
        Only the longest few texts are measured: ResNet-1202 has 3,600 rows."""
        s = self.model.summary()
        if s is None or not s.layers:
            return
        fm = self.view.fontMetrics()
        for col, texts, cap in ((COL_NAME, {row_label(r) for r in s.layers}, 420),
                                (COL_TYPE, {r.type for r in s.layers}, 220)):
            longest = sorted(texts, key=len)[-8:]
            want = max(fm.horizontalAdvance(t) for t in longest) + 16
            if want > self.view.columnWidth(col):
                self.view.setColumnWidth(col, min(want, cap))

    # -- clipboard / export -----------------------------------------------------------------
    def eventFilter(self, obj, event) -> bool:
        if (obj is self.view and event.type() == QEvent.Type.KeyPress
                and event.matches(QKeySequence.StandardKey.Copy)):
            self.copy_selection()
            return True
        return super().eventFilter(obj, event)

    def copy_selection(self) -> str:
        """Copies the selected rows (shown columns, tab-separated) to the clipboard."""
        rows = sorted(i.row() for i in self.view.selectionModel().selectedRows())
        lines = ["\t".join(COLUMNS)]
        for r in rows:
            lines.append("\t".join(str(self.proxy.index(r, c).data() or "")
                                   for c in range(len(COLUMNS))))
        text = "\n".join(lines) + "\n"
        if rows:
            QApplication.clipboard().setText(text)
        return text

    def export_csv(self, path: str | Path) -> None:
        """Writes every layer (not only the filtered ones) as CSV, atomically, with the
        "Saved" column's bytes when it shows an estimate (as `summary --memory --csv`).

        Raises OSError when the file cannot be written, ValueError when no model is shown."""
        write_layers_csv(self._shown_summary(), path, self.model.memory())

    def export_json(self, path: str | Path) -> None:
        """Writes the whole summary (layers, block graph, the memory estimate shown) as JSON,
        as `summary [--memory] --json`."""
        write_summary_json(self._shown_summary(), path, self.model.memory())

    def _shown_summary(self) -> ModelSummary:
        s = self.model.summary()
        if s is None:
            raise ValueError("no model to export")
        return s


__all__ = ["COLUMNS", "ROW_ROLE", "SORT_ROLE", "LayerFilterProxy", "LayerTable",
           "LayerTableModel"]
