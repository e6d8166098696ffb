"""The Architecture tab's comparison page: the sidebar's model (A) beside a second one (B), as
`resnet-studio compare` reports it: both block graphs stage-aligned with the differences marked,
and the per-part table of params / MACs / memory with the deltas. Exports: the graph as PNG or
SVG, the comparison as CSV or JSON (the command's bytes).

The comparison (`app.compare.compare_models`) runs in a background `LatestJob`: the window never
waits for it, and a newer request (another model picked) supersedes an older one.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.compare import (
    PLAIN_TWIN,
    TABLE_COLUMNS,
    headline,
    inputs_text,
    table_rows,
    write_comparison_csv,
    write_comparison_json,
)
from resnet_studio.app.compare_layout import TONE_TEXT
from resnet_studio.core.zoo import PRESETS
from resnet_studio.qt.kit.job import LatestJob
from resnet_studio.qt.kit.palette import ERROR, muted_style
from resnet_studio.qt.tabs.architecture.compare_graph import TONE_COLORS, ComparisonGraphView

if TYPE_CHECKING:
    from resnet_studio.core.compare import ModelComparison
    from resnet_studio.core.spec import ArchSpec
    from resnet_studio.core.summary import ModelSummary, Shape

EXPORTS = {"png": "Graph as PNG…", "svg": "Graph as SVG…", "csv": "Table as CSV…",
           "json": "Comparison as JSON…"}


def _compare(spec: ArchSpec, other: str | ArchSpec, input_shape: Shape | None, progress=None):
    from resnet_studio.app.compare import compare_models, resolve_pair

    return compare_models(*resolve_pair(spec, other), input_shape, progress=progress)


def compare_button(parent: QWidget, pick) -> QToolButton:
    """*Compare with…*: its plain twin, every preset by family, or a spec file, each calling
    `pick(name_or_path)`."""
    button = QToolButton(parent, text="Compare with…", toolTip="This model beside another one "
                         "(or its plain twin), the differences marked")
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    menu = QMenu(button)
    menu.addAction("Its plain twin (no shortcuts)", lambda: pick(PLAIN_TWIN))
    menu.addSeparator()
    families: dict[str, QMenu] = {}
    for name, preset in PRESETS.items():
        if preset.family not in families:
            families[preset.family] = menu.addMenu(preset.family)
        families[preset.family].addAction(name, lambda n=name: pick(n))
    menu.addSeparator()

    def open_file() -> None:
        path, _ = QFileDialog.getOpenFileName(parent, "Compare with a spec", str(Path.home()),
                                              "Spec JSON (*.json)")
        if path:
            pick(path)

    menu.addAction("Spec file…", open_file)
    button.setMenu(menu)
    return button


class CompareView(QWidget):
    """Header, side-by-side graph and table; `compare(spec, other)` fills it."""

    closed = Signal()  # the user closed the comparison
    comparisonShown = Signal(object)  # ModelComparison, once drawn
    comparisonFailed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.comparison: ModelComparison | None = None
        self.other: str | ArchSpec = PLAIN_TWIN  # what B was asked as ("plain": A's twin)
        # no word wrap: a wrapping label makes the tab's scroll area size it by height-for-width
        self.headline = QLabel(textFormat=Qt.TextFormat.RichText)
        # a long line is cut at the tab's edge rather than widening the tab
        self.headline.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.graph = ComparisonGraphView()
        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(list(TABLE_COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)

        self.export_button = QToolButton(text="Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        export_menu = QMenu(self.export_button)
        for kind, text in EXPORTS.items():
            export_menu.addAction(text, lambda k=kind: self.export_dialog(k))
        self.export_button.setMenu(export_menu)
        self.close_button = QToolButton(text="Close")
        self.close_button.setToolTip("Back to the model's own graph and layer table")
        self.close_button.clicked.connect(self.closed)
        fit = QToolButton(text="Fit")
        fit.setToolTip("Fit both graphs in view (double-click the background)")
        fit.clicked.connect(self.graph.fit)

        top = QHBoxLayout()
        top.addWidget(self.headline, 1)
        for w in (fit, self.export_button, self.close_button):
            top.addWidget(w, 0, Qt.AlignmentFlag.AlignTop)
        self.splitter = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=False)
        self.splitter.addWidget(self.graph)
        self.splitter.addWidget(self.table)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([420, 215])  # the table's seven rows or so stay in view
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)

        self.job = LatestJob(self, title="Architecture: comparing two models")
        self.job.bind(succeeded=self.set_comparison, failed=self._failed)
        self.export_button.setEnabled(False)

    def compare(self, spec: ArchSpec, other: str | ArchSpec,
                input_shape: Shape | None = None) -> None:
        """Compare `spec` (A) with `other` (B: a preset, a spec file, a spec, or "plain") in
        the background; each at its own input, or both at `input_shape`."""
        self.other = other
        b = "its plain twin" if other == PLAIN_TWIN else getattr(other, "name", str(other))
        self.set_message(f"Comparing {spec.name} with {b}…")
        self.job.start(_compare, spec, other, input_shape)

    def compare_model(self, summary: ModelSummary, other: str | ArchSpec | None = None) -> None:
        """Compare the inspected model (A) with `other` (None: the last one asked): each at its
        own input, or both at the input the user typed for A."""
        shape = None if summary.input_shape == summary.spec.default_input else summary.input_shape
        self.compare(summary.spec, self.other if other is None else other, shape)

    def set_message(self, text: str, error: bool = False) -> None:
        self.comparison = None
        self.graph.set_message(text)
        self.table.setRowCount(0)
        style = f"color: {ERROR};" if error else muted_style()
        self.headline.setText(f"<span style='{style}'>{html.escape(text)}</span>")
        self.export_button.setEnabled(False)

    def set_comparison(self, comparison: ModelComparison) -> None:
        self.comparison = comparison
        name_a, name_b = (html.escape(n) for n in comparison.names)
        self.graph.set_comparison(comparison)
        legend = " &nbsp; ".join(
            f"<nobr><span style='color:{TONE_COLORS[t].name()}'>■</span> {TONE_TEXT[t]}</nobr>"
            for t in self.graph.comparison_layout.tones())
        self.headline.setText(
            f"<b style='font-size:15px'>A: {name_a} &nbsp;vs&nbsp; B: {name_b}</b> &nbsp; "
            f"<span style='{muted_style()}'>{html.escape(inputs_text(comparison))}</span><br>"
            f"{html.escape(headline(comparison))}<br>{legend} &nbsp; "
            f"<span style='{muted_style()}'>memory = saved activations, fp32, batch "
            f"{comparison.memory_batch}</span>")
        self._fill_table(comparison)
        self.export_button.setEnabled(True)
        self.comparisonShown.emit(comparison)

    def _fill_table(self, comparison: ModelComparison) -> None:
        rows, with_share = table_rows(comparison, share=False), table_rows(comparison)
        self.table.setRowCount(len(rows))
        name_a, name_b = comparison.names
        for c, title in enumerate(TABLE_COLUMNS):
            item = QTableWidgetItem(title)
            item.setToolTip(title.replace(" A", f" of {name_a}").replace(" B", f" of {name_b}")
                            .replace("Δ ", "B − A: "))
            self.table.setHorizontalHeaderItem(c, item)
        bold = QFont(self.table.font())
        bold.setBold(True)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                if 0 < c < len(row) - 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                if r == len(rows) - 1 or (TABLE_COLUMNS[c].startswith("Δ") and text != "0"):
                    item.setFont(bold)
                item.setToolTip(with_share[r][c])
                self.table.setItem(r, c, item)
        self.table.resizeRowsToContents()
        # the table as tall as its rows (a stage-rich net has more), the graph takes the rest
        header = self.table.horizontalHeader().height()
        want = header + sum(self.table.rowHeight(r) for r in range(len(rows))) + 2 * \
            self.table.frameWidth() + self.table.horizontalScrollBar().sizeHint().height()
        total = sum(self.splitter.sizes())
        if total > 2 * want:
            self.splitter.setSizes([total - want, want])

    def _failed(self, message: str) -> None:
        self.set_message(message[:1].upper() + message[1:], error=True)  # it says what failed
        self.comparisonFailed.emit(message)

    # -- exports ------------------------------------------------------------------------------
    def export(self, kind: str, path: str | Path) -> None:
        """png | svg: the side-by-side graph; csv | json: the comparison, as `compare --csv /
        --json` writes it. OSError when nothing is shown or the file cannot be written."""
        if self.comparison is None:
            raise OSError("nothing to export: no comparison is shown")
        {"png": self.graph.export_png, "svg": self.graph.export_svg,
         "csv": lambda p: write_comparison_csv(self.comparison, p),
         "json": lambda p: write_comparison_json(self.comparison, p)}[kind](path)

    def export_dialog(self, kind: str) -> None:
        if self.comparison is None:
            return
        name = "-vs-".join(self.comparison.names)
        path, _ = QFileDialog.getSaveFileName(self, f"Export {kind.upper()}",
                                              str(Path.home() / f"{name}.{kind}"),
                                              f"{kind.upper()} (*.{kind})")
        if not path:
            return
        try:
            self.export(kind, path)
        except OSError as e:
            QMessageBox.warning(self, "Export failed", f"{path}\n\n{e}")
