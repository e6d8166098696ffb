"""Train tab: settings, Start/Pause/Stop, live curves, and the run history."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.core.training.config import TrainConfig
from resnet_studio.qt.kit.tab import TabContext
from resnet_studio.qt.tabs.train.form import TrainForm
from resnet_studio.qt.tabs.train.plots import RunCurves, TrainPlots
from resnet_studio.qt.tabs.train.runs_list import RunsList
from resnet_studio.qt.tabs.train.session import TrainingSession

if TYPE_CHECKING:
    from resnet_studio.core.spec import ArchSpec


def _duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class TrainTab(QWidget):
    title = "Train"
    statusMessage = Signal(str)
    busyChanged = Signal(bool)

    def __init__(self, context: TabContext | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context or TabContext()
        self.spec: ArchSpec | None = None
        self.store_path = self.context.store_path
        self.session = TrainingSession(self)
        self.form = TrainForm()
        self.plots = TrainPlots()
        self.runs = RunsList(self._open_store)
        self.model_label = QLabel(textFormat=Qt.TextFormat.RichText, wordWrap=True)

        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self._toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        self.progress = QProgressBar(textVisible=True)
        self.progress.setFormat("idle")
        self.progress.setValue(0)
        self.detail = QLabel("", wordWrap=True)
        self.message = QLabel("", wordWrap=True, objectName="trainMessage")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()

        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)
        settings = QGroupBox("Training")
        box = QVBoxLayout(settings)
        box.addWidget(self.model_label)
        scroll = QScrollArea(widgetResizable=True, frameShape=QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.form)
        box.addWidget(scroll, 1)
        box.addLayout(buttons)
        box.addWidget(self.progress)
        box.addWidget(self.detail)
        box.addWidget(self.message)

        right = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=False)
        right.addWidget(self.plots)
        runs_box = QGroupBox("Runs")
        QVBoxLayout(runs_box).addWidget(self.runs)
        right.addWidget(runs_box)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        self.splitter.addWidget(settings)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([330, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.splitter)

        s = self.session
        s.started.connect(self._started)
        s.logged.connect(self._logged)
        s.evaluated.connect(self.plots.add_eval)
        s.statusChanged.connect(self._status)
        s.dataProgress.connect(self._data_progress)
        s.finished.connect(self._finished)
        s.failed.connect(self._failed)
        s.runningChanged.connect(self._running_changed)
        self.runs.overlayToggled.connect(self._overlay)
        self.runs.resumeRequested.connect(self.resume_run)
        self.form.configChanged.connect(lambda _c: self._update_buttons())
        self._restore_form()
        self._update_buttons()

    def _open_store(self):
        from resnet_studio.core.training.store import RunStore

        return RunStore(self.store_path)

    # -- model --------------------------------------------------------------------------------
    def set_spec(self, spec: ArchSpec) -> None:
        self.spec = spec
        kind = "plain (no shortcuts)" if spec.plain else f"shortcut {spec.shortcut}"
        self.model_label.setText(f"Model: <b>{spec.name}</b> · {spec.depth} layers · {kind}")
        self._update_buttons()

    def model_changed(self, summary) -> None:
        self.set_spec(summary.spec)

    # -- controls -------------------------------------------------------------------------------
    def start(self) -> bool:
        if self.session.is_running() or self.spec is None:
            return False
        config = self.form.config()
        errs = config.errors()
        if errs:
            self._show_message(str(errs[0]), error=True)
            return False
        self._save_form()
        self.plots.clear()
        self._show_message("")
        self.progress.setRange(0, config.steps)
        self.progress.setValue(0)
        self.progress.setFormat("preparing data…")
        self.session.start(self.spec, config, store_path=self.store_path)
        return True

    def resume_run(self, run_id: str) -> bool:
        if self.session.is_running():
            return False
        store = self.runs.store
        rec = store.get(run_id)
        if not rec.checkpoint:
            self._show_message(f"Run {rec.name} has no checkpoint to resume from.", error=True)
            return False
        config = TrainConfig.from_dict(rec.config)
        self.plots.show_run(RunCurves.from_metrics(store.metrics(run_id)))
        self.progress.setRange(0, config.steps)
        self.progress.setFormat("resuming…")
        self._show_message("")
        self.session.start(self.spec, config, resume_from=rec.checkpoint,
                           store_path=self.store_path)
        return True

    def _toggle_pause(self) -> None:
        trainer = self.session.trainer
        if trainer is None:
            return
        if self.pause_button.text() == "Pause":
            self.session.pause()
            self.pause_button.setText("Resume")
        else:
            self.session.resume()
            self.pause_button.setText("Pause")

    def stop(self) -> None:
        if self.session.is_running():
            self.session.resume()  # a paused run must wake up to stop
            self.session.stop()
            self.progress.setFormat("stopping (writing a checkpoint)…")

    def is_running(self) -> bool:
        return self.session.is_running()

    def shutdown(self, timeout_ms: int = 120_000) -> bool:
        """Stop cleanly with a checkpoint and wait for the thread (window close)."""
        self.stop()
        return self.session.wait(timeout_ms)

    # -- session events ---------------------------------------------------------------------------
    def _started(self, run_id: str, run_dir: str) -> None:
        self.current_run = run_id
        self.runs.refresh()
        self.runs.select_run(run_id)
        self.statusMessage.emit(f"Training {self.spec.name if self.spec else ''} · run {run_id}")

    def _logged(self, logs: list) -> None:
        self.plots.add_logs(logs)
        log = logs[-1]
        self.progress.setRange(0, log.total_steps)
        self.progress.setValue(log.step)
        self.progress.setFormat(f"step {log.step:,} / {log.total_steps:,}")
        self.detail.setText(f"epoch {log.epoch:.2f} · {log.images_per_s:,.0f} images/s · "
                            f"elapsed {_duration(log.elapsed_s)} · ETA {_duration(log.eta_s)} · "
                            f"loss {log.loss:.3f} · error {100 * log.error:.1f}%")

    def _status(self, status: str, message: str) -> None:
        if status == "paused":
            self.progress.setFormat(f"paused at step {self.progress.value():,}")
        if status in ("diverged", "failed") and message:
            self._show_message(message, error=True)

    def _data_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        else:
            self.progress.setRange(0, 0)
        self.progress.setFormat(message or "loading data…")

    def _finished(self, result) -> None:
        text = {"finished": "finished", "stopped": "stopped", "diverged": "diverged",
                "failed": "failed"}.get(result.status, result.status)
        self.progress.setFormat(f"{text} at step {result.steps:,} / {result.total_steps:,}")
        if result.status in ("finished", "stopped"):
            parts = [f"Run {text} in {_duration(result.seconds)}"]
            if result.val_error is not None:
                parts.append(f"validation error {100 * result.val_error:.1f}%")
            if result.checkpoint:
                parts.append(f"checkpoint: {result.checkpoint}")
            self._show_message(" · ".join(parts))
        self.statusMessage.emit(f"Training {text}")
        self.runs.refresh()

    def _failed(self, message: str) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("could not start")
        self._show_message(message, error=True)
        self.statusMessage.emit("Training could not start")
        self.runs.refresh()

    def _running_changed(self, running: bool) -> None:
        self.pause_button.setText("Pause")
        self.busyChanged.emit(running)
        self._update_buttons()

    def _overlay(self, run_id: str, shown: bool) -> None:
        if not shown:
            self.plots.set_overlay(run_id, "", None)
            return
        store = self.runs.store
        rec = store.get(run_id)
        self.plots.set_overlay(run_id, rec.name, RunCurves.from_metrics(store.metrics(run_id)))

    def _update_buttons(self) -> None:
        running = self.session.is_running()
        self.start_button.setEnabled(not running and self.spec is not None
                                     and self.form.is_valid())
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.form.setEnabled(not running)

    def _show_message(self, text: str, error: bool = False) -> None:
        self.message.setVisible(bool(text))
        self.message.setText(text)
        self.message.setStyleSheet("color: #c62828;" if error else "color: #2e7d32;")

    # -- remembered settings ----------------------------------------------------------------------
    def _save_form(self) -> None:
        self.context.settings.set_value("train/config", self.form.config().to_json(indent=None))

    def _restore_form(self) -> None:
        text = self.context.settings.value("train/config")
        if text:
            with contextlib.suppress(ValueError):
                self.form.set_config(TrainConfig.from_json(str(text)))

    def confirm_close(self, parent: QWidget) -> bool:
        """Ask before closing while a run trains; True means go ahead (the run is stopped)."""
        if not self.session.is_running():
            return True
        answer = QMessageBox.question(
            parent, "Training in progress",
            "A training run is in progress. Stop it (a checkpoint is written, so you can resume "
            "it later) and quit?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes
