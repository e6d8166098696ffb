"""Past runs from the run history (`app.runs.RunHistory`): overlay, rename, delete, export CSV,
resume, compare side by side, use the trained model in another tab ("Use in…").

The list is read when it is made (the store's runs are there at start, without Refresh) and
whenever it is shown; the run training in this window is updated live from its records
(`show_live`), so its row never says "running 0/400" while it trains."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
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
from resnet_studio.qt.kit.flow import FlowLayout
from resnet_studio.qt.kit.palette import RUN_STATUS, TEXT
from resnet_studio.qt.kit.use_in import add_use_in_context_menu, use_in_button

if TYPE_CHECKING:
    from resnet_studio.app.runs import RunHistory

COLUMNS = ["Show", "Name", "Model", "Dataset", "Status", "Steps", "Created"]
COL_STATUS, COL_STEPS = 4, 5
ID_ROLE = Qt.ItemDataRole.UserRole
ROWS_SHOWN = 5  # rows the table asks room for (the tab's splitter starts with them)
POLL_MS = 2000  # how often runs trained by another process are read again
SELECT_ROWS = (QItemSelectionModel.SelectionFlag.Select
               | QItemSelectionModel.SelectionFlag.Rows)
BAR_WIDTH = 560  # about the runs column's width at 1280 px: the buttons' rows it takes there


def _swatch(colour: str) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


class RunsList(QWidget):
    overlayToggled = Signal(str, bool)  # run id, shown
    resumeRequested = Signal(str)  # run id
    compareRequested = Signal(list)  # the selected runs' ids
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
        bar = self._bar = FlowLayout()  # wraps in a narrow column instead of widening it
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
        self._add_comparison_buttons(bar)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        self._live: tuple[str, str, int, int] | None = None  # run id, status, step, total
        self._swatches: dict[str, str] = {}  # overlaid run id -> its colour in the plots
        self._poll: QTimer | None = None  # re-reads the store while another process trains
        self._notice_said = ""
        self._update_buttons()  # the tab reads the history once its signals are connected

    def _build_use_in(self, bar: FlowLayout) -> None:
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
        selected = self.selected_ids()
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        try:
            rows = self.history.rows(errors=False)
            notice = self.history.store.notice
            if notice and notice != self._notice_said:  # once, not at every poll
                self._notice_said = notice
                self.statusMessage.emit(notice)
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
            if rec.id in self._swatches:
                show.setIcon(_swatch(self._swatches[rec.id]))
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
        if self._live is not None:
            self.show_live(*self._live)
        for run_id in selected:  # a refresh (a poll) keeps what the user selected
            row = self._row_of(run_id)
            if row is not None:
                self.table.selectionModel().select(
                    self.table.model().index(row, 0), SELECT_ROWS)
        live = self._live[0] if self._live else None
        self._follow_others(any(r.status == "running" and r.id != live for r in rows))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self._update_buttons()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().showEvent(event)
        self.refresh()  # runs another window or the Depth Lab stored since

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt)
        """Room for the buttons, the header and ROWS_SHOWN rows."""
        hint = super().sizeHint()
        rows = self.table.verticalHeader().defaultSectionSize() * ROWS_SHOWN
        extra = self._bar.heightForWidth(BAR_WIDTH) + 12
        height = self.table.horizontalHeader().sizeHint().height() + rows + extra + 6
        return QSize(hint.width(), height)

    def rows_visible(self) -> int:
        """How many whole rows the table has room for now."""
        return self.table.viewport().height() // self.table.verticalHeader().defaultSectionSize()

    # -- runs another process trains (the Depth Lab, a command) ----------------------------------
    def _follow_others(self, on: bool) -> None:
        """Read the store again every POLL_MS while such a run is listed and the list shown."""
        if self._poll is None:
            self._poll = QTimer(self, interval=POLL_MS)
            self._poll.timeout.connect(self._poll_store)
        if on and self.isVisible():
            self._poll.start()
        else:
            self._poll.stop()

    def _poll_store(self) -> None:
        if self.isVisible():
            self.refresh()
        else:
            self._poll.stop()

    def is_following_others(self) -> bool:
        return self._poll is not None and self._poll.isActive()

    # -- the run training now ----------------------------------------------------------------------
    def show_live(self, run_id: str, status: str, step: int, total: int) -> None:
        """The run this window trains, as its records say (the store's row lags behind)."""
        self._live = (run_id, status, step, total)
        row = self._row_of(run_id)
        if row is None:
            return
        self.table.blockSignals(True)
        status_item = self.table.item(row, COL_STATUS)
        status_item.setText(status)
        status_item.setForeground(QColor(RUN_STATUS.get(status, TEXT)))
        self.table.item(row, COL_STEPS).setText(f"{step:,} / {total:,}")
        self.table.blockSignals(False)

    def end_live(self) -> None:
        """The run ended: its row shows the store's record again (read now)."""
        self._live = None
        self.refresh()

    def row_texts(self, run_id: str) -> dict[str, str]:
        """The row's cells by column title (what the user reads)."""
        row = self._row_of(run_id)
        if row is None:
            raise KeyError(run_id)
        return {title: self.table.item(row, col).text() for col, title in enumerate(COLUMNS)
                if col > 0}

    def _row_of(self, run_id: str) -> int | None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(ID_ROLE) == run_id:
                return row
        return None

    # -- overlays and comparison ----------------------------------------------------------------
    def _add_comparison_buttons(self, bar: FlowLayout) -> None:
        compare = QPushButton("Compare…", toolTip="The selected runs' final metrics and settings "
                                                  "side by side (Ctrl- or Shift-click rows)")
        compare.clicked.connect(lambda: self.compareRequested.emit(self.selected_ids()))
        hide = QPushButton("Hide overlays", toolTip="Untick every Show box")
        hide.clicked.connect(self.hide_overlays)
        for key, button in (("compare", compare), ("hide", hide)):
            bar.addWidget(button)
            self.buttons[key] = button

    def hide_overlays(self) -> None:
        """Untick every shown run (each emits overlayToggled(id, False))."""
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item.checkState() == Qt.CheckState.Checked:
                item.setCheckState(Qt.CheckState.Unchecked)

    def set_swatch(self, run_id: str, colour: str | None) -> None:
        """The overlaid run's colour beside its Show box (None: not overlaid)."""
        if colour is None:
            self._swatches.pop(run_id, None)
        else:
            self._swatches[run_id] = colour
        row = self._row_of(run_id)
        if row is not None:
            self.table.blockSignals(True)
            self.table.item(row, 0).setIcon(_swatch(colour) if colour else QIcon())
            self.table.blockSignals(False)

    def selected_ids(self) -> list[str]:
        rows = sorted(r.row() for r in self.table.selectionModel().selectedRows())
        return [self.table.item(r, 0).data(ID_ROLE) for r in rows]

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
            self._update_buttons()

    def _update_buttons(self) -> None:
        run_id = self.selected_id()
        self.buttons["compare"].setEnabled(len(self.selected_ids()) >= 2)
        self.buttons["hide"].setEnabled(bool(self.shown_ids()))
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
