"""The layer table's data: a Qt model over a `ModelSummary`'s rows that sorts itself, and a
proxy that filters them by name, type and "has parameters". The receptive field columns come
with the summary; the "Saved" column once a `MemoryReport` for it arrives (`set_memory`).

Imports no torch: it only reads a `ModelSummary` (plain dataclasses)."""

from __future__ import annotations

import math

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt

from resnet_studio.app.summary import MemoryReport, row_label, share, share_text
from resnet_studio.core.common.budget import size_text
from resnet_studio.core.common.formatting import compact, shape_text
from resnet_studio.core.receptive_field import V1_NOTE
from resnet_studio.core.summary import LayerRow, ModelSummary

SORT_ROLE = Qt.ItemDataRole.UserRole  # raw values: ints / floats / strings, sorted as such
ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the source row's LayerRow

COLUMNS = ("Layer", "Type", "Output shape", "Params", "% params", "MACs", "% MACs", "RF",
           "Stride", "Saved", "Detail")
(COL_NAME, COL_TYPE, COL_SHAPE, COL_PARAMS, COL_PPCT, COL_MACS, COL_MPCT, COL_RF, COL_JUMP,
 COL_SAVED, COL_DETAIL) = range(11)
_NUMERIC = {COL_SHAPE, COL_PARAMS, COL_PPCT, COL_MACS, COL_MPCT, COL_RF, COL_JUMP, COL_SAVED}
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT_INT, _LEFT_INT = int(_RIGHT.value), int(_LEFT.value)
_ROLES = {Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.TextAlignmentRole,
          Qt.ItemDataRole.ToolTipRole, SORT_ROLE, ROW_ROLE}


# -- model ----------------------------------------------------------------------------------
class LayerTableModel(QAbstractTableModel):
    """One row per `LayerRow` (one call of one leaf module). `SORT_ROLE` gives raw values.

    The model sorts itself (Python's sort on one column's keys: ~5 ms for ResNet-1202's 3,600
    rows, where a proxy's per-comparison callbacks take a quarter of a second). A column's keys
    are computed the first time it is sorted by: showing a model in network order computes none
    (a new model must not hold the GUI thread)."""

    def __init__(self, summary: ModelSummary | None = None, parent=None):
        super().__init__(parent)
        self._summary: ModelSummary | None = None
        self._network: list[LayerRow] = []  # the summary's rows, in network order
        self._perm: list[int] = []  # shown row -> network position
        self._rows: list[LayerRow] = []  # in the current sort order
        self._haystack: list[str] = []  # lower-case "name type" for the filter, per row
        self._keys: dict[int, list] = {}  # column -> SORT_ROLE values in network order
        self._text_cache: dict[int, tuple[str, ...]] = {}  # shown row -> its cells' texts
        self._sort: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder)
        self._memory: MemoryReport | None = None
        self._saved: list[int] | None = None  # bytes saved for backward, in network order
        if summary is not None:
            self.set_summary(summary)

    # data in -----------------------------------------------------------------------------
    def set_summary(self, summary: ModelSummary | None) -> None:
        self.beginResetModel()
        self._summary = summary
        self._network = list(summary.layers) if summary is not None else []
        self._memory, self._saved = None, None  # a new model: the old estimate no longer holds
        self._keys = {}
        self._perm = self._order(*self._sort)
        self._rows = [self._network[i] for i in self._perm]
        self._text_cache: dict[int, tuple[str, ...]] = {}
        self._haystack = [f"{r.name} {r.type}".lower() for r in self._rows]
        self.endResetModel()

    def _column_keys(self, column: int) -> list:
        if column not in self._keys:
            self._keys[column] = [self._sort_key(i, r, column)
                                  for i, r in enumerate(self._network)]
        return self._keys[column]

    def _order(self, column: int, order: Qt.SortOrder) -> list[int]:
        """Network positions in sorted order; equal keys keep network order (a stable sort)."""
        network = range(len(self._network))
        if column < 0 or column == COL_NAME and order == Qt.SortOrder.AscendingOrder:
            return list(network)
        keys = self._column_keys(column)
        return sorted(network, key=keys.__getitem__,
                      reverse=order == Qt.SortOrder.DescendingOrder)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        if not self._rows:
            return
        self.layoutAboutToBeChanged.emit()
        perm = self._order(column, order)  # new row -> network position
        position_to_old = {p: row for row, p in enumerate(self._perm)}
        old_to_new = [0] * len(perm)
        for new, p in enumerate(perm):
            old_to_new[position_to_old[p]] = new
        self._perm = perm
        self._rows = [self._network[i] for i in perm]
        self._text_cache = {}
        self._haystack = [f"{r.name} {r.type}".lower() for r in self._rows]
        old = self.persistentIndexList()
        self.changePersistentIndexList(
            old, [self.index(old_to_new[i.row()], i.column()) for i in old])
        self.layoutChanged.emit()

    def summary(self) -> ModelSummary | None:
        return self._summary

    def set_memory(self, report: MemoryReport | None) -> None:
        """Fills the "Saved" column from `report` (None, or a report for another model or
        input: empty). Keeps the sort order unless the table is sorted by that column."""
        rows = report.memory.layers if report is not None else ()
        fits = self._summary is not None and len(rows) == len(self._network) and all(
            (m.name, m.call) == (r.name, r.call) for m, r in zip(rows, self._network))
        self._memory = report if fits else None
        self._saved = [m.activations for m in rows] if fits else None
        self._keys.pop(COL_SAVED, None)
        self._text_cache = {}
        if self._sort[0] == COL_SAVED:
            self.sort(*self._sort)
        elif self._rows:
            self.dataChanged.emit(self.index(0, COL_SAVED),
                                  self.index(len(self._rows) - 1, COL_SAVED))

    def memory(self) -> MemoryReport | None:
        """The report the "Saved" column shows (None while none is)."""
        return self._memory

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
        if c in (COL_RF, COL_JUMP):  # global pooling (None) sees everything: after every size
            value = r.rf if c == COL_RF else r.jump
            return float("inf") if value is None else value
        if c == COL_SAVED:
            return self._saved[i] if self._saved else 0
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
        # A paint asks each visible cell for a dozen roles: the ones not shown return at once,
        # and a row's texts are formatted once (ResNet-1202's table repaints in a few ms).
        if role not in _ROLES or not index.isValid():
            return None
        c = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._texts(index.row())[c]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT_INT if c in _NUMERIC else _LEFT_INT
        r = self._rows[index.row()]
        if role == SORT_ROLE:
            return self._column_keys(c)[self._perm[index.row()]]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(r, c)
        if role == ROW_ROLE:
            return r
        return None

    def _texts(self, row: int) -> tuple[str, ...]:
        texts = self._text_cache.get(row)
        if texts is None:
            r, s = self._rows[row], self._summary
            saved = self._saved[self._perm[row]] if self._saved else None
            texts = self._text_cache[row] = (
                row_label(r), r.type, shape_text(r.output_shape), f"{r.params:,}",
                share_text(share(r.params, s.total_params)), compact(r.macs),
                share_text(share(r.macs, s.total_macs)), "all" if r.rf is None else str(r.rf),
                "" if r.jump is None else str(r.jump),
                "" if saved is None else (size_text(saved) if saved else "–"), r.detail)
        return texts

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
        if c in (COL_RF, COL_JUMP):
            if r.rf is None:
                return "after global pooling: every output sees the whole input"
            return (f"one output pixel sees {r.rf}×{r.rf} input pixels; neighbouring outputs "
                    f"are {r.jump} input pixels apart")
        if c == COL_SAVED and self._saved is not None:
            m = self._memory.memory
            saved = self._saved[self._network.index(r)] if r in self._network else 0
            return (f"{saved:,} bytes saved for the backward pass by this call at batch "
                    f"{m.batch_size:,} ({share(saved, m.activations):.2f}% of "
                    f"{size_text(m.activations)})")
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
    COL_RF: ("Receptive field: how many input pixels (per side) one output pixel of this "
             "layer sees, exact from the kernels, strides and paddings before it (a block sees "
             "the larger of its main path and its shortcut; 'all' after global pooling).\n\n"
             + V1_NOTE),
    COL_JUMP: "Effective stride: input pixels between neighbouring output pixels",
    COL_SAVED: ("Activations this layer call saves for the backward pass at the batch above "
                "(traced on meta tensors; a tensor two layers keep counts once, at the first "
                "— a conv's input is usually what the ReLU before it saved)"),
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
        if not self._terms and not self._params_only:
            return True
        m: LayerTableModel = self.sourceModel()
        if self._params_only and m.layer_row(source_row).params == 0:
            return False
        hay = m.haystack(source_row)
        return all(t in hay for t in self._terms)


__all__ = ["COLUMNS", "ROW_ROLE", "SORT_ROLE", "LayerFilterProxy", "LayerTableModel"]
