"""The stored experiments, newest first, with Open, Resume and Delete."""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
)

from resnet_studio.app.experiments import describe_experiment
from resnet_studio.core.experiments import Experiment


class ExperimentList(QGroupBox):
    openRequested = Signal(str)  # experiment id
    resumeRequested = Signal(str)
    deleteRequested = Signal(str)  # asked and confirmed

    def __init__(self, parent=None):
        super().__init__("Stored experiments", parent)
        self._running_id: str | None = None
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.itemDoubleClicked.connect(
            lambda it: self.openRequested.emit(it.data(Qt.ItemDataRole.UserRole)))
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.open_button = QPushButton("Open")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Run what is missing: new, stopped, interrupted or failed "
                                      "runs (interrupted ones continue from their checkpoint)")
        self.delete_button = QPushButton("Delete")
        for button, signal in ((self.open_button, self.openRequested),
                               (self.resume_button, self.resumeRequested)):
            button.clicked.connect(lambda _=False, s=signal: self._emit_selected(s))
        self.delete_button.clicked.connect(self._delete_selected)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        for b in (self.open_button, self.resume_button, self.delete_button):
            row.addWidget(b)
        layout.addLayout(row)

    def fill(self, experiments: Sequence[Experiment], shown: str | None) -> None:
        """Newest first; the selection stays, or goes to the experiment `shown`."""
        current = self.selected_id()
        self.list.clear()
        for exp in reversed(experiments):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(exp.created))
            item = QListWidgetItem(f"{exp.name}\n{when} · {describe_experiment(exp)}")
            item.setData(Qt.ItemDataRole.UserRole, exp.id)
            item.setToolTip(exp.id)
            self.list.addItem(item)
            if exp.id == current or (current is None and exp.id == shown):
                self.list.setCurrentItem(item)
        self._update_buttons()

    def selected_id(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def set_running(self, running_id: str | None) -> None:
        """The experiment running now (it cannot be deleted; nothing resumes meanwhile)."""
        self._running_id = running_id
        self._update_buttons()

    def _update_buttons(self) -> None:
        selected = self.selected_id()
        self.open_button.setEnabled(selected is not None)
        self.resume_button.setEnabled(selected is not None and self._running_id is None)
        self.delete_button.setEnabled(selected is not None and selected != self._running_id)

    def _emit_selected(self, signal) -> None:
        selected = self.selected_id()
        if selected is not None:
            signal.emit(selected)

    def _delete_selected(self) -> None:
        selected = self.selected_id()
        if selected is None or selected == self._running_id:
            return
        yes, no = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
        if QMessageBox.question(self, "Delete experiment", "Delete this experiment and its runs "
                                "(with their checkpoints)?", yes | no) == yes:
            self.deleteRequested.emit(selected)
