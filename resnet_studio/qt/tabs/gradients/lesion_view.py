"""Lesion study (Veit et al. 2016): a trained residual net and its trained plain twin -- the
user's newest trained pair, else the shipped ResNet-20 and plain-20 -- or the tab's model and
its twin trained here (the same initial weights, the same batches, until the residual net is
well above chance), then each block deleted in turn at test time: the accuracy drop per block,
as bars.

Threading: `app.trained_models.trained_models` (listing the choices) and `app.lesion.run_lesion`
-- the same function `resnet-studio lesion` calls -- run in the thread pool through `Job`s;
Cancel takes effect at the study's next progress report (every 10 training steps, every deleted
block). Their signals, and so every write to the state, arrive on the GUI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.lesion import TASKS, LesionRequest, run_lesion, training_plan
from resnet_studio.app.trained_models import default_pair, trained_models
from resnet_studio.qt.kit.job import Job
from resnet_studio.qt.kit.palette import ERROR, MUTED
from resnet_studio.qt.tabs.gradients.lesion_bars import LesionBars
from resnet_studio.qt.tabs.gradients.view import GradientsView

if TYPE_CHECKING:
    from resnet_studio.app.gradients import GradientsState
    from resnet_studio.app.lesion import LesionResult
    from resnet_studio.app.trained_models import TrainedModel
    from resnet_studio.core.spec import ArchSpec
    from resnet_studio.qt.tabs.gradients.model_picker import ModelPicker

ABOUT = (f"<span style='color:{MUTED}'>Veit et al. 2016: delete one block of a trained net at a "
         "time, at test time. A residual block leaves its identity path behind; a plain block "
         "leaves nothing, so every image's only path breaks.</span>")
TRAIN_HERE = "train"  # the model combo's item for "train the tab's model here"


class LesionForm(QWidget):
    """Which trained net (with its twin) to lesion -- or train the tab's model here, on which
    task and for how long; the model and the seed to train come from the tab's top row."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model_combo = QComboBox(toolTip="A trained net and its trained plain twin (your "
                                             "runs, the Depth Lab's nets, the shipped pair), "
                                             "or the model above trained here")
        self.model_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(24)
        self.model_combo.addItem("Train the model above here", TRAIN_HERE)
        self.task_combo = QComboBox()
        for key, task in TASKS.items():
            self.task_combo.addItem(task.text, key)
        # a long task text must not widen the whole Gradients tab past a 1280 px window
        self.task_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.task_combo.setMinimumContentsLength(18)
        self.until_check = QCheckBox("until well above chance", checked=True,
                                     toolTip="Train in rounds until the residual net is well "
                                             "above chance (its twin as many steps)")
        self.steps_spin = QSpinBox(minimum=0, maximum=100_000, singleStep=50,
                                   value=TASKS[self.task_combo.currentData()].steps,
                                   toolTip="SGD steps before the lesion study (0: untrained)")
        self.task_combo.currentIndexChanged.connect(
            lambda: self.steps_spin.setValue(TASKS[self.task_combo.currentData()].steps))
        self.training = QWidget()
        row = QHBoxLayout(self.training)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (QLabel("Train on:"), self.task_combo, self.until_check, QLabel("Steps:"),
                  self.steps_spin):
            row.addWidget(w)
        chooser = QHBoxLayout()
        chooser.addWidget(QLabel("Lesion:"))
        chooser.addWidget(self.model_combo, 1)
        layout = QVBoxLayout(self)  # the training settings on their own line: narrow windows
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(chooser)
        layout.addWidget(self.training)
        self.user_chose = False  # then a new list of trained nets keeps the choice
        self.model_combo.activated.connect(lambda _i: setattr(self, "user_chose", True))
        self.model_combo.currentIndexChanged.connect(self._update)
        self.until_check.toggled.connect(self._update)
        self._update()

    def train_here(self) -> bool:
        return self.model_combo.currentData() == TRAIN_HERE

    def _update(self) -> None:
        self.training.setVisible(self.train_here())
        self.steps_spin.setEnabled(not self.until_check.isChecked())

    # -- the trained nets ----------------------------------------------------------------------
    def set_models(self, models: list[TrainedModel]) -> None:
        """The trained nets to offer; the default pair is chosen unless the user chose."""
        chosen = self.model_combo.currentData()
        self.model_combo.blockSignals(True)
        while self.model_combo.count() > 1:  # the last item: train here
            self.model_combo.removeItem(0)
        for i, m in enumerate(models):
            twin = f" vs {m.twin_label}" if m.twin_label else " (no plain twin)"
            self.model_combo.insertItem(i, m.label + twin, _paths(m.checkpoint, m.twin))
        default = default_pair(models)
        wanted = chosen if self.user_chose or default is None else \
            _paths(default.checkpoint, default.twin)
        self.model_combo.setCurrentIndex(max(self.model_combo.findData(wanted), 0))
        self.model_combo.blockSignals(False)
        self._update()

    def choose_checkpoint(self, path: str | Path, twin: str | Path | None = None) -> None:
        """Lesion this checkpoint (and its twin's): listed already, or added."""
        self.user_chose = True
        data = _paths(path, twin)
        index = self.model_combo.findData(data)
        if index < 0:
            index = self.model_combo.count() - 1
            label = f"checkpoint {Path(path).parent.name}/{Path(path).name}"
            self.model_combo.insertItem(index, label + (" and its plain twin" if twin else ""),
                                        data)
        self.model_combo.setCurrentIndex(index)

    def checkpoints(self) -> tuple[str, ...]:
        """The chosen trained net's checkpoint and its twin's (empty: train here)."""
        data = self.model_combo.currentData()
        return () if data == TRAIN_HERE else tuple(p for p in data if p)

    # -- the request ---------------------------------------------------------------------------
    def value(self, spec: ArchSpec | None, seed: int) -> LesionRequest | None:
        """The request: the chosen checkpoints, or `spec` trained here with its plain twin
        unless it is plain already (None: train here, but no model chosen above)."""
        if not self.train_here():
            return LesionRequest(checkpoints=self.checkpoints())
        if spec is None:
            return None
        return LesionRequest(spec=spec, task=self.task_combo.currentData(),
                             steps=None if self.until_check.isChecked()
                             else self.steps_spin.value(),
                             seed=seed, compare_plain=not spec.plain)

    def set_value(self, request: LesionRequest) -> None:
        if request.checkpoints:
            self.choose_checkpoint(*request.checkpoints[:2])
            return
        self.user_chose = True
        self.model_combo.setCurrentIndex(self.model_combo.findData(TRAIN_HERE))
        self.task_combo.setCurrentIndex(self.task_combo.findData(request.task))
        self.until_check.setChecked(request.steps is None)
        if request.steps is not None:
            self.steps_spin.setValue(request.steps)


def _list_models(store_path: str | None, progress) -> list[TrainedModel]:
    return trained_models(store_path)


def _paths(path: str | Path, twin: str | Path | None) -> tuple[str, str]:
    return str(path), "" if twin is None else str(twin)


class LesionView(GradientsView):
    """The form, Run/Cancel, a progress bar, the summary lines and the bars."""

    def __init__(self, picker: ModelPicker, state: GradientsState,
                 store_path: str | None = None, parent: QWidget | None = None):
        super().__init__(state, parent)
        self.picker = picker
        self.store_path = store_path
        self.form = LesionForm()
        self.run_button = QPushButton("Run lesion study")
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.progress = QProgressBar(textVisible=True)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        row = QHBoxLayout()
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        self.plan = QLabel(wordWrap=True)
        self.plan.setStyleSheet(f"color: {MUTED}")
        self.message = QLabel(ABOUT, wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.bars = self.figure = LesionBars()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 6, 4, 4)
        layout.addWidget(self.form)
        layout.addLayout(row)
        layout.addWidget(self.plan)
        layout.addWidget(self.message)
        layout.addWidget(self.bars, 1)

        self.job = Job(self, title="Gradients: lesion study", heavy=True)
        self.job.progressed.connect(self._progress)
        self.job.succeeded.connect(self._done)
        self.job.failed.connect(self._failed)
        self.job.cancelled.connect(self._cancelled)
        self.job.runningChanged.connect(self._running)
        self.list_job = Job(self)
        self.list_job.succeeded.connect(self._listed)
        self.list_job.failed.connect(lambda text: self.statusMessage.emit(
            f"Lesion study: could not list the trained models ({text})"))
        self.jobs = (self.job, self.list_job)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        for signal in (self.form.model_combo.currentIndexChanged, self.form.until_check.toggled,
                       self.form.task_combo.currentIndexChanged, self.form.steps_spin.valueChanged,
                       picker.changed):
            signal.connect(self._show_plan)
        self._show_plan()

    # -- the trained nets offered ----------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().showEvent(event)
        self.refresh_models()

    def refresh_models(self) -> None:
        """List the trained nets again (in the background; the store and the shipped index)."""
        self.list_job.start(_list_models, self.store_path)

    def _listed(self, models: list[TrainedModel]) -> None:
        self.form.set_models(models)
        self._show_plan()

    def use_checkpoint(self, path: str | Path, twin: str | Path | None = None) -> None:
        """Lesion this app checkpoint and its plain twin's ("Use in…"); Run starts it."""
        self.form.choose_checkpoint(path, twin)
        self.statusMessage.emit("Lesion study: press Run to delete each block of "
                                f"{Path(path).name}" + (" and of its plain twin" if twin else ""))

    def _show_plan(self) -> None:
        request = self.form.value(self.picker.spec(), self.picker.seed())
        self.plan.setText("" if request is None else training_plan(request))
        self.plan.setVisible(bool(self.plan.text()))

    # -- running -------------------------------------------------------------------------------
    def running(self) -> bool:
        return self.job.is_running()

    def start(self) -> bool:
        """Start the study for the chosen nets; False if one runs already or none is chosen."""
        request = self.form.value(self.picker.spec(), self.picker.seed())
        if self.running() or request is None:
            return False
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        self.state.lesion_status = "running"
        self.job.start(run_lesion, request)
        what = training_plan(request) if request.spec else \
            f"lesioning {self.form.model_combo.currentText()}"
        self.statusMessage.emit(f"Lesion study: {what}")
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
