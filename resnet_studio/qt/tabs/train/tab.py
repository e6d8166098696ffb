"""Train tab: settings, Start/Pause/Stop, live curves, and the run history.

The tab composes a form (`TrainForm.value()` -> TrainConfig), the plots, the runs list (over
`app.runs.RunHistory`) and a `TrainingSession` that trains an `app.training.TrainRequest` on
its own thread. What the tab shows about the run lives in `self.state` (an
`app.training.TrainState`, Qt-free): the session's records update it, `_render` draws it.
Everything here runs on the GUI thread.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.distributed import LaunchSettings
from resnet_studio.app.errors import describe_error
from resnet_studio.app.run_comparison import compare_runs
from resnet_studio.app.runs import RunHistory
from resnet_studio.app.training import TrainRequest, TrainState
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.qt.kit.palette import message_style
from resnet_studio.qt.kit.scrolling import VerticalScrollArea
from resnet_studio.qt.kit.tab import TabContext, TabWidget
from resnet_studio.qt.tabs.train.compare_runs import RunComparisonDialog
from resnet_studio.qt.tabs.train.form import TrainForm
from resnet_studio.qt.tabs.train.plots import TrainPlots
from resnet_studio.qt.tabs.train.runs_list import RunsList
from resnet_studio.qt.tabs.train.session import TrainingSession

if TYPE_CHECKING:
    from resnet_studio.core.spec import ArchSpec

SETTINGS_KEY = "train/config"
PROCESSES_KEY = "train/processes"
SMOOTHING_KEY = "train/smoothing"


def _split(orientation: Qt.Orientation, *panes: tuple[QWidget, int]) -> QSplitter:
    """A splitter over (widget, stretch factor) panes that never collapses one."""
    splitter = QSplitter(orientation, childrenCollapsible=False)
    for i, (widget, stretch) in enumerate(panes):
        splitter.addWidget(widget)
        splitter.setStretchFactor(i, stretch)
    return splitter


class TrainTab(TabWidget):
    title = "Train"

    def __init__(self, context: TabContext | None = None, parent: QWidget | None = None):
        super().__init__(context, parent)
        self.spec: ArchSpec | None = None
        self._several = False  # the run trains in several processes
        self.state = TrainState()
        self.history = RunHistory(self.context.store_path)
        self.session = TrainingSession(self)
        self.form = TrainForm()
        self.plots = TrainPlots()
        self.runs = RunsList(self.history)
        self.model_label = QLabel(textFormat=Qt.TextFormat.RichText, wordWrap=True)

        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self._toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        self.progress = QProgressBar(textVisible=True)
        self.detail = QLabel("", wordWrap=True)
        self.message = QLabel("", wordWrap=True, objectName="trainMessage")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)
        settings = QGroupBox("Training")
        box = QVBoxLayout(settings)
        box.addWidget(self.model_label)
        scroll = VerticalScrollArea(self.form)  # never narrower than the form
        box.addWidget(scroll, 1)
        box.addLayout(buttons)
        for w in (self.progress, self.detail, self.message):
            box.addWidget(w)

        runs_box = QGroupBox("Runs")
        QVBoxLayout(runs_box).addWidget(self.runs)
        # the plots take what the window gains; the runs table starts with room for 5 rows and
        # the splitter between them resizes it
        right = _split(Qt.Orientation.Vertical, (self.plots, 1), (runs_box, 0))
        self.runs_splitter = right
        self._runs_box = runs_box
        self._sized = False  # the runs' share is set once the tab has its height
        self.splitter = _split(Qt.Orientation.Horizontal, (settings, 0), (right, 1))
        self.splitter.setSizes([330, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.splitter)

        self.session.bind(started=self._started, logged=self._logged, evaluated=self._evaluated,
                          statusChanged=self._status, dataProgress=self._data_progress,
                          finished=self._finished, failed=self._failed,
                          noticed=self._noticed,
                          runningChanged=self._running_changed)
        self.runs.overlayToggled.connect(self._overlay)
        self.runs.resumeRequested.connect(self.resume_run)
        self.runs.statusMessage.connect(self._noticed)
        self.runs.compareRequested.connect(self.compare_runs)
        self.runs.useRequested.connect(self.useRequested)
        self.compare_dialog: RunComparisonDialog | None = None
        self._restore_smoothing()
        self.plots.smoothingChanged.connect(
            lambda w: self.context.settings.set_value(SMOOTHING_KEY, w))
        self.form.valueChanged.connect(lambda _c: self._update_buttons())
        self._restore_form()
        self._render()
        self._update_buttons()
        self.runs.refresh()  # the history at start, not after Refresh (a notice is said)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().showEvent(event)
        if not self._sized:
            self._size_runs()

    def _size_runs(self) -> None:
        """Room for the runs table's first rows, the rest for the plots (once)."""
        self._sized = True
        total = sum(self.runs_splitter.sizes())
        frame = (self._runs_box.minimumSizeHint().height()
                 - self.runs.minimumSizeHint().height())  # the group box's title and margins
        runs = min(self.runs.sizeHint().height() + frame, total // 2)
        self.runs_splitter.setSizes([total - runs, runs])

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
        config = self.form.value()
        errs = config.errors()
        if errs:
            self.state.say(str(errs[0]), error=True)
            self._render()
            return False
        self._save_form()
        self.state.begin(config.steps)
        self._begin(TrainRequest(spec=self.spec, config=config,
                                 store_path=self.context.store_path,
                                 memory_check=self.form.memory_check.isChecked()))
        return True

    def _processes(self) -> int:
        return self.form.processes.value()

    def resume_run(self, run_id: str) -> bool:
        """Continue a stored run from its checkpoint, showing its curves so far."""
        if self.session.is_running():
            return False
        rec = self.history.get(run_id)
        if not rec.checkpoint:
            self.state.say(f"Run {rec.name} has no checkpoint to resume from.", error=True)
            self._render()
            return False
        steps = TrainConfig.from_dict(rec.config).steps
        self.state.begin(steps, resuming=True, curves=self.history.curves(run_id))
        self._begin(TrainRequest(resume_from=rec.checkpoint, resume_overrides={"steps": steps},
                                 store_path=self.context.store_path))
        return True

    def _begin(self, request: TrainRequest) -> None:
        self.plots.draw(self.state.curves)
        kept = len(self.plots.overlay_ids())
        if kept:  # said, not silent: the legend names them beside the new run
            self.state.say(f"Kept {kept} overlaid run{'s' if kept != 1 else ''} beside the new "
                           "one for comparison (Hide overlays removes them).")
        self._render()
        self._several = self._processes() > 1
        if self._several:  # torchrun's processes, followed in the run store (no pause)
            self.session.start_processes(request, LaunchSettings(nproc=self._processes()))
        else:
            self.session.start(request)

    def _toggle_pause(self) -> None:
        if self.session.trainer is None:
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
            self.state.stopping()
            self._render()

    def is_running(self) -> bool:
        return self.session.is_running()

    def shutdown(self, timeout_ms: int = 120_000) -> bool:
        """Stop cleanly with a checkpoint and wait for the thread (window close)."""
        self.stop()
        done = self.session.wait(timeout_ms)
        self.history.close()
        return done

    # -- session events (GUI thread, at the session's tick) -----------------------------------
    def _started(self, run_id: str, _run_dir: str, speed: str) -> None:
        self.state.started(run_id)
        self.runs.show_live(run_id, "starting", *self.state.progress)
        self.runs.refresh()
        self.runs.select_run(run_id)
        self.statusMessage.emit(f"Training {self.spec.name if self.spec else ''} · run {run_id} "
                                f"· {speed}")

    def _noticed(self, message: str) -> None:
        """The run store was damaged and moved aside (or cannot be read): the tab's message
        line and the status bar say where."""
        self.state.say(message)
        self._render()
        self.statusMessage.emit(message)

    def _logged(self, logs: list) -> None:
        self.state.logged(logs)
        self.plots.redraw()
        self._render()
        self._show_live_row()

    def _evaluated(self, result) -> None:
        self.state.evaluated(result)
        self.plots.redraw()

    def _status(self, status: str, message: str) -> None:
        self.state.status_changed(status, message)
        self._render()
        self._show_live_row()

    def _show_live_row(self) -> None:
        """The runs table's row of this run, from the records just drawn."""
        st = self.state
        if st.run_id and st.running and st.last_log is not None:
            status = "paused" if st.status == "paused" else "running"
            self.runs.show_live(st.run_id, status, st.last_log.step, st.last_log.total_steps)

    def _data_progress(self, done: int, total: int, text: str) -> None:
        self.state.data_progress(done, total, text)
        self._render()

    def _finished(self, result) -> None:
        self.state.finished(result)
        self._render()
        self.statusMessage.emit(f"Training {result.status}")
        self.runs.end_live()

    def _failed(self, message: str) -> None:
        self.state.could_not_start(message)
        self._render()
        self.statusMessage.emit("Training could not start")
        self.runs.end_live()

    def _running_changed(self, running: bool) -> None:
        self.pause_button.setText("Pause")
        self.busyChanged.emit(running)
        self._update_buttons()

    def _overlay(self, run_id: str, shown: bool) -> None:
        curves = self.history.curves(run_id) if shown else None
        self.plots.set_overlay(run_id, self.history.get(run_id).name if shown else "", curves)
        self.runs.set_swatch(run_id, self.plots.colour_of(run_id) if shown else None)

    def compare_runs(self, run_ids: list[str]) -> RunComparisonDialog | None:
        """The runs' final metrics and settings side by side, in a window of their own."""
        try:
            comparison = compare_runs(self.history, run_ids)
        except (KeyError, ValueError, OSError) as e:  # deleted meanwhile; a busy store
            self.statusMessage.emit(f"Cannot compare the runs: {describe_error(e)}")
            return None
        if self.compare_dialog is not None:
            self.compare_dialog.close()
        self.compare_dialog = RunComparisonDialog(comparison, self)
        self.compare_dialog.show()
        return self.compare_dialog

    # -- drawing the state -----------------------------------------------------------------------
    def _render(self) -> None:
        st = self.state
        value, maximum = st.progress
        self.progress.setRange(0, maximum)
        self.progress.setValue(value)
        self.progress.setFormat(st.progress_text)
        self.detail.setText(st.detail)
        self.message.setVisible(bool(st.message))
        self.message.setText(st.message)
        self.message.setStyleSheet(message_style(st.message_is_error))

    def _update_buttons(self) -> None:
        running = self.session.is_running()
        self.start_button.setEnabled(not running and self.spec is not None
                                     and self.form.is_valid())
        self.pause_button.setEnabled(running and not self._several)
        self.stop_button.setEnabled(running)
        self.form.setEnabled(not running)

    # -- remembered settings ----------------------------------------------------------------------
    def _save_form(self) -> None:
        self.context.settings.set_value(SETTINGS_KEY, self.form.value().to_json(indent=None))
        self.context.settings.set_value(PROCESSES_KEY, self._processes())

    def _restore_smoothing(self) -> None:
        with contextlib.suppress(TypeError, ValueError):
            weight = self.context.settings.value(SMOOTHING_KEY)
            if weight is not None:
                self.plots.set_smoothing(float(weight))

    def _restore_form(self) -> None:
        with contextlib.suppress(TypeError, ValueError):
            self.form.processes.setValue(int(self.context.settings.value(PROCESSES_KEY) or 1))
        text = self.context.settings.value(SETTINGS_KEY)
        if text:
            with contextlib.suppress(ValueError):
                self.form.set_value(TrainConfig.from_json(str(text)))

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
