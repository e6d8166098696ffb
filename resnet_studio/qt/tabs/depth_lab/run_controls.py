"""Run / Cancel all, the experiment's progress bar, its elapsed time and time left (and each
running run's, refreshed every second from `times_source`) and the one-line message under it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from resnet_studio.app.experiment_state import ExperimentProgress
from resnet_studio.core.experiments import Experiment
from resnet_studio.qt.kit.palette import message_style, muted_style

TIMES_REFRESH_MS = 1000


class RunControls(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.run_button = QPushButton("Run experiment")
        self.run_button.setDefault(True)
        self.cancel_all_button = QPushButton("Cancel all")
        self.cancel_all_button.setToolTip("Stop the experiment; the running net writes a "
                                          "checkpoint, and Resume finishes what is missing")
        self.progress = QProgressBar(textVisible=True)
        self.progress.setFormat("idle")
        self.progress.setValue(0)
        self.times = QLabel("", wordWrap=True, objectName="depthTimes")
        self.times.setStyleSheet(muted_style())
        self.times.hide()
        self.times_source: Callable[[], str] | None = None  # the session's ExperimentClock
        self._times_timer = QTimer(self, interval=TIMES_REFRESH_MS)
        self._times_timer.timeout.connect(self.refresh_times)
        self.message = QLabel("", wordWrap=True, objectName="depthMessage")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_all_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.times)
        layout.addWidget(self.message)

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setVisible(bool(text))
        self.message.setText(text)
        self.message.setStyleSheet(message_style(error))

    def show_busy(self, text: str) -> None:
        """Work of unknown length (preparing data)."""
        self.progress.setRange(0, 0)
        self.progress.setFormat(text)

    def show_runs(self, exp: Experiment) -> None:
        """An experiment that is not running: how many of its runs are done."""
        done, total = exp.progress
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{exp.status} · {done} / {total} runs done")

    def show_progress(self, p: ExperimentProgress) -> None:
        """A running experiment: steps over all its runs."""
        self.progress.setRange(0, p.total_steps)
        self.progress.setValue(p.steps)
        self.progress.setFormat(f"{p.runs} / {p.total_runs} runs · %p%")

    def show_data(self, done: int, total: int, message: str) -> None:
        """The dataset loading or downloading (total 0: unknown)."""
        self.progress.setRange(0, max(total, 0))  # (0, 0): a busy indicator
        self.progress.setValue(done if total > 0 else 0)
        self.progress.setFormat(message or "loading data…")

    def show_end(self, exp: Experiment) -> None:
        """The experiment as it ended: finished, stopped, incomplete or failed."""
        done, total = exp.progress
        if exp.status == "finished":
            self.progress.setFormat(f"finished · {total} runs")
            self.show_message(f"Finished: {total} runs.")
        else:
            self.progress.setFormat(f"{exp.status} · {done} / {total} runs")
            self.show_message(exp.message or exp.status, error=exp.status != "stopped")

    def show_failed(self, message: str) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("could not run")
        self.show_message(message, error=True)

    def refresh_times(self) -> None:
        text = self.times_source() if self.times_source is not None else ""
        self.times.setText(text)
        self.times.setVisible(bool(text))

    def set_running(self, running: bool, can_run: bool) -> None:
        self.run_button.setEnabled(not running and can_run)
        self.cancel_all_button.setEnabled(running)
        if running != self._times_timer.isActive():
            (self._times_timer.start if running else self._times_timer.stop)()
        if not running:
            self.refresh_times()  # how long it took, or nothing for another experiment
