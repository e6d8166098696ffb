"""Past runs from the run store: overlay, rename, delete, export CSV, resume."""

from __future__ import annotations

import datetime as _dt

from PySide6.QtCore import Qt, Signal
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

COLUMNS = ["Show", "Name", "Model", "Dataset", "Status", "Steps", "Created"]
ID_ROLE = Qt.ItemDataRole.UserRole
STATUS_COLOURS = {"finished": "#2e7d32", "running": "#1565c0", "paused": "#6d4c41",
                  "stopped": "#6d4c41", "diverged": "#c62828", "failed": "#c62828",
                  "interrupted": "#ef6c00"}


class RunsList(QWidget):
    overlayToggled = Signal(str, bool)  # run id, shown
    resumeRequested = Signal(str)  # run id
    changed = Signal()

    def __init__(self, store_factory, parent: QWidget | None = None):
        """`store_factory()` returns a RunStore (opened lazily: it imports nothing heavy)."""
        super().__init__(parent)
        self._store_factory = store_factory
        self._store = None
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
        for key, text, slot in [("refresh", "Refresh", self.refresh),
                                ("rename", "Rename…", self._rename),
                                ("delete", "Delete…", self._delete),
                                ("export", "Export CSV…", self._export),
                                ("resume", "Resume", self._resume)]:
            button = QPushButton(text)
            button.clicked.connect(slot)
            bar.addWidget(button)
            self.buttons[key] = button
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        self._update_buttons()

    @property
    def store(self):
        if self._store is None:
            self._store = self._store_factory()
        return self._store

    def refresh(self) -> None:
        shown = set(self.shown_ids())
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for rec in reversed(self.store.list_runs()):
            row = self.table.rowCount()
            self.table.insertRow(row)
            show = QTableWidgetItem()
            show.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled
                          | Qt.ItemFlag.ItemIsSelectable)
            show.setCheckState(Qt.CheckState.Checked if rec.id in shown
                               else Qt.CheckState.Unchecked)
            show.setData(ID_ROLE, rec.id)
            show.setToolTip("Overlay this run's curves on the plots")
            created = _dt.datetime.fromtimestamp(rec.created).strftime("%Y-%m-%d %H:%M")
            cells = [show, QTableWidgetItem(rec.name), QTableWidgetItem(rec.model),
                     QTableWidgetItem(rec.dataset), QTableWidgetItem(rec.status),
                     QTableWidgetItem(f"{rec.step:,} / {rec.total_steps:,}"),
                     QTableWidgetItem(created)]
            cells[4].setForeground(_colour(STATUS_COLOURS.get(rec.status, "#424242")))
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
        resumable = False
        if run_id is not None:
            rec = self.store.get(run_id)
            resumable = bool(rec.checkpoint) and rec.status in ("stopped", "interrupted",
                                                                 "paused", "diverged")
        self.buttons["resume"].setEnabled(resumable)

    def _rename(self) -> None:
        run_id = self.selected_id()
        if run_id is None:
            return
        name, ok = QInputDialog.getText(self, "Rename run", "Name:",
                                        text=self.store.get(run_id).name)
        if ok and name.strip():
            self.store.rename(run_id, name)
            self.refresh()
            self.changed.emit()

    def _delete(self) -> None:
        run_id = self.selected_id()
        if run_id is None:
            return
        rec = self.store.get(run_id)
        answer = QMessageBox.question(
            self, "Delete run", f"Delete “{rec.name}” and its metrics?\n\nIts checkpoint files "
            f"are deleted too.", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            self.store.delete(run_id, delete_files=True)
        except ValueError as e:
            QMessageBox.warning(self, "Cannot delete", str(e))
            return
        self.overlayToggled.emit(run_id, False)
        self.refresh()
        self.changed.emit()

    def _export(self) -> None:
        run_id = self.selected_id()
        if run_id is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export run metrics", f"{run_id}.csv",
                                              "CSV (*.csv)")
        if path:
            try:
                self.store.export_csv(run_id, path)
            except OSError as e:
                QMessageBox.warning(self, "Export failed", f"{path}\n\n{e}")

    def _resume(self) -> None:
        run_id = self.selected_id()
        if run_id is not None:
            self.resumeRequested.emit(run_id)


def _colour(hex_colour: str):
    from PySide6.QtGui import QColor

    return QColor(hex_colour)
