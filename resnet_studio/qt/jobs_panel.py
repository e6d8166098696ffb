"""The jobs panel: every background job of the window in one list (a dock), and the status-bar
button that says how many run and opens it.

Each row is a running Job or session of the `JobRegistry` (kit/job.py): its title, its progress,
elapsed time, time left and a Cancel button; a paused run says so and its time left stands
still. Rows are redrawn twice a second while anything runs. A job that ends within `GRACE_S`
(a model summary, a cached view) is never listed, so the list does not flicker. Starting heavy
work while other heavy work runs shows the registry's notice above the list.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.core.common.formatting import duration
from resnet_studio.qt.kit.job import JobRegistry, RunningWork
from resnet_studio.qt.kit.palette import muted_style

GRACE_S = 0.5
REFRESH_MS = 500
COLUMNS = ("Job", "Progress", "Elapsed", "Left", "")
IDLE_TEXT = "No jobs running"


def jobs_text(count: int) -> str:
    """The status-bar button's text."""
    if count == 0:
        return IDLE_TEXT
    return f"{count} job{'s' if count != 1 else ''} running"


def time_left_text(work: RunningWork) -> str:
    left = work.remaining()
    if work.meter.paused:
        return "paused" + (f" ({duration(left)} left)" if left is not None else "")
    return "–" if left is None else f"about {duration(left)}"


class JobsPanel(QWidget):
    """The list of running jobs (see the module doc); `button` goes into the status bar."""

    def __init__(self, registry: JobRegistry, parent: QWidget | None = None):
        super().__init__(parent)
        self.registry = registry
        self.button = QToolButton(text=IDLE_TEXT, autoRaise=True, objectName="jobsButton")
        self.button.setToolTip("Background jobs: progress, time left, Cancel")
        self.notice = QLabel(wordWrap=True, objectName="jobsNotice")
        self.notice.hide()
        self.empty = QLabel("Nothing runs in the background. Training, the Depth Lab's "
                            "experiments and every measurement are listed here while they run.",
                            wordWrap=True)
        self.empty.setStyleSheet(muted_style())
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(30)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.setMinimumHeight(150)  # three rows without scrolling
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.notice)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)

        self._shown: list[RunningWork] = []
        self._timer = QTimer(self, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        registry.changed.connect(self._changed)
        registry.notice.connect(self.show_notice)
        self.refresh()

    # -- what is shown -------------------------------------------------------------------------
    def shown(self) -> list[RunningWork]:
        """The jobs listed: those running for `GRACE_S` or more."""
        return [w for w in self.registry.running() if w.meter.elapsed() >= GRACE_S]

    def show_notice(self, text: str) -> None:
        self.notice.setText(f"⚠ {text}")
        self.notice.show()

    def refresh(self) -> None:
        shown = self.shown()
        if [id(w) for w in shown] != [id(w) for w in self._shown]:
            self._rebuild(shown)
        for row, work in enumerate(shown):
            self._update_row(row, work)
        self.button.setText(jobs_text(len(shown)))
        self.empty.setVisible(not shown)
        self.table.setVisible(bool(shown))
        if sum(w.heavy for w in self.registry.running()) < 2:
            self.notice.hide()  # what it warned of is over
        if not self.registry.running():
            self._timer.stop()

    def _changed(self) -> None:
        if self.registry.running() and not self._timer.isActive():
            self._timer.start()
        self.refresh()

    def _rebuild(self, shown: list[RunningWork]) -> None:
        self._shown = shown
        self.table.setRowCount(len(shown))
        for row, work in enumerate(shown):
            self.table.setItem(row, 0, QTableWidgetItem())
            bar = QProgressBar(textVisible=True, minimumWidth=220)
            self.table.setCellWidget(row, 1, bar)
            for column in (2, 3):
                item = QTableWidgetItem()
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
            cancel = QPushButton("Cancel", toolTip="Stop this job (a training run keeps what it "
                                                   "learnt: it writes a checkpoint)")
            cancel.clicked.connect(lambda _=False, w=work: self._cancel(w))
            self.table.setCellWidget(row, 4, cancel)

    def _update_row(self, row: int, work: RunningWork) -> None:
        title = self.table.item(row, 0)
        title.setText(work.title)
        title.setToolTip(work.text or work.title)
        bar = self.table.cellWidget(row, 1)
        done, total = work.meter.done, work.meter.total
        if total > 0:
            bar.setRange(0, total)
            bar.setValue(min(done, total))
            bar.setFormat(f"{work.text} · %p%" if work.text else "%p%")
        else:
            bar.setRange(0, 0)  # no report yet: busy
            bar.setFormat(work.text or "starting…")
        self.table.item(row, 2).setText(duration(work.meter.elapsed()))
        self.table.item(row, 3).setText(time_left_text(work))

    def _cancel(self, work: RunningWork) -> None:
        work.cancel()
        self.refresh()

    # -- for tests and the window ---------------------------------------------------------------
    def row_texts(self) -> list[tuple[str, str, str, str]]:
        """(title, progress text, elapsed, left) of every row shown."""
        rows = []
        for row in range(len(self._shown)):
            bar = self.table.cellWidget(row, 1)
            rows.append((self.table.item(row, 0).text(), bar.text(),
                         self.table.item(row, 2).text(), self.table.item(row, 3).text()))
        return rows

    def cancel_row(self, row: int) -> None:
        self.table.cellWidget(row, 4).click()


__all__ = ["GRACE_S", "JobsPanel", "jobs_text"]
