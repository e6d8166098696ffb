"""Past runs from the run history (`app.runs.RunHistory`): overlay, rename, delete, export CSV,
resume, use the trained model in another tab."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.errors import describe_error
from resnet_studio.qt.kit.palette import RUN_STATUS, TEXT
from resnet_studio.qt.kit.use_in import add_use_in_context_menu, use_in_button

if TYPE_CHECKING:
    from resnet_studio.app.runs import RunHistory

COLUMNS = ["Show", "Name", "Model", "Dataset", "Status", "Steps", "Created"]
ID_ROLE = Qt.ItemDataRole.UserRole


class RunsList(QWidget):
    overlayToggled = Signal(str, bool)  # run id, shown
    resumeRequested = Signal(str)  # run id
    useRequested = Signal(str, str)  # run id, target tab (app.trained_models.USE_TARGETS)
    changed = Signal()
    statusMessage = Signal(str)  # the store read-only, moved aside or unusable

    def __init__(self, history: RunHistory, parent: QWidget | None = None):
        super().__init__(parent)
        self.history = history
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.itemChanged.connect(self._item_changed)
        self.table.itemSelectionChanged.connect(self._update_buttons)

        self.buttons = {}
        bar = QHBoxLayout()
        for key, text, action in [("refresh", "Refresh", None),
                                  ("rename", "Rename…", self._rename),
                                  ("delete", "Delete…", self._delete),
                                  ("export", "Export CSV…", self._export),
                                  ("resume", "Resume", self.resumeRequested.emit)]:
            button = QPushButton(text)
            button.clicked.connect(self.refresh if action is None
                                   else partial(self._on_selected, action))
            bar.addWidget(button)
            self.buttons[key] = button
        self._build_use_in(bar)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        self._update_buttons()

    def _build_use_in(self, bar: QHBoxLayout) -> None:
        """"Use in…": a button over the selected run, and the same menu on a right click."""
        button = self.buttons["use"] = use_in_button(self, lambda target: self._on_selected(
            lambda run_id: self.useRequested.emit(run_id, target)))
        bar.addWidget(button)
        add_use_in_context_menu(self.table, self.trained_run_at, self.useRequested.emit)
        self.table.itemSelectionChanged.connect(
            lambda: button.setEnabled(self.trained_run_at(self._selected_row()) is not None))
        button.setEnabled(False)

    def trained_run_at(self, row: int) -> str | None:
        """The run of table row `row` if it wrote a checkpoint (a model to use elsewhere)."""
        item = self.table.item(row, 0) if row >= 0 else None
        if item is None:
            return None
        run_id = item.data(ID_ROLE)
        return run_id if self.history.row(run_id, errors=False).checkpoint else None

    def _selected_row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    @property
    def store(self):
        """The RunStore behind the history (opened on first use)."""
        return self.history.store

    def refresh(self) -> None:
        shown = set(self.shown_ids())
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        try:
            rows = self.history.rows(errors=False)
            if self.history.store.notice:
                self.statusMessage.emit(self.history.store.notice)
        except OSError as e:  # busy, a folder in its place: say so and show no runs
            rows = []
            self.statusMessage.emit(describe_error(e))
        for rec in reversed(rows):
            row = self.table.rowCount()
            self.table.insertRow(row)
            show = QTableWidgetItem()
            show.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled
                          | Qt.ItemFlag.ItemIsSelectable)
            show.setCheckState(Qt.CheckState.Checked if rec.id in shown
                               else Qt.CheckState.Unchecked)
            show.setData(ID_ROLE, rec.id)
            show.setToolTip("Overlay this run's curves on the plots")
            cells = [show, QTableWidgetItem(rec.name), QTableWidgetItem(rec.model),
                     QTableWidgetItem(rec.dataset), QTableWidgetItem(rec.status),
                     QTableWidgetItem(f"{rec.step:,} / {rec.total_steps:,}"),
                     QTableWidgetItem(rec.created_text)]
            cells[4].setForeground(QColor(RUN_STATUS.get(rec.status, TEXT)))
            if rec.message:
                cells[4].setToolTip(rec.message)
            for col, item in enumerate(cells):
                item.setData(ID_ROLE, rec.id)
                self.table.setItem(row, col, item)
        self.table.blockSignals(False)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self._update_buttons()

    def shown_ids(self) -> list[str]:
        out = []
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item and item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(ID_ROLE))
        return out

    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0).data(ID_ROLE) if rows else None

    def select_run(self, run_id: str) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(ID_ROLE) == run_id:
                self.table.selectRow(row)

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == 0:
            self.overlayToggled.emit(item.data(ID_ROLE),
                                     item.checkState() == Qt.CheckState.Checked)

    def _update_buttons(self) -> None:
        run_id = self.selected_id()
        for key in ("rename", "delete", "export"):
            self.buttons[key].setEnabled(run_id is not None)
        self.buttons["resume"].setEnabled(run_id is not None
                                          and self.history.row(run_id, errors=False).resumable)

    def _on_selected(self, action, *_clicked) -> None:
        run_id = self.selected_id()
        if run_id is not None:
            action(run_id)

    def _rename(self, run_id: str) -> None:
        name, ok = QInputDialog.getText(self, "Rename run", "Name:",
                                        text=self.history.get(run_id).name)
        if ok and name.strip():
            try:
                self.history.rename(run_id, name)
            except OSError as e:  # a read-only or busy store
                QMessageBox.warning(self, "Cannot rename", describe_error(e))
                return
            self._changed()

    def _delete(self, run_id: str) -> None:
        rec = self.history.get(run_id)
        answer = QMessageBox.question(
            self, "Delete run", f"Delete “{rec.name}” and its metrics?\n\nIts checkpoint files "
            f"are deleted too.", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            self.history.delete(run_id, delete_files=True)
        except (ValueError, OSError) as e:  # still training; a read-only or busy store
            QMessageBox.warning(self, "Cannot delete", describe_error(e))
            return
        self.overlayToggled.emit(run_id, False)
        self._changed()

    def _export(self, run_id: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export run metrics", f"{run_id}.csv",
                                              "CSV (*.csv)")
        if path:
            try:
                self.history.export_csv(run_id, path)
            except OSError as e:
                QMessageBox.warning(self, "Export failed", f"{path}\n\n{e}")

    def _changed(self) -> None:
        self.refresh()
        self.changed.emit()
