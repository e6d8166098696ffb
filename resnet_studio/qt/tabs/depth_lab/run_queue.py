"""The runs of the experiment shown, one row each with its status and step, and the controls
that change the queue: Cancel run (the selected one; the others go on) and Add run."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.experiment_state import ExperimentState
from resnet_studio.core.common.formatting import duration
from resnet_studio.core.experiments import VARIANT_LABELS, VARIANTS
from resnet_studio.qt.kit.palette import RUN_STATUS
from resnet_studio.qt.tabs.depth_lab.results_view import LEFT, RIGHT, setup_table, table_item


class RunQueue(QWidget):
    cancelRequested = Signal(int)  # cell index
    addRequested = Signal(int, str, int)  # depth, variant, seed

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._has_experiment = False
        self.table = QTableWidget(0, 0)
        setup_table(self.table, ["#", "Run", "Status", "Step", "Train error %", "Test error %",
                                 "Time"], stretch=1)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.cancel_button = QPushButton("Cancel run")
        self.cancel_button.setToolTip("Cancel the selected run (the others go on)")
        self.cancel_button.clicked.connect(self._cancel_selected)
        self.add_depth = QSpinBox(minimum=8, maximum=1202, singleStep=6, value=32)
        self.add_depth.setPrefix("depth ")
        self.add_variant = QComboBox()
        for v in VARIANTS:
            self.add_variant.addItem(VARIANT_LABELS[v], v)
        self.add_seed = QSpinBox(minimum=0, maximum=1000, value=0)
        self.add_seed.setPrefix("seed ")
        self.add_button = QPushButton("Add run")
        self.add_button.setToolTip("Add a net to this experiment (also while it runs)")
        self.add_button.clicked.connect(lambda: self.addRequested.emit(
            self.add_depth.value(), self.add_variant.currentData(), self.add_seed.value()))
        bar = QHBoxLayout()
        bar.addWidget(self.cancel_button)
        bar.addStretch(1)
        for w in (self.add_depth, self.add_variant, self.add_seed, self.add_button):
            bar.addWidget(w)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(bar)

    def show_state(self, state: ExperimentState) -> None:
        """Every run of the shown experiment; the selection stays on the same run."""
        results = state.results
        rows = results.runs if results is not None else []
        selected = self.selected_index()
        self.table.setRowCount(len(rows))
        pct = lambda v: "–" if v is None else f"{100 * v:.2f}"
        for row, r in enumerate(rows):
            step, total = state.step_of(r)
            values = [str(r.index + 1), f"{r.model} seed {r.seed}", r.status,
                      f"{step:,} / {total:,}", pct(r.train_error), pct(r.val_error),
                      duration(r.seconds)]
            for col, text in enumerate(values):
                it = table_item(text, LEFT if col in (1, 2) else RIGHT,
                                RUN_STATUS.get(r.status) if col == 2 else None)
                if col == 0:
                    it.setData(Qt.ItemDataRole.UserRole, r.index)
                self.table.setItem(row, col, it)
            if r.index == selected:
                self.table.selectRow(row)

    def selected_index(self) -> int | None:
        """The cell index of the selected run."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        it = self.table.item(rows[0].row(), 0)
        return None if it is None else it.data(Qt.ItemDataRole.UserRole)

    def set_has_experiment(self, has: bool) -> None:
        self._has_experiment = has
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.cancel_button.setEnabled(self._has_experiment and self.selected_index() is not None)
        self.add_button.setEnabled(self._has_experiment)

    def _cancel_selected(self) -> None:
        index = self.selected_index()
        if index is not None:
            self.cancelRequested.emit(int(index))
