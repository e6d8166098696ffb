"""Architecture tab: the block graph beside the layer table, selection synced both ways."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QSize, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QLabel,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.core.common.formatting import compact, shape_text
from resnet_studio.qt.kit.palette import muted_style
from resnet_studio.qt.kit.stale import Stale
from resnet_studio.qt.kit.tab import TabContext, TabWidget
from resnet_studio.qt.tabs.architecture.block_graph import BlockGraphView
from resnet_studio.qt.tabs.architecture.compare_view import CompareView, compare_button
from resnet_studio.qt.tabs.architecture.layer_table import LayerTable

if TYPE_CHECKING:
    from resnet_studio.core.summary import ModelSummary


# A table this long is filled after the graph has painted: both in one frame would hold the
# window for ~40 ms on a small machine (ResNet-1202: 3,607 rows).
DEFERRED_TABLE_ROWS = 1000


class SteadyLabel(QLabel):
    """A word-wrapped line beside the graph that keeps its tallest height while its width
    stays: a shorter text (cleared while the next model is inspected, "estimating…" until
    its estimate arrives) would resize the graph and the table, which repaints both — for
    ResNet-1202's a stall of tens of ms on the GUI thread each time."""

    def __init__(self, **kwargs):
        super().__init__(wordWrap=True, **kwargs)
        self._held: dict[int, int] = {}  # width asked about -> the tallest height at it

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt)
        self._held[width] = max(super().heightForWidth(width), self._held.get(width, 0))
        return self._held[width]

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt)
        if event.size().width() != event.oldSize().width():  # a dragged splitter: start afresh
            self._held.clear()
        super().resizeEvent(event)


class ArchitectureTab(TabWidget):
    """The model picked in the sidebar: a headline, the block graph and the layer table.
    The window inspects the model (app.summary.inspect_model) and hands it to `model_changed`;
    the tab runs no work of its own."""

    title = "Architecture"

    def __init__(self, context: TabContext | None = None, parent: QWidget | None = None):
        super().__init__(context, parent)
        self.summary: ModelSummary | None = None  # the model shown
        self.graph = BlockGraphView()
        self.table = LayerTable(memory=True)
        self.memory_line = SteadyLabel(styleSheet=muted_style())
        self.table.memory_bar.estimated.connect(self._memory_estimated)
        self.table.memory_bar.bind(self.context.settings)
        self.headline = QLabel(objectName="headline", textFormat=Qt.TextFormat.RichText)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        tools = QToolBar("Graph", iconSize=QSize(16, 16))
        self.actions: dict[str, QAction] = {}
        for key, text, tip, slot in [
            ("fit", "Fit", "Fit the whole graph in view (double-click background)", self.graph.fit),
            # short labels: at 1280 px wide the graph's column must show every tool, Compare too
            ("zoom_in", "+", "Zoom in (mouse wheel)", self.graph.zoom_in),
            ("zoom_out", "−", "Zoom out (mouse wheel)", self.graph.zoom_out),
            ("collapse", "Collapse", "Collapse stages: each stage as one ×N box",
             lambda: self.set_all_stages(True)),
            ("expand", "Expand", "Expand stages: show every block",
             lambda: self.set_all_stages(False)),
        ]:
            action = tools.addAction(text, slot)
            action.setToolTip(tip)
            self.actions[key] = action
        self.compare_button = compare_button(self, self.compare_with)
        tools.addWidget(self.compare_button)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(tools)
        left_layout.addWidget(self.graph, 1)
        left_layout.addWidget(self.memory_line)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.table)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([470, 710])  # the graph is a narrow column; the table needs room

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.headline)
        self.compare_view = CompareView()
        self.compare_view.closed.connect(lambda: self.pages.setCurrentWidget(self.splitter))
        self.pages = QStackedWidget()  # the model's graph and table, or the comparison
        self.pages.addWidget(self.splitter)
        self.pages.addWidget(self.compare_view)
        layout.addWidget(self.pages, 1)

        self.graph.nodeClicked.connect(self._node_clicked)
        self.table.layersSelected.connect(self._layers_selected)
        # the last model stays beneath, greyed, while the next one is inspected
        self.graph_stale = Stale(self.graph)
        self.table_stale = Stale(self.table)
        self.set_message("Inspecting the model…")

    def model_pending(self, name: str) -> None:
        """The window started inspecting `name`: what is shown is no longer the model picked,
        so the graph and table grey at once and the headline names the one on its way."""
        text = f"Inspecting {name}…"
        if self.summary is None:
            self.set_message(text)
            return
        self.graph_stale.show(text)
        self.table_stale.show(text)
        self.memory_line.clear()  # the last model's memory and receptive field
        self.headline.setText(f"<span style='{muted_style()}'>{html.escape(text)} (greyed: "
                              f"{html.escape(self.summary.spec.name)}, the last model)</span>")
        # painted now, before the window starts the inspection: that worker holds the GIL
        # most of the time, and this paint calls Python for every table cell and graph item.
        # What showing the veils posts comes first (their text placed, their deferred update),
        # else they are painted a second time, then under the worker.
        for posted in (QEvent.Type.LayoutRequest, QEvent.Type.UpdateLater):
            QCoreApplication.sendPostedEvents(None, posted)
        self.repaint()

    def is_pending(self) -> bool:
        return self.graph_stale.is_shown()

    def set_message(self, text: str) -> None:
        self.summary = None
        self.graph_stale.hide()
        self.table_stale.hide()
        self.table.clear()  # no row may pass for the model the message is about
        self.graph.set_message(text)
        self.headline.setText(f"<span style='{muted_style()}'>{html.escape(text)}</span>")

    def set_summary(self, summary: ModelSummary) -> None:
        self.summary = summary
        self.graph_stale.hide()
        spec = summary.spec
        kind = "plain (no shortcuts)" if spec.plain else f"shortcut {spec.shortcut}" + (
            f" (α={spec.shortcut_scale:g})" if spec.shortcut_scale != 1.0 else "")
        self.headline.setText(
            f"<b style='font-size:15px'>{spec.name}</b> &nbsp; {spec.depth} weighted layers · "
            f"{spec.block} blocks · {kind}{' · pre-activation' if spec.preact else ''} · "
            f"<b>{compact(summary.total_params)}</b> params ({summary.total_params:,}) · "
            f"<b>{compact(summary.total_macs)}</b> MACs · input {shape_text(summary.input_shape)}"
            f" → {shape_text(summary.output_shape)}")
        # the message while the next model is inspected is a smaller line: were the headline
        # to shrink, the graph and table would be resized and repainted (see SteadyLabel)
        self.headline.setMinimumHeight(self.headline.sizeHint().height())
        self.graph.set_graph(summary.graph)
        if len(summary.layers) <= DEFERRED_TABLE_ROWS:
            self._fill_table(summary)
        else:  # the graph and headline paint first; the long table (still greyed) next turn
            QTimer.singleShot(0, lambda: self.summary is summary and self._fill_table(summary))

    def _fill_table(self, summary: ModelSummary) -> None:
        self.table.set_summary(summary)
        self.table_stale.hide()

    def model_changed(self, summary: ModelSummary) -> None:
        self.set_summary(summary)
        if self.pages.currentWidget() is self.compare_view:
            self.compare_view.compare_model(summary)

    def compare_with(self, other: str) -> None:
        """Show the model beside `other`: a preset, a spec file, or "plain" (its plain twin)."""
        self.pages.setCurrentWidget(self.compare_view)
        self.compare_view.other = other
        if self.summary is not None:
            self.compare_view.compare_model(self.summary)

    def _memory_estimated(self, _report) -> None:
        self.memory_line.setText(self.table.memory_bar.message())

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        return self.table.memory_bar.shutdown(timeout_ms)

    def set_all_stages(self, collapsed: bool) -> None:
        if self.summary is None:
            return
        for stage in self.summary.graph.stages:
            self.graph.set_stage_collapsed(stage.name, collapsed)

    def _node_clicked(self, node_id: str) -> None:
        if self.summary is not None:
            self.table.select_layers(list(self.summary.graph.node(node_id).layers))

    def _layers_selected(self, names: list[str]) -> None:
        if self.summary is None or not names:
            return
        node_id = self.summary.graph.node_of_layer(names[0])
        if node_id:
            self.graph.select_node(node_id)

