"""The right side of the Depth Lab: a heading, the paper-style curves, the degradation readout,
and the results table and run queue under them, all drawn from an ExperimentState; the figure
and the table export from here, and a run's trained net opens in another tab ("Use in…")."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.errors import describe_error
from resnet_studio.app.experiment_state import ExperimentState
from resnet_studio.app.experiments import write_results_csv
from resnet_studio.qt.kit.palette import MUTED
from resnet_studio.qt.kit.use_in import add_use_in_context_menu, use_in_button
from resnet_studio.qt.tabs.depth_lab.fig7_view import Fig7View
from resnet_studio.qt.tabs.depth_lab.plots import DepthPlots
from resnet_studio.qt.tabs.depth_lab.results_view import DegradationReadout, ResultsTable
from resnet_studio.qt.tabs.depth_lab.run_queue import RunQueue

REDRAW_MS = 200  # live numbers arrive 20 times a second; the views redraw at most 5 times


class ResultsPanel(QWidget):
    saved = Signal(str)  # path of an export
    exportFailed = Signal(str)  # one line for the user
    useRequested = Signal(str, str)  # run id, target tab (app.trained_models.USE_TARGETS)

    def __init__(self, state: ExperimentState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self._redraw_timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._redraw_timer.timeout.connect(self.redraw)
        self._last_draw = 0.0
        self.heading = QLabel("<b>Depth Lab</b> — choose a grid and press Run, or open a stored "
                              "experiment", textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.export_figure_button = QPushButton("Export figure…")
        self.export_table_button = QPushButton("Export table…")
        self.export_figure_button.clicked.connect(lambda: self._export_dialog(
            "Export figure", "depth_lab.png", "PNG image (*.png);;SVG drawing (*.svg)",
            self.export_figure))
        self.export_table_button.clicked.connect(lambda: self._export_dialog(
            "Export table", "depth_lab.csv", "CSV (*.csv)", self.export_table))
        self.plots = DepthPlots()
        self.plots.setToolTip("One panel per family, one colour per depth. Dashed: training "
                              "error (smoothed); bold: test error. With several seeds: their "
                              "mean, and a shaded band of ±1 standard deviation.")
        self.readout = DegradationReadout()
        self.table = ResultsTable()
        self.queue = RunQueue()
        self.fig7 = Fig7View(state.store_path)

        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        self._build_use_in(top)
        top.addWidget(self.export_figure_button)
        top.addWidget(self.export_table_button)
        tables = QTabWidget()
        tables.addTab(self.table, "Results")
        tables.addTab(self.queue, "Runs")
        tables.addTab(self.fig7, "Fig. 7")
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.readout)
        bl.addWidget(tables, 1)
        split = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=False)
        split.addWidget(self.plots)
        split.addWidget(bottom)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([470, 330])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self.redraw()

    def _build_use_in(self, top: QHBoxLayout) -> None:
        """"Use in…" over the run selected in the results table or the run queue, and the same
        menu on a right click in either."""
        self.use_in_button = use_in_button(self, self._use_selected)
        self.use_in_button.setEnabled(False)
        top.addWidget(self.use_in_button)
        add_use_in_context_menu(self.table, self.summary_run_at, self.useRequested.emit)
        add_use_in_context_menu(self.queue.table, self.queue_run_at, self.useRequested.emit)
        for table in (self.table, self.queue.table):
            table.itemSelectionChanged.connect(
                lambda: self.use_in_button.setEnabled(self.selected_run() is not None))

    def summary_run_at(self, row: int) -> str | None:
        """The net of a results table row (depth x variant): its lowest seed's trained run."""
        results = self.state.results
        if results is None or not 0 <= row < len(results.summary):
            return None
        s = results.summary[row]
        return next((r.run_id for r in results.runs if (r.depth, r.variant) == (s.depth, s.variant)
                     and r.run_id and self._has_model(r.run_id)), None)

    def queue_run_at(self, row: int) -> str | None:
        """The run of a run queue row, if it has a trained model."""
        results = self.state.results
        if results is None or not 0 <= row < len(results.runs):
            return None
        run_id = results.runs[row].run_id
        return run_id if run_id and self._has_model(run_id) else None

    def _has_model(self, run_id: str) -> bool:
        runs = self.state.store.runs
        return runs.exists(run_id) and bool(runs.get(run_id).checkpoint)

    def selected_run(self) -> str | None:
        """The run selected in whichever of the two tables has a selection."""
        for table, run_at in ((self.queue.table, self.queue_run_at),
                              (self.table, self.summary_run_at)):
            rows = table.selectionModel().selectedRows()
            if rows and (run_id := run_at(rows[0].row())) is not None:
                return run_id
        return None

    def _use_selected(self, target: str) -> None:
        run_id = self.selected_run()
        if run_id is not None:
            self.useRequested.emit(run_id, target)

    def schedule_redraw(self) -> None:
        """Redraw now if the last redraw is old enough, otherwise once the interval is up."""
        if time.monotonic() - self._last_draw >= REDRAW_MS / 1000:
            self.redraw()
        elif not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def redraw(self) -> None:
        """Draw what the state shows (the heading, curves, readout, table and queue)."""
        self._redraw_timer.stop()
        self._last_draw = time.monotonic()
        exp = self.state.experiment
        results = self.state.results
        if exp is not None:
            c = exp.config
            self.heading.setText(f"<b>{exp.name}</b> · {c.dataset} · {c.steps:,} steps · batch "
                                 f"{c.batch_size} · <span style='color:{MUTED}'>{exp.id}</span>")
        if results is not None:
            self.plots.show_results(results)
            self.table.show_results(results)
            self.readout.show_results(results)
        self.queue.show_state(self.state)
        self.queue.set_has_experiment(exp is not None)
        self.fig7.set_experiment(exp.id if exp is not None else None,
                                 finished=exp is not None
                                 and any(c.status == "finished" for c in exp.cells))
        self.export_figure_button.setEnabled(exp is not None)
        self.export_table_button.setEnabled(exp is not None)

    def export_figure(self, path: str) -> None:
        self.plots.export(path)

    def export_table(self, path: str) -> None:
        if self.state.results is None:
            raise ValueError("no results to export")
        write_results_csv(self.state.results, path)

    def _export_dialog(self, caption: str, name: str, filters: str, export) -> None:
        path, _ = QFileDialog.getSaveFileName(self, caption, name, filters)
        if path:
            try:
                export(path)
                self.saved.emit(path)
            except Exception as e:  # noqa: BLE001 - a failed export must not break the tab
                self.exportFailed.emit(f"Could not save {path}: {describe_error(e)}")
