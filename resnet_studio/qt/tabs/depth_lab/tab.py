"""Depth Lab: train plain and residual nets of several depths side by side and watch the
degradation problem appear (He et al. 2015, Fig. 6 and Table 6).

Left: the grid picker (`ExperimentForm`), Run / Cancel all (`RunControls`) and the stored
experiments (`ExperimentList`). Right (`ResultsPanel`): the paper-style curves, the degradation
readout, the results table (with the paper's Table 6 column) and the run queue (Cancel run, Add
run). What is shown lives in an `ExperimentState` (Qt-free); the runs train on an
`ExperimentSession`, whose records arrive here on the GUI thread at its tick.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGroupBox, QMessageBox, QSplitter, QVBoxLayout, QWidget

from resnet_studio.app.errors import describe_error
from resnet_studio.app.experiment_state import ExperimentState
from resnet_studio.app.experiments import GridRequest
from resnet_studio.core.experiments import Experiment
from resnet_studio.qt.kit.scrolling import VerticalScrollArea
from resnet_studio.qt.kit.tab import TabContext, TabWidget
from resnet_studio.qt.tabs.depth_lab.experiment_list import ExperimentList
from resnet_studio.qt.tabs.depth_lab.form import ExperimentForm
from resnet_studio.qt.tabs.depth_lab.results_panel import ResultsPanel
from resnet_studio.qt.tabs.depth_lab.run_controls import RunControls
from resnet_studio.qt.tabs.depth_lab.session import ExperimentSession


class DepthLabTab(TabWidget):
    title = "Depth Lab"

    def __init__(self, context: TabContext | None = None, parent: QWidget | None = None):
        super().__init__(context, parent)
        self.store_path = self.context.store_path
        self.store_notice = ""  # shown once: the store read-only, or a damaged one moved aside
        self.state = ExperimentState(self.store_path)
        self.session = ExperimentSession(self)
        self.form = ExperimentForm()
        self.controls = RunControls()
        self.stored = ExperimentList()
        self.view = ResultsPanel(self.state)

        scroll = VerticalScrollArea(self.form)  # never narrower than the form
        grid_box = QGroupBox("Experiment")
        gl = QVBoxLayout(grid_box)
        gl.addWidget(scroll, 1)
        gl.addWidget(self.controls)
        left = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=False)
        left.addWidget(grid_box)
        left.addWidget(self.stored)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 1)
        left.setSizes([560, 240])
        self.splitter = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.view)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([380, 920])  # the preset's title whole
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.splitter)

        self.controls.run_button.clicked.connect(self.run_experiment)
        self.controls.cancel_all_button.clicked.connect(self.cancel_all)
        self.form.changed.connect(self._update_buttons)
        self.view.queue.cancelRequested.connect(self.cancel_run)
        self.view.queue.addRequested.connect(self.add_run)
        self.view.saved.connect(lambda path: self.statusMessage.emit(f"Saved {path}"))
        self.view.useRequested.connect(self.useRequested)
        self.view.exportFailed.connect(lambda text: self.controls.show_message(text, True))
        self.stored.openRequested.connect(self.open_experiment)
        self.stored.resumeRequested.connect(self.resume_experiment)
        self.stored.deleteRequested.connect(self._delete)
        self.session.bind(cellsChanged=self._cells_changed, runStarted=self._run_started,
                          logged=self._logged, evaluated=self._evaluated,
                          runFinished=self._run_finished, dataProgress=self.controls.show_data,
                          finished=self._finished, failed=self._failed,
                          runningChanged=self._running_changed)
        self.controls.times_source = self._times_text
        self.form.restore(self.context.settings)
        self.refresh_experiments()

    # -- actions ------------------------------------------------------------------------------------
    def run_experiment(self) -> str | None:
        """Create an experiment from the form and run it; returns its id."""
        if self.session.is_running():
            return None
        try:
            plan = self.form.plan()
        except (ValueError, KeyError) as e:
            self.controls.show_message(describe_error(e), error=True)
            return None
        self.form.save(self.context.settings)
        try:
            exp = self.state.create(plan)
        except (OSError, ValueError) as e:  # a read-only or busy store; a run too big to fit
            self.controls.show_message(describe_error(e), error=True)
            return None
        self._start(exp)
        return exp.id

    def resume_experiment(self, ref: str | None) -> bool:
        """Run what is missing of a stored experiment."""
        if ref is None or self.session.is_running():
            return False
        exp = self.open_experiment(ref)
        if exp is None:
            return False
        if not exp.missing():
            self.controls.show_message("Every run of this experiment is done (or cancelled); "
                                       "use Add run to train more.")
            return False
        self._start(exp)
        return True

    def _start(self, exp: Experiment) -> None:
        self.controls.show_message("")
        self._update_buttons()
        # the new grid's panels (~30 ms to build) wait for a timer, so that input and timers
        # due get a turn after the memory check (~40 ms): both at once held the window ~100 ms
        QTimer.singleShot(1, self.view, self.view.redraw)
        self.controls.show_busy("preparing data…")
        cluster = self.form.cluster()
        self.session.times.estimate = self.form.estimate_row.estimate  # pending runs' time
        self.session.start(exp.id, store_path=self.store_path,
                           concurrency=self.form.concurrency(), cluster=cluster)
        self.refresh_experiments()
        self.statusMessage.emit(f"Depth Lab: running {exp.name}"
                                + (f" on {cluster.describe()}" if cluster else ""))

    def open_experiment(self, ref: str | None) -> Experiment | None:
        """Show a stored experiment: grid, curves, table, degradation."""
        if not ref:
            return None
        running = self.session.is_running()
        try:
            if running and self.state.experiment and not self.state.is_shown(ref):
                self.controls.show_message("An experiment is running; cancel it before "
                                           "opening another.", error=True)
                return None
            exp = self.state.open(ref)
        except (KeyError, ValueError, OSError) as e:
            self.controls.show_message(describe_error(e), error=True)
            return None
        self._redraw()
        if not running:
            self.controls.show_runs(exp)
            self.form.set_value(GridRequest.of(exp))  # a starting point for the next one
        self.statusMessage.emit(f"Depth Lab: {exp.name}")
        return exp

    def cancel_run(self, index: int) -> bool:
        """Cancel one run of the running experiment (or a pending one of a stored one)."""
        if self.state.experiment is None:
            return False
        try:
            self.state.cancel_run(index)
        except OSError as e:  # a read-only or busy store
            self.controls.show_message(describe_error(e), error=True)
            return False
        if self.session.is_running():
            self.session.cancel_run(index)  # stops it if it is the one training
        self._redraw()
        return True

    def cancel_all(self) -> None:
        if self.session.is_running():
            self.session.stop()
            self.controls.progress.setFormat("stopping (the running net writes a checkpoint)…")

    def add_run(self, depth: int, variant: str, seed: int = 0) -> bool:
        try:
            self.state.add_run(depth, variant, seed)
        except (ValueError, KeyError, OSError) as e:
            self.controls.show_message(describe_error(e), error=True)
            return False
        self._redraw()
        if not self.session.is_running():
            self.controls.show_message("Run added; press Resume to train it.")
        return True

    def _delete(self, exp_id: str) -> None:
        try:
            self.state.delete(exp_id)  # the store refuses a running experiment
        except (ValueError, KeyError, OSError) as e:
            self.controls.show_message(describe_error(e), error=True)
        self._redraw()
        self.refresh_experiments()

    def refresh_experiments(self) -> None:
        try:
            exps = self.state.experiments()
        except Exception as e:  # noqa: BLE001 - an unreadable store must not break the tab
            self.controls.show_message(f"Could not read the stored experiments: {e}", error=True)
            return
        if self.state.store.notice != self.store_notice:
            self.store_notice = self.state.store.notice
            self.controls.show_message(self.store_notice)
        shown = self.state.experiment
        self.stored.fill(exps, shown.id if shown else None)
        self._update_buttons()

    def is_running(self) -> bool:
        return self.session.is_running()

    def export_figure(self, path: str) -> None:
        self.view.export_figure(path)

    def export_table(self, path: str) -> None:
        self.view.export_table(path)

    # -- drawing ------------------------------------------------------------------------------------
    def _redraw(self) -> None:
        self.view.redraw()
        self._update_buttons()

    def _update_progress(self) -> None:
        progress = self.state.progress()
        if progress is not None:
            self.controls.show_progress(progress)

    def _times_text(self) -> str:
        """The running (or last run) experiment's times, if it is the one shown."""
        shown, timed = self.state.experiment, self.session.times.experiment
        return self.session.times.describe() if shown and timed and shown.id == timed.id else ""

    def _update_buttons(self) -> None:
        running = self.session.is_running()
        exp = self.state.experiment
        self.controls.set_running(running, self.form.is_valid())
        self.form.setEnabled(not running)
        self.stored.set_running(exp.id if running and exp is not None else None)

    # -- session events (GUI thread, at the session's tick) -----------------------------------------
    def _cells_changed(self, exp: Experiment) -> None:
        self.state.cells_changed(exp)
        self._redraw()

    def _run_started(self, cell, run_id: str, resumed: bool) -> None:
        self.state.run_started(cell, run_id, resumed)
        self._redraw()
        self._update_progress()
        self.statusMessage.emit(f"Depth Lab: {'resumed' if resumed else 'training'} "
                                f"{cell.label}")

    def _logged(self, items: list) -> None:
        self.state.logged(items)
        self.view.schedule_redraw()
        self._update_progress()

    def _evaluated(self, items: list) -> None:
        self.state.evaluated(items)
        self.view.schedule_redraw()

    def _run_finished(self, cell, result, message: str) -> None:
        self.state.run_finished(cell)
        self._redraw()
        self._update_progress()
        self.refresh_experiments()
        if result is None or result.status in ("failed", "diverged"):
            self.controls.show_message(f"{cell.label}: {message or 'failed'}", error=True)

    def _finished(self, exp: Experiment) -> None:
        self.state.finished(exp)
        self._redraw()
        self._update_progress()
        self.controls.show_end(exp)
        self.statusMessage.emit(f"Depth Lab: {exp.name} {exp.status}")
        self.refresh_experiments()

    def _failed(self, message: str) -> None:
        self.controls.show_failed(message)
        self.statusMessage.emit("Depth Lab: the experiment could not run")
        try:
            self.state.reload()
            self._redraw()
        except (KeyError, ValueError, OSError):
            pass  # the experiment is gone or the store unreadable: the message says enough
        self.refresh_experiments()

    def _running_changed(self, running: bool) -> None:
        self.busyChanged.emit(running)
        self._update_buttons()

    # -- the window ---------------------------------------------------------------------------------
    def confirm_close(self, parent: QWidget) -> bool:
        """Ask before quitting while an experiment runs; True: go ahead (it is stopped)."""
        yes, no = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
        return not self.session.is_running() or QMessageBox.question(
            parent, "Experiment in progress", "A depth experiment is running. Stop it (the "
            "running net writes a checkpoint; Resume finishes the rest later) and quit?",
            yes | no) == yes

    def shutdown(self, timeout_ms: int = 120_000) -> bool:
        """Stop cleanly (the running net writes a checkpoint) and wait (window close)."""
        self.cancel_all()
        self.form.estimate_row.job.cancel()
        done = self.session.wait(timeout_ms)
        if done:
            self.state.close()
        return done


__all__ = ["DepthLabTab"]
