"""Landscape tab: the loss surface around a stored run's trained weights (Li et al. 2018),
optionally beside its plain twin's on one colour scale.

The form picks the runs and the settings (remembered); Compute runs `app.landscape.
compute_landscapes` in a `Job`, whose `on_update` hands each refinement level (coarse grid
first) to the GUI thread through a queued signal, so a picture is there within seconds and
sharpens in place. Each finished slice is stored in its run's folder; choosing a run and
settings already computed shows them at once (`stored_landscapes`, no Job). Export writes the
figure (PNG/SVG) and the grid (CSV, the bytes `resnet-studio landscape --csv` writes).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.landscape import (
    LandscapeRequest,
    LandscapeResult,
    compute_landscapes,
    export_name,
    landscape_csv,
    stored_landscapes,
)
from resnet_studio.core.common.files import write_text_atomic
from resnet_studio.qt.kit.job import Job
from resnet_studio.qt.kit.palette import message_style
from resnet_studio.qt.kit.plotting import export_figure
from resnet_studio.qt.kit.stale import MEASURING, Stale
from resnet_studio.qt.kit.tab import TabContext, TabWidget
from resnet_studio.qt.tabs.landscape.form import LandscapeForm
from resnet_studio.qt.tabs.landscape.surface_view import LandscapeFigure

SETTINGS_KEY = "landscape/form"
FIGURE_FILTER = "PNG image (*.png);;SVG image (*.svg)"


class LandscapeTab(TabWidget):
    title = "Landscape"
    levelReady = Signal(int, object)  # from the worker: (run index, RunLandscape so far)

    def __init__(self, context: TabContext | None = None, parent: QWidget | None = None):
        super().__init__(context, parent)
        self.form = LandscapeForm(self.context.store_path)
        self.form.set_value(self.context.settings.json(SETTINGS_KEY, {}) or {})
        self.figure = LandscapeFigure()
        self.landscapes: list = [None, None]
        self.result: LandscapeResult | None = None
        self.job = Job(self, title="Landscape: computing loss slices", heavy=True)
        self.job.bind(progressed=self._progressed, succeeded=self._done,
                      failed=lambda line: self._say(line, error=True),
                      cancelled=lambda: self._say("Cancelled."),
                      runningChanged=self._running)
        self.levelReady.connect(self._level)
        self.stale = Stale(self.figure.view)  # the last surfaces, greyed, until the new ones end
        self.stale.follow(self.job, MEASURING)

        self.compute_button = QPushButton("Compute", toolTip="Compute the slices (or show them "
                                          "at once if stored with these settings)")
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.export_figure_button = QPushButton("Export figure…", enabled=False)
        self.export_csv_button = QPushButton("Export CSV…", enabled=False)
        self.progress = QProgressBar(textVisible=True, maximumWidth=260)
        self.progress.setVisible(False)
        self.message = QLabel(wordWrap=True)
        self.compute_button.clicked.connect(self.compute)
        self.cancel_button.clicked.connect(self.job.cancel)
        self.export_figure_button.clicked.connect(self._export_figure_dialog)
        self.export_csv_button.clicked.connect(self._export_csv_dialog)
        self.form.view_combo.currentIndexChanged.connect(lambda _i: self._redraw())
        self.form.changed.connect(self._show_stored)

        buttons = QHBoxLayout()
        for w in (self.compute_button, self.cancel_button, self.progress):
            buttons.addWidget(w)
        buttons.addStretch(1)
        buttons.addWidget(self.export_figure_button)
        buttons.addWidget(self.export_csv_button)
        self.message.setMinimumWidth(100)  # wraps instead of widening the tab
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.form)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.figure.view, 1)
        self._show_stored()

    # -- requests ------------------------------------------------------------------------------
    def request(self) -> LandscapeRequest | None:
        runs = self.form.runs()
        if not runs:
            return None
        return LandscapeRequest(runs, self.form.settings(), self.context.store_path)

    def compute(self) -> bool:
        """Start computing what the form says; False if there is no run or work still runs."""
        try:
            request = self.request()
            if request is not None:
                request.settings.check()
        except ValueError as e:
            self._say(str(e), error=True)
            return False
        if request is None:
            self._say("Choose a run with a checkpoint (train one in the Train tab).", error=True)
            return False
        self.context.settings.set_json(SETTINGS_KEY, self.form.value())
        self.landscapes = [None] * len(request.runs)
        self.result = None
        self._say("")
        return self.job.start(compute_landscapes, request, on_update=self.levelReady.emit)

    def _show_stored(self) -> None:
        """What is stored for the chosen runs and settings, drawn at once (nothing computed)."""
        if self.job.is_running():
            return
        request = self.request()
        try:
            stored = stored_landscapes(request) if request is not None else []
        except (OSError, ValueError, KeyError) as e:
            stored = []
            self._say(str(e), error=True)
        self.landscapes = stored or [None]
        complete = bool(stored) and all(ls is not None for ls in stored)
        self.result = LandscapeResult(request.settings, stored) if complete else None
        if complete:
            self._say("; ".join(ls.describe() for ls in stored))
        elif request is not None:
            self._say("Press Compute to see the landscape (stored with its run afterwards).")
        else:
            self._say("No trained run yet: train a model in the Train tab (or run the Depth Lab), "
                      "then choose it here — and its plain twin's run beside it, to see the two "
                      "surfaces on one colour scale.")
        self.compute_button.setEnabled(request is not None and not self.job.is_running())
        self._redraw()

    def use_run(self, run_id: str, twin_run_id: str | None = None) -> None:
        """"Use in…": this run's landscape, its plain twin's beside it (shown at once if stored
        with the form's settings; Compute otherwise)."""
        if not self.job.is_running():
            self.form.use_run(run_id, twin_run_id)

    # -- the job's signals -----------------------------------------------------------------------
    def _level(self, index: int, landscape) -> None:
        if index < len(self.landscapes):
            self.landscapes[index] = landscape
            self._redraw()
            self.stale.show("refining… (a coarser grid so far)")

    def _progressed(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(text[:40] or "%p%")
        self.statusMessage.emit(text)

    def _done(self, result: LandscapeResult) -> None:
        self.result = result
        self.landscapes = list(result.landscapes)
        self._redraw()
        self._say("; ".join(result.summary()))

    def _running(self, running: bool) -> None:
        self.compute_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.progress.setVisible(running)
        self.form.setEnabled(not running)
        has = self.result is not None and not running
        self.export_figure_button.setEnabled(has)
        self.export_csv_button.setEnabled(has)
        self.busyChanged.emit(running)

    def _redraw(self) -> None:
        s = self.form.settings()
        caption = (f"Colour: log10 training loss, one scale for both · span ±{s.span:g} · "
                   f"{s.grid}×{s.grid} points · {s.batches} batches · directions seed {s.seed} · "
                   "eval-mode BatchNorm"
                   if any(ls is not None for ls in self.landscapes) else "")
        self.figure.show(self.landscapes, self.form.view_mode(), caption)
        has = self.result is not None and not self.job.is_running()
        self.export_figure_button.setEnabled(has)
        self.export_csv_button.setEnabled(has)

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(message_style(error) if text else "")

    # -- export ---------------------------------------------------------------------------------
    def export_figure(self, path: str | Path) -> Path:
        return export_figure(self.figure.view.ci, path, width=max(1400, self.figure.view.width()))

    def export_csv(self, path: str | Path) -> Path:
        if self.result is None:
            raise ValueError("nothing computed yet")
        write_text_atomic(path, landscape_csv(self.result))
        return Path(path)

    def _export_figure_dialog(self) -> None:
        name = export_name(self.result) if self.result else "landscape"
        path, _ = QFileDialog.getSaveFileName(self, "Export figure", name + ".png", FIGURE_FILTER)
        if path:
            self.save_or_warn(lambda: self.export_figure(path), "figure")

    def _export_csv_dialog(self) -> None:
        name = export_name(self.result) if self.result else "landscape"
        path, _ = QFileDialog.getSaveFileName(self, "Export grid", name + ".csv", "CSV (*.csv)")
        if path:
            self.save_or_warn(lambda: self.export_csv(path), "grid")


    # -- the window ------------------------------------------------------------------------------
    def is_busy(self) -> bool:
        return self.job.is_running()

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        self.job.cancel()
        return self.job.wait(timeout_ms)
