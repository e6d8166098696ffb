"""Lesion study (Veit et al. 2016): the residual net and its plain twin trained briefly on a
built-in task (the same initial weights, the same batches), then each block deleted in turn at
test time -- the accuracy drop per block, as bars.

Threading: `app.lesion.run_lesion` -- the same function `resnet-studio lesion` calls -- runs in
the thread pool through a `Job`; Cancel takes effect at its next progress report (every 10
training steps, every deleted block). Its signals, and so every write to the state, arrive on
the GUI thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.lesion import TASKS, LesionRequest, run_lesion
from resnet_studio.qt.kit.job import Job
from resnet_studio.qt.kit.palette import ERROR, MUTED
from resnet_studio.qt.tabs.gradients.lesion_bars import LesionBars
from resnet_studio.qt.tabs.gradients.view import GradientsView

if TYPE_CHECKING:
    from resnet_studio.app.gradients import GradientsState
    from resnet_studio.app.lesion import LesionResult
    from resnet_studio.core.spec import ArchSpec
    from resnet_studio.qt.tabs.gradients.model_picker import ModelPicker

ABOUT = (f"<span style='color:{MUTED}'>Veit et al. 2016: train the residual net and its plain "
         "twin briefly (same initial weights, same batches), then delete one block at a time "
         "at test time. A residual block leaves its identity path behind; a plain block leaves "
         "nothing, so every image's only path breaks.</span>")


class LesionForm(QWidget):
    """What to train on and for how long; the model and the seed come from the tab's top row."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.task_combo = QComboBox()
        for key, task in TASKS.items():
            self.task_combo.addItem(task.text, key)
        self.steps_spin = QSpinBox(minimum=0, maximum=100_000, singleStep=50,
                                   value=TASKS[self.task_combo.currentData()].steps,
                                   toolTip="SGD steps before the lesion study (0: untrained)")
        self.task_combo.currentIndexChanged.connect(
            lambda: self.steps_spin.setValue(TASKS[self.task_combo.currentData()].steps))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Train on:"))
        layout.addWidget(self.task_combo)
        layout.addWidget(QLabel("Steps:"))
        layout.addWidget(self.steps_spin)

    def value(self, spec: ArchSpec, seed: int) -> LesionRequest:
        """The request for `spec`: with its plain twin unless it is plain already."""
        return LesionRequest(spec=spec, task=self.task_combo.currentData(),
                             steps=self.steps_spin.value(), seed=seed,
                             compare_plain=not spec.plain)

    def set_value(self, request: LesionRequest) -> None:
        self.task_combo.setCurrentIndex(self.task_combo.findData(request.task))
        if request.steps is not None:
            self.steps_spin.setValue(request.steps)


class LesionView(GradientsView):
    """The form, Run/Cancel, a progress bar, the summary lines and the bars."""

    def __init__(self, picker: ModelPicker, state: GradientsState,
                 parent: QWidget | None = None):
        super().__init__(state, parent)
        self.picker = picker
        self.form = LesionForm()
        self.run_button = QPushButton("Run lesion study")
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.progress = QProgressBar(textVisible=True)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        row = QHBoxLayout()
        row.addWidget(self.form)
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        self.message = QLabel(ABOUT, wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.bars = self.figure = LesionBars()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 6, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(self.bars, 1)

        self.job = Job(self, title="Gradients: lesion study", heavy=True)
        self.job.progressed.connect(self._progress)
        self.job.succeeded.connect(self._done)
        self.job.failed.connect(self._failed)
        self.job.cancelled.connect(self._cancelled)
        self.job.runningChanged.connect(self._running)
        self.jobs = (self.job,)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)

    def running(self) -> bool:
        return self.job.is_running()

    def start(self) -> bool:
        """Start the study for the chosen model; False if one runs already or none is chosen."""
        spec = self.picker.spec()
        if self.running() or spec is None:
            return False
        request = self.form.value(spec, self.picker.seed())
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        self.state.lesion_status = "running"
        self.job.start(run_lesion, request)
        twin = " and its plain twin" if request.compare_plain else ""
        self.statusMessage.emit(f"Lesion study: training {spec.name}{twin} "
                                f"({request.steps} steps each)")
        return True

    def cancel(self) -> None:
        if self.running():
            self.job.cancel()
            self.progress.setFormat("cancelling…")

    def _running(self, on: bool) -> None:
        self.run_button.setEnabled(not on)
        self.cancel_button.setEnabled(on)
        self._set_running("lesion", on)

    def _progress(self, done: int, total: int, text: str) -> None:
        self.progress.setValue(int(1000 * done / max(total, 1)))
        self.progress.setFormat(f"{text} (%p%)")

    def _done(self, result: LesionResult) -> None:
        self.state.lesion, self.state.lesion_status, self.state.lesion_error = result, "done", ""
        self.message.setText("<br>".join(result.summary + ([result.advice] if result.advice
                                                           else [])))
        self.bars.show_reports(result.reports, result.reports[0].source if result.reports else "")
        self.progress.setValue(1000)
        self.progress.setFormat("done")
        self.statusMessage.emit(f"Lesion study: {result.headline}")

    def _cancelled(self) -> None:
        self.state.lesion_status = "cancelled"  # the last results stay
        self.progress.setFormat("cancelled")
        self.statusMessage.emit("Lesion study cancelled")

    def _failed(self, text: str) -> None:
        self.state.lesion_status, self.state.lesion_error = "failed", text
        self.progress.setFormat("failed")
        self.message.setText(f"<span style='color:{ERROR}'>The lesion study failed: "
                             f"{text}</span>")
        self.statusMessage.emit(f"Lesion study failed: {text}")
