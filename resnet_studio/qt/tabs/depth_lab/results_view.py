"""The Depth Lab's numbers: the results table (depth x variant over seeds, with the paper's
Table 6 column) and the degradation readout above it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem

from resnet_studio.core.common.formatting import duration
from resnet_studio.core.experiments import ExperimentResults
from resnet_studio.qt.kit.palette import CARD, ERROR, MUTED, OK

INTRO = ("<b>The degradation problem</b> (He et al. 2015): a deeper <i>plain</i> net reaches a "
         "<i>higher training error</i> than a shallower one; with shortcuts it does not. Press "
         "<b>Run experiment</b> for the quick demo (plain and residual nets of depth 20 and 56, "
         "a few minutes on a CPU), or open a stored experiment.")
LEFT, RIGHT = Qt.AlignmentFlag.AlignLeft, Qt.AlignmentFlag.AlignRight


def table_item(text: str, align=RIGHT, colour: str | None = None) -> QTableWidgetItem:
    it = QTableWidgetItem(text)
    it.setTextAlignment(align | Qt.AlignmentFlag.AlignVCenter)
    it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if colour:
        it.setForeground(QColor(colour))
    return it


def setup_table(table: QTableWidget, headers: list[str], stretch: int | None = None) -> None:
    """Read-only rows, sized to their contents (column `stretch` takes the rest)."""
    table.setColumnCount(len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setAlternatingRowColors(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(False)
    if stretch is not None:
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)


def _pm(mean: float | None, std: float | None, runs: int) -> str:
    if mean is None:
        return "–"
    return f"{mean:.2f} ± {std:.2f}" if runs > 1 else f"{mean:.2f}"


class ResultsTable(QTableWidget):
    """One row per depth x variant: final training and test error (mean ± std over seeds)."""

    def __init__(self, parent=None):
        super().__init__(0, 0, parent)
        setup_table(self, ["Model", "Runs", "Train error %", "Test error %", "Params",
                           "Time / run", "Paper: CIFAR-10 test error % (Table 6)"])

    def show_results(self, results: ExperimentResults) -> None:
        self.setRowCount(len(results.summary))
        for row, s in enumerate(results.summary):
            paper = "–" if s.paper_error is None else f"{s.paper_error:.2f}"
            values = [s.model, str(s.runs), _pm(s.train_error, s.train_error_std, s.runs),
                      _pm(s.val_error, s.val_error_std, s.runs), f"{s.params / 1e6:.3f} M",
                      duration(s.seconds), paper]
            for col, text in enumerate(values):
                self.setItem(row, col, table_item(text, LEFT if col == 0 else RIGHT))
        if results.experiment.config.dataset.split(":")[0] != "cifar10":
            self.horizontalHeaderItem(6).setToolTip(
                "He et al. 2015 Table 6 is CIFAR-10 after 64k iterations: a reference, not a "
                "target for this dataset and schedule")
        else:
            self.horizontalHeaderItem(6).setToolTip("He et al. 2015, Table 6 (CIFAR-10)")


class DegradationReadout(QLabel):
    """Deep minus shallow training error per family, and whether that is degradation."""

    def __init__(self, parent=None):
        super().__init__(INTRO, parent, textFormat=Qt.TextFormat.RichText, wordWrap=True,
                         objectName="degradationReadout")
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setStyleSheet(f"QLabel {{ background: {CARD}; border: 1px solid palette(mid); "
                           "border-radius: 4px; padding: 6px; }")  # light or dark
        self.setMinimumHeight(self.fontMetrics().lineSpacing() * 3 + 16)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

    def show_results(self, results: ExperimentResults) -> None:
        lines = [f"<span style='color:{ERROR if d.degrades else OK}'>■</span> {d.line()}"
                 for d in results.degradation]
        if lines:
            lines.insert(0, "<b>Degradation</b> (final training error, deep − shallow):")
        else:
            lines.append(f"<span style='color:{MUTED}'>Degradation readout: appears when two "
                         "depths of a family have finished (deep minus shallow training error, "
                         "paired by seed).</span>")
        self.setText("<br>".join(lines))
