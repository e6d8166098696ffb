"""Gradients tab: how gradients travel through depth, with and without shortcuts.

Three views of one question, each a module with its own controls and job:

* `InitView` -- one forward + backward of a residual net and its plain twin at initialisation:
  the conv weight-gradient norms, ‖∂L/∂x‖ at each block input and the response std over depth,
  the plain ÷ residual ratio, and a verdict in words for each.
* `TrainingView` -- the per-block gradient norms a `GradientLogger` wrote into the run store, as
  heatmaps of up to two runs, refreshed while a shown run is running.
* `LesionView` -- the lesion study of Veit et al. 2016 (the same use case as `resnet-studio
  lesion`).

The tab composes them under a shared model/seed row and exports what the current view shows.
What is shown and running lives in a Qt-free `GradientsState` (app/gradients.py). Importing
this module imports no torch; the app functions the jobs run import it in the worker.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.gradients import SECTIONS, GradientsState
from resnet_studio.core.common.files import write_text_atomic
from resnet_studio.qt.kit.plotting import export_figure
from resnet_studio.qt.kit.tab import TabContext, TabWidget
from resnet_studio.qt.tabs.gradients.init_view import InitView
from resnet_studio.qt.tabs.gradients.lesion_view import LesionView
from resnet_studio.qt.tabs.gradients.model_picker import ModelPicker
from resnet_studio.qt.tabs.gradients.training_view import TrainingView

if TYPE_CHECKING:
    from resnet_studio.core.spec import ArchSpec

DATA_FILTER = "JSON (*.json);;CSV (*.csv)"
FIGURE_FILTER = "PNG image (*.png);;SVG image (*.svg)"
ALPHA_KEY = "gradients/alpha"


class GradientsTab(TabWidget):
    """The model/seed row and export buttons over the three views (see the module doc)."""

    title = "Gradients"

    def __init__(self, context: TabContext | None = None, parent: QWidget | None = None):
        super().__init__(context, parent)
        self.state = GradientsState()
        self._busy = False

        self.picker = ModelPicker()
        self.export_figure_button = QPushButton("Export figure…",
                                                toolTip="Save the figure shown (PNG or SVG)")
        self.export_data_button = QPushButton("Export data…",
                                              toolTip="Save the numbers shown (JSON or CSV)")
        self.export_figure_button.clicked.connect(self._export_figure_dialog)
        self.export_data_button.clicked.connect(self._export_data_dialog)
        top = QHBoxLayout()
        top.addWidget(self.picker)
        top.addStretch(1)
        top.addWidget(self.export_figure_button)
        top.addWidget(self.export_data_button)

        self.init_view = InitView(self.picker, self.state)
        alpha = self.init_view.alpha_slider  # remembered between sessions
        try:
            alpha.set_value(float(self.context.settings.value(ALPHA_KEY, 1.0)))
        except (TypeError, ValueError):  # a hand-edited settings file: start residual
            alpha.set_value(1.0)
        alpha.changed.connect(lambda a: self.context.settings.set_value(ALPHA_KEY, a))
        self.training_view = TrainingView(self.context.store_path, self.state)
        self.lesion_view = LesionView(self.picker, self.state, self.context.store_path)
        self.views = (self.init_view, self.training_view, self.lesion_view)  # as SECTIONS
        self.sections = QTabWidget(documentMode=True)
        for view, name in zip(self.views, ("Initialisation", "During training", "Lesion study")):
            self.sections.addTab(view, name)
            view.statusMessage.connect(self.statusMessage)
            view.runningChanged.connect(self._update_busy)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.sections, 1)

    # -- the sidebar's model -------------------------------------------------------------------
    def model_changed(self, summary) -> None:
        self.set_spec(summary.spec)

    def set_spec(self, spec: ArchSpec) -> None:
        """The sidebar's model, offered as "Current model" (measured if it is chosen); a
        shortcut strength set in the builder moves the α slider to it."""
        if not spec.plain and spec.shortcut_scale != 1.0:
            self.init_view.alpha_slider.set_value(spec.shortcut_scale)
        self.picker.set_current(spec)

    # -- "Use in…" (the window routes a run's trained model here) ------------------------------
    def use_checkpoint(self, path: str | Path, twin: str | Path | None = None) -> None:
        """The lesion study, on this app checkpoint and its plain twin's."""
        self.sections.setCurrentWidget(self.lesion_view)
        self.lesion_view.use_checkpoint(path, twin)

    def use_run(self, run_id: str, twin_run_id: str | None = None) -> None:
        """During training: this run's gradient norms, its twin's beside them."""
        self.sections.setCurrentWidget(self.training_view)
        self.training_view.use_run(run_id, twin_run_id)

    # -- busy ----------------------------------------------------------------------------------
    def _update_busy(self) -> None:
        if self.state.busy != self._busy:
            self._busy = self.state.busy
            self.busyChanged.emit(self._busy)

    def is_busy(self) -> bool:
        return self.state.busy

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Stop timers, cancel the work of every view, wait for it (window close)."""
        from resnet_studio.qt.kit.job import wait_for_background_work

        for view in self.views:
            view.stop()
        done = wait_for_background_work(timeout_ms)
        for view in self.views:  # deliver what the jobs said last: none is left running
            for job in view.jobs:
                done = job.wait(timeout_ms) and done
        return done

    # -- export --------------------------------------------------------------------------------
    def current_section(self) -> str:
        return SECTIONS[self.sections.currentIndex()]

    def export_figure(self, path: str | Path) -> Path:
        """The figure of the current view as PNG or SVG (by suffix; PNG otherwise), atomically."""
        view = self.views[self.sections.currentIndex()].figure.view
        return export_figure(view.ci, path, width=max(1200, int(view.width())))

    def export_data(self, path: str | Path) -> Path:
        """The numbers of the current view: JSON (everything) or CSV (a table), by suffix."""
        path = Path(path)
        as_csv = path.suffix.lower() == ".csv"
        if not as_csv and path.suffix.lower() != ".json":
            path = path.with_suffix(".json")
        write_text_atomic(path, self.state.export_text(self.current_section(), as_csv))
        return path

    def _export_figure_dialog(self) -> None:
        name = self.state.export_name(self.current_section())
        path, _ = QFileDialog.getSaveFileName(self, "Export figure", name + ".png", FIGURE_FILTER)
        if path:
            self.save_or_warn(lambda: self.export_figure(path), "figure")

    def _export_data_dialog(self) -> None:
        name = self.state.export_name(self.current_section())
        path, chosen = QFileDialog.getSaveFileName(self, "Export numbers", name + ".json",
                                                   DATA_FILTER)
        if path:
            if chosen.startswith("CSV") and not path.lower().endswith((".csv", ".json")):
                path += ".csv"
            self.save_or_warn(lambda: self.export_data(path), "numbers")

