"""The layer table's training-memory controls: batch, precision, optimiser and a budget; the
estimate (app.summary.estimate_memory: meta tensors, about 0.1 s) runs in the background after
each change and fills the table's "Saved" column and the line under the graph.

Imports no torch: the estimate loads it in the worker."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QSpinBox, QWidget

from resnet_studio.app.summary import MemoryReport, estimate_memory
from resnet_studio.core.common.budget import size_text
from resnet_studio.core.summary import ModelSummary
from resnet_studio.core.training_memory import MAX_BATCH
from resnet_studio.qt.kit.job import LatestJob
from resnet_studio.qt.kit.settings import Settings

PRECISIONS = {"float32": "fp32", "bf16 autocast": "bf16"}
OPTIMIZERS = {"SGD momentum": "sgd", "AdamW": "adamw"}
SETTINGS = "architecture/memory"


class MemoryBar(QWidget):
    """Emits `estimated` with each new `MemoryReport` (None while none holds: a new model, a
    refused request); `message()` is the line for under the graph."""

    estimated = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.summary: ModelSummary | None = None
        self._asked: ModelSummary | None = None  # the summary the running estimate is for
        self.report: MemoryReport | None = None
        self._error = ""
        self.batch = QSpinBox(minimum=1, maximum=min(MAX_BATCH, 2**31 - 1), value=64)
        self.batch.setToolTip("Batch size of the training step the 'Saved' column describes")
        self.batch.setMaximumWidth(self.fontMetrics().horizontalAdvance("1,000,000") + 40)
        self.precision = QComboBox()
        self.precision.addItems(list(PRECISIONS))
        self.precision.setToolTip("bf16 autocast keeps float32 weights and saves bf16 activations")
        self.optimizer = QComboBox()
        self.optimizer.addItems(list(OPTIMIZERS))
        self.optimizer.setToolTip("Optimiser state: SGD keeps one momentum buffer per weight, "
                                  "AdamW two")
        self.budget = QLineEdit(placeholderText="budget: 8GiB")
        self.budget.setToolTip("A memory budget (8GiB, 16GB, 500MB): the line under the graph "
                               "names the largest batch whose training step fits in it")
        self.budget.setClearButtonEnabled(True)
        self.budget.setMaximumWidth(self.fontMetrics().horizontalAdvance("budget: 8GiB") + 36)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Memory at batch"))
        for w in (self.batch, self.precision, self.optimizer, self.budget):
            row.addWidget(w)
        row.addStretch(1)

        self.job = LatestJob(self)
        self.job.succeeded.connect(self._estimated)
        self.job.failed.connect(self._failed)
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self.recompute)
        self.batch.valueChanged.connect(self.schedule)
        self.precision.currentIndexChanged.connect(self.schedule)
        self.optimizer.currentIndexChanged.connect(self.schedule)
        self.budget.editingFinished.connect(self.schedule)

    def bind(self, settings: Settings) -> None:
        """Restore the last batch, precision, optimiser and budget, and remember each change."""
        self.batch.setValue(int(settings.value(f"{SETTINGS}/batch", self.batch.value()) or 64))
        for combo, key in ((self.precision, "precision"), (self.optimizer, "optimizer")):
            index = combo.findText(settings.text(f"{SETTINGS}/{key}"))
            combo.setCurrentIndex(max(index, 0))
        self.budget.setText(settings.text(f"{SETTINGS}/budget"))
        self.batch.valueChanged.connect(lambda v: settings.set_value(f"{SETTINGS}/batch", v))
        self.precision.currentTextChanged.connect(
            lambda t: settings.set_value(f"{SETTINGS}/precision", t))
        self.optimizer.currentTextChanged.connect(
            lambda t: settings.set_value(f"{SETTINGS}/optimizer", t))
        self.budget.editingFinished.connect(
            lambda: settings.set_value(f"{SETTINGS}/budget", self.budget.text().strip()))

    def set_summary(self, summary: ModelSummary | None) -> None:
        self.summary, self.report, self._error = summary, None, ""
        self.estimated.emit(None)
        self.schedule()

    def schedule(self) -> None:
        self._debounce.start()

    def recompute(self) -> None:
        if self.summary is None:
            return
        self._asked = self.summary
        self.job.start(estimate_memory, self.summary, self.batch.value(),
                       precision=PRECISIONS[self.precision.currentText()],
                       optimizer=OPTIMIZERS[self.optimizer.currentText()],
                       budget=self.budget.text().strip() or None)

    def _estimated(self, report: MemoryReport) -> None:
        if self._asked is not self.summary:  # an estimate for the model shown before
            return
        self.report, self._error = report, ""
        self.estimated.emit(report)

    def _failed(self, line: str) -> None:
        if self._asked is not self.summary:
            return
        self.report, self._error = None, line
        self.estimated.emit(None)

    def message(self) -> str:
        """One line: the step's peak and what holds it, the largest batch for the budget,
        and what the last layer before the pooling sees."""
        s = self.summary
        if s is None:
            return ""
        fields = [r for r in s.layers if r.rf is not None]
        sees = (f" · last layer sees {fields[-1].rf}×{fields[-1].rf} px, stride "
                f"{fields[-1].jump}") if fields else ""
        if self._error:
            return f"Training memory: {self._error}{sees}"
        if self.report is None:
            return f"Training memory: estimating…{sees}"
        m, r = self.report.memory, self.report
        fits = ""
        if r.budget is not None:
            fits = (f" · in {size_text(r.budget)}: batch {r.largest_batch:,}"
                    if r.largest_batch else f" · {size_text(r.budget)}: not even batch 1")
        return (f"Training at batch {m.batch_size:,}: peak ≈ {size_text(m.total)} "
                f"(saved activations {size_text(m.activations)}, weights + gradients + "
                f"optimizer {size_text(m.parameters + m.gradients + m.optimizer_state)})"
                f"{fits}{sees}")

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        self._debounce.stop()
        self.job.cancel()
        return self.job.wait(timeout_ms)


__all__ = ["OPTIMIZERS", "PRECISIONS", "MemoryBar"]
