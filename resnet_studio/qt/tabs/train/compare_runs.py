"""The selected runs side by side (`app.run_comparison.compare_runs`): final metrics, model and
training settings, one column per run; rows whose values differ are bold, and can be shown
alone."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.run_comparison import RunComparison
from resnet_studio.core.common.files import write_text_atomic
from resnet_studio.qt.kit.palette import MUTED


class RunComparisonDialog(QDialog):
    def __init__(self, comparison: RunComparison, parent: QWidget | None = None):
        super().__init__(parent)
        self.comparison = comparison
        self.setWindowTitle(f"Compare {len(comparison.ids)} runs")
        self.table = QTableWidget(0, 1 + len(comparison.names))
        self.table.setHorizontalHeaderLabels(["", *comparison.names])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.only_differences = QCheckBox("Only rows that differ")
        self.only_differences.toggled.connect(self._fill)
        export = QPushButton("Export CSV…")
        export.clicked.connect(self._export)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        bar = QHBoxLayout()
        bar.addWidget(self.only_differences)
        bar.addStretch(1)
        bar.addWidget(export)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self._fill()
        self.resize(min(1100, 260 + 180 * len(comparison.names)), 640)

    def _fill(self) -> None:
        only = self.only_differences.isChecked()
        rows = [r for r in self.comparison.rows if r.differs or not only]
        self.table.setRowCount(0)
        section = None
        bold = QFont(self.font())
        bold.setBold(True)
        for r in rows:
            if r.section != section:  # a header row per section
                section = r.section
                head = QTableWidgetItem(section)
                head.setFont(bold)
                head.setForeground(self.palette().highlight())
                self._append([head])
            cells = [QTableWidgetItem(r.label), *(QTableWidgetItem(v) for v in r.values)]
            for cell in cells:
                if r.differs:
                    cell.setFont(bold)
                else:
                    cell.setForeground(QColor(MUTED))
            self._append(cells)
        self.table.resizeColumnsToContents()

    def _append(self, cells: list[QTableWidgetItem]) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for col, cell in enumerate(cells):
            self.table.setItem(row, col, cell)

    def row_values(self, label: str) -> list[str]:
        """The cells of the row labelled `label` as shown (KeyError if it is not shown)."""
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).text() == label and self.table.item(row, 1):
                return [self.table.item(row, c).text() for c in range(1, self.table.columnCount())]
        raise KeyError(label)

    def _export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export comparison", "runs.csv",
                                              "CSV (*.csv)")
        if path:
            try:
                write_text_atomic(path, self.comparison.to_csv())
            except OSError as e:
                QMessageBox.warning(self, "Export failed", f"{path}\n\n{e}")
