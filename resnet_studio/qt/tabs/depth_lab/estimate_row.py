"""The Depth Lab form's "Time on this machine" row: an estimate measured here, not a stated one.

Estimate trains each net of the grid for a few steps in the background (`app.time_estimate`,
a heavy Job listed in the jobs panel) and shows the experiment's wall time; the form then asks
`show_for(plan)` on every edit, so a new length or grid of the same nets updates at once and
anything that changes a step's time asks for a new measurement. Nothing is measured until the
button is pressed: opening the tab starts no work. The last estimate is remembered (Settings),
so a later session shows it at once.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from resnet_studio.app.experiments import ExperimentPlan
from resnet_studio.app.time_estimate import TimeEstimate, estimate_experiment
from resnet_studio.core.common.formatting import duration
from resnet_studio.qt.kit.job import Job
from resnet_studio.qt.kit.palette import muted_style
from resnet_studio.qt.kit.settings import Settings

SETTINGS_KEY = "depthlab/timeEstimate"
NOT_MEASURED = ("Time on this machine: not measured yet. Estimate times the first steps of "
                "each net (about a minute on a laptop's CPU).")


class EstimateRow(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.estimate: TimeEstimate | None = None
        self._settings: Settings | None = None
        self._plan: ExperimentPlan | None = None
        self.label = QLabel(NOT_MEASURED, wordWrap=True, objectName="timeEstimate")
        self.label.setStyleSheet(muted_style())
        self.button = QPushButton("Estimate", toolTip="Train each net of the grid for a few "
                                                      "steps here and say how long the "
                                                      "experiment will take")
        self.button.clicked.connect(self.measure)
        self.job = Job(self, title="Depth Lab: timing the first steps of each net", heavy=True)
        self.job.bind(succeeded=self._measured, failed=self._failed,
                      progressed=lambda done, total, text: self.label.setText(
                          f"Time on this machine: {text}"),
                      runningChanged=lambda on: self.button.setEnabled(not on))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)

    def remember(self, settings: Settings) -> None:
        """Keep estimates in `settings`, and show the one measured in an earlier session."""
        self._settings = settings
        try:
            self.estimate = TimeEstimate.from_json(settings.text(SETTINGS_KEY))
        except ValueError:  # none yet, or from an older version
            return
        self.show_for(self._plan)

    def measure(self) -> bool:
        """Time the plan shown (False if there is none or a measurement runs)."""
        if self._plan is None or self.job.is_running():
            return False
        self.label.setText("Time on this machine: measuring the first steps…")
        return self.job.start(estimate_experiment, self._plan)

    def show_for(self, plan: ExperimentPlan | None) -> None:
        """The plan the form shows now (None: an invalid one)."""
        self._plan = plan
        if self.job.is_running():
            return
        if plan is None:
            self.label.setText(NOT_MEASURED if self.estimate is None else "")
            return
        self.label.setText(self.text_for(plan))

    def text_for(self, plan: ExperimentPlan) -> str:
        if self.estimate is None:
            return NOT_MEASURED
        seconds = self.estimate.seconds_for(plan.cells, plan.config)
        if seconds is None:
            return ("Time on this machine: the grid or settings changed since it was measured; "
                    "press Estimate again.")
        return (f"Time on this machine: about {duration(seconds)} for {len(plan.cells)} "
                f"run{'s' if len(plan.cells) != 1 else ''}, one at a time (measured from "
                "the first steps of each net).")

    def _measured(self, estimate: TimeEstimate) -> None:
        self.estimate = estimate
        if self._settings is not None:
            self._settings.set_value(SETTINGS_KEY, estimate.to_json())
        self.label.setText(self.text_for(self._plan) if self._plan is not None else "")

    def _failed(self, text: str) -> None:
        self.label.setText(f"Time on this machine: could not measure ({text})")
