"""The Architecture tab's per-layer table: sortable, filterable, selection-synced, exportable.

Imports no torch: it only reads a `ModelSummary` (plain dataclasses)."""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
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
    row_label,
    share,
    share_text,
    totals_text,
    write_layers_csv,
    write_summary_json,
)
from resnet_studio.core.common.formatting import compact, shape_text
from resnet_studio.core.summary import LayerRow, ModelSummary

SORT_ROLE = Qt.ItemDataRole.UserRole  # raw values: ints / floats / strings, sorted as such
ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the source row's LayerRow

COLUMNS = ("Layer", "Type", "Output shape", "Params", "% params", "MACs", "% MACs", "Detail")
COL_NAME, COL_TYPE, COL_SHAPE, COL_PARAMS, COL_PPCT, COL_MACS, COL_MPCT, COL_DETAIL = range(8)
_NUMERIC = {COL_SHAPE, COL_PARAMS, COL_PPCT, COL_MACS, COL_MPCT}
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


# -- model ----------------------------------------------------------------------------------
class LayerTableModel(QAbstractTableModel):
    """One row per `LayerRow` (one call of one leaf module). `SORT_ROLE` gives raw values.

    The model sorts itself (Python's sort on precomputed keys: ~5 ms for ResNet-1202's
    3,600 rows, where a proxy's per-comparison callbacks take a quarter of a second)."""

    def __init__(self, summary: ModelSummary | None = None, parent=None):
        super().__init__(parent)
        self._summary: ModelSummary | None = None
        self._rows: list[LayerRow] = []  # in the current sort order
        self._haystack: list[str] = []  # lower-case "name type" for the filter, per row
        self._keys: list[tuple] = []  # per row: the SORT_ROLE value of every column
        self._sort: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder)
        if summary is not None:
            self.set_summary(summary)

    # data in -----------------------------------------------------------------------------
    def set_summary(self, summary: ModelSummary | None) -> None:
        self.beginResetModel()
        self._summary = summary
        rows = list(summary.layers) if summary is not None else []
        keys = [tuple(self._sort_key(i, r, c) for c in range(len(COLUMNS)))
                for i, r in enumerate(rows)]
        order = self._order(keys, *self._sort)
        self._rows = [rows[i] for i in order]
        self._keys = [keys[i] for i in order]
        self._haystack = [f"{r.name} {r.type}".lower() for r in self._rows]
        self.endResetModel()

    @staticmethod
    def _order(keys: list[tuple], column: int, order: Qt.SortOrder) -> list[int]:
        """Row positions in sorted order; equal keys keep network order (stable sorts)."""
        network = sorted(range(len(keys)), key=lambda i: keys[i][COL_NAME])
        if column < 0:
            return network
        return sorted(network, key=lambda i: keys[i][column],
                      reverse=order == Qt.SortOrder.DescendingOrder)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        if not self._rows:
            return
        self.layoutAboutToBeChanged.emit()
        perm = self._order(self._keys, column, order)  # new row -> old row
        old_to_new = [0] * len(perm)
        for new, old in enumerate(perm):
            old_to_new[old] = new
        self._rows = [self._rows[i] for i in perm]
        self._keys = [self._keys[i] for i in perm]
        self._haystack = [self._haystack[i] for i in perm]
        old = self.persistentIndexList()
        self.changePersistentIndexList(
            old, [self.index(old_to_new[i.row()], i.column()) for i in old])
        self.layoutChanged.emit()

    def summary(self) -> ModelSummary | None:
        return self._summary

    def layer_row(self, row: int) -> LayerRow:
        return self._rows[row]

    def haystack(self, row: int) -> str:
        return self._haystack[row]

    def _sort_key(self, i: int, r: LayerRow, c: int):
        s = self._summary
        if c == COL_NAME:
            return i  # network order
        if c == COL_TYPE:
            return r.type.lower()
        if c == COL_SHAPE:
            return math.prod(r.output_shape) if r.output_shape else 0
        if c == COL_PARAMS:
            return r.params
        if c == COL_PPCT:
            return share(r.params, s.total_params)
        if c == COL_MACS:
            return r.macs
        if c == COL_MPCT:
            return share(r.macs, s.total_macs)
        return r.detail.lower()

    # Qt API ------------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(_RIGHT if section in _NUMERIC else _LEFT)
        if role == Qt.ItemDataRole.ToolTipRole:
            return _HEADER_TIPS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r = self._rows[index.row()]
        c = index.column()
        s = self._summary
        if role == Qt.ItemDataRole.DisplayRole:
            if c == COL_NAME:
                return row_label(r)
            if c == COL_TYPE:
                return r.type
            if c == COL_SHAPE:
                return shape_text(r.output_shape)
            if c == COL_PARAMS:
                return f"{r.params:,}"
            if c == COL_PPCT:
                return share_text(share(r.params, s.total_params))
            if c == COL_MACS:
                return compact(r.macs)
            if c == COL_MPCT:
                return share_text(share(r.macs, s.total_macs))
            return r.detail
        if role == SORT_ROLE:
            return self._keys[index.row()][c]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(_RIGHT if c in _NUMERIC else _LEFT)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(r, c)
        if role == ROW_ROLE:
            return r
        return None

    def _tooltip(self, r: LayerRow, c: int) -> str:
        s = self._summary
        if c == COL_NAME:
            where = [f"block {r.block}"] if r.block else []
            if r.stage:
                where.append(f"stage {r.stage}")
            call = f"\ncall {r.call} of this module in the forward pass" if r.call > 1 else ""
            return f"{r.name} ({r.type})" + (f"\n{', '.join(where)}" if where else "") + call
        if c in (COL_PARAMS, COL_PPCT):
            note = " (counted on the first call only)" if r.call > 1 else ""
            return (f"{r.params:,} parameters{note}\n"
                    f"{share(r.params, s.total_params):.3f}% of {s.total_params:,}")
        if c in (COL_MACS, COL_MPCT):
            return (f"{r.macs:,} multiply-accumulates per image\n"
                    f"{share(r.macs, s.total_macs):.3f}% of {s.total_macs:,}")
        if c == COL_SHAPE:
            n = math.prod(r.output_shape) if r.output_shape else 0
            return f"output per image: {shape_text(r.output_shape)} = {n:,} values"
        if c == COL_DETAIL and r.detail:
            return r.detail
        return None


_HEADER_TIPS = {
    COL_NAME: "Qualified module name; (2) marks the second call of a reused module (e.g. ReLU)",
    COL_TYPE: "Module class",
    COL_SHAPE: "Output per image (channels × height × width); sorts by number of values",
    COL_PARAMS: "Trainable parameters",
    COL_PPCT: "Share of all trainable parameters",
    COL_MACS: "Multiply-accumulates per image",
    COL_MPCT: "Share of all multiply-accumulates",
    COL_DETAIL: "Kernel, channels and stride",
}


class LayerFilterProxy(QSortFilterProxyModel):
    """Keeps rows whose name or type contains every word of the filter (case-insensitive)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._terms: list[str] = []
        self._params_only = False
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(False)  # the source model sorts; the proxy only filters

    def set_filter(self, text: str, params_only: bool) -> None:
        terms = text.lower().split()
        if terms == self._terms and params_only == self._params_only:
            return
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9; invalidateFilter is deprecated
            self.beginFilterChange()
            self._terms, self._params_only = terms, params_only
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._terms, self._params_only = terms, params_only
            self.invalidateFilter()

    def is_filtered(self) -> bool:
        return bool(self._terms) or self._params_only

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting goes to the source model; the proxy keeps its order (fast for 3,600 rows)."""
        self.sourceModel().sort(column, order)

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:
        m: LayerTableModel = self.sourceModel()
        if self._params_only and m.layer_row(source_row).params == 0:
            return False
        hay = m.haystack(source_row)
        return all(t in hay for t in self._terms)


# -- widget ---------------------------------------------------------------------------------
class LayerTable(QWidget):
    """Filter bar, the table, and a totals footer. User selection emits `layersSelected`."""

    layersSelected = Signal(list)  # unique layer names, in table order

    def __init__(self, parent=None):
        super().__init__(parent)
        self._silent = 0  # > 0 while the selection changes programmatically

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

    def summary(self) -> ModelSummary | None:
        return self.model.summary()

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
                   COL_MACS: "118M", COL_MPCT: "0.00%"}
        for col, sample in samples.items():
            # header text + room for the sort arrow, or the typical cell, whichever is wider
            w = max(fm.horizontalAdvance(COLUMNS[col]) + 32, fm.horizontalAdvance(sample) + 16)
            self.view.setColumnWidth(col, w)

    def _fit_text_columns(self) -> None:
        """Widens Layer and Type to their longest text (font metrics, no per-row widgets)."""
        s = self.model.summary()
        if s is None or not s.layers:
            return
        fm = self.view.fontMetrics()
        for col, texts, cap in ((COL_NAME, {row_label(r) for r in s.layers}, 420),
                                (COL_TYPE, {r.type for r in s.layers}, 220)):
            want = max(fm.horizontalAdvance(t) for t in texts) + 16
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
        """Writes every layer (not only the filtered ones) as CSV, atomically.

        Raises OSError when the file cannot be written, ValueError when no model is shown."""
        write_layers_csv(self._shown_summary(), path)

    def export_json(self, path: str | Path) -> None:
        """Writes the whole summary (layers and block graph) as JSON, as `summary --json`."""
        write_summary_json(self._shown_summary(), path)

    def _shown_summary(self) -> ModelSummary:
        s = self.model.summary()
        if s is None:
            raise ValueError("no model to export")
        return s


__all__ = ["COLUMNS", "ROW_ROLE", "SORT_ROLE", "LayerFilterProxy", "LayerTable",
           "LayerTableModel"]
