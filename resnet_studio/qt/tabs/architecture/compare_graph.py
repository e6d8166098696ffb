"""Two block graphs side by side: model A on the left, B on the right, stage- and block-aligned,
and between them a lane with one tinted mark per difference (`app.compare_layout` places it
all); the boxes a mark speaks of get a halo of its tint.

The block graph view itself, with a second state for B: zoom, pan, fit, tooltips, the legend
and the PNG/SVG export are `BlockGraphView`'s. Clicking a stage header collapses that stage in
both models, clicking a block lists its layers in both (the rows stay aligned).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSimpleTextItem, QWidget

from resnet_studio.app.compare_layout import (
    B_OFFSET,
    LANE_W,
    LANE_X,
    ComparisonLayout,
    DiffMark,
    layout_comparison,
)
from resnet_studio.app.graph_layout import FRAME_L, FRAME_R, Box, GraphLayout
from resnet_studio.app.graph_state import BlockGraphState
from resnet_studio.core.common.formatting import compact
from resnet_studio.qt.tabs.architecture.block_graph import BlockGraphView
from resnet_studio.qt.tabs.architecture.graph_items import BoxItem
from resnet_studio.qt.tabs.architecture.graph_scene import add_layout_items
from resnet_studio.qt.tabs.architecture.graph_style import INK, WHITE, Fonts, wrap

if TYPE_CHECKING:
    from resnet_studio.core.compare import ModelComparison

TONE_COLORS = {"removed": QColor("#dc2626"), "added": QColor("#16a34a"),
               "changed": QColor("#2563eb"), "shape": QColor("#7c3aed"),
               "only": QColor("#d97706")}
PILL_W = LANE_W - 28
PILL_PAD = 6.0


class DiffPill(QGraphicsItem):
    """A mark in the lane: the differences' phrases in a tinted pill, with a thin line across
    the lane to both columns at that row."""

    def __init__(self, mark: DiffMark, fonts: Fonts):
        super().__init__()
        self.mark, self.fonts = mark, fonts
        self.color = TONE_COLORS[mark.tone]
        self.rows = wrap(mark.lines, fonts.small_fm, PILL_W - 2 * PILL_PAD, indent=8.0)
        self.h = len(self.rows) * (fonts.small_fm.height() + 1) + 2 * PILL_PAD - 2
        self.rect = QRectF(LANE_X - PILL_W / 2, mark.y - self.h / 2, PILL_W, self.h)
        self.setToolTip(mark.tooltip)
        self.setZValue(4)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return QRectF(FRAME_R, self.rect.top() - 2, B_OFFSET + FRAME_L - FRAME_R,
                      self.rect.height() + 4)

    def paint(self, painter: QPainter, option, widget: QWidget | None = None) -> None:
        faint = QColor(self.color)
        faint.setAlpha(110)
        painter.setPen(QPen(faint, 1.2, Qt.PenStyle.DashLine))
        y = self.mark.y
        painter.drawLine(QPointF(FRAME_R - 8, y), QPointF(self.rect.left(), y))
        painter.drawLine(QPointF(self.rect.right(), y), QPointF(B_OFFSET + FRAME_L + 8, y))
        fill = QColor(self.color)
        fill.setAlpha(22)
        painter.setPen(QPen(self.color, 1.4))
        painter.setBrush(WHITE)
        painter.drawRoundedRect(self.rect, 8, 8)
        painter.setBrush(fill)
        painter.drawRoundedRect(self.rect, 8, 8)
        painter.setFont(self.fonts.small)
        painter.setPen(self.color.darker(135))
        lh = self.fonts.small_fm.height() + 1
        top = self.rect.top() + PILL_PAD - 1
        for i, (text, indent) in enumerate(self.rows):
            painter.drawText(QRectF(self.rect.left() + PILL_PAD + indent, top + i * lh,
                                    PILL_W - 2 * PILL_PAD - indent, lh),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)


class BoxHalo(QGraphicsItem):
    """A tinted ring around a box that differs (drawn behind the box)."""

    def __init__(self, box: Box, color: QColor, dx: float):
        super().__init__()
        self.rect = QRectF(box.x + dx - 4, box.y - 4, box.width + 8, box.h + 8)
        self.color = color
        self.setZValue(2.5)

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self.rect.adjusted(-2, -2, 2, 2)

    def paint(self, painter: QPainter, option, widget: QWidget | None = None) -> None:
        fill = QColor(self.color)
        fill.setAlpha(40)
        painter.setPen(QPen(self.color, 2.2))
        painter.setBrush(fill)
        painter.drawRoundedRect(self.rect, 9, 9)


class ComparisonGraphView(BlockGraphView):
    """A's graph (`self.state`) beside B's (`self.state_b`), fed a `ModelComparison`."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.state_b = BlockGraphState()
        self.comparison: ModelComparison | None = None
        self.comparison_layout = ComparisonLayout()
        self._boxes_b: dict[str, BoxItem] = {}

    def set_comparison(self, comparison: ModelComparison) -> None:
        """Show both graphs; a stage collapsed in one model (a deep one) starts collapsed in both."""
        self.comparison = comparison
        self.state.show(comparison.a.graph)
        self.state_b.show(comparison.b.graph)
        collapsed = self.state.collapsed | self.state_b.collapsed
        for state in self._states():
            state.collapsed = collapsed & {s.name for s in state.graph.stages}
        self._rebuild(keep_scroll=False)
        self._initial_view_pending = True
        self._initial_view()

    def set_message(self, text: str) -> None:
        self.comparison = None
        self.state_b.clear()
        super().set_message(text)

    def marks(self) -> list[DiffMark]:
        return self.comparison_layout.marks

    def set_stage_collapsed(self, name: str, collapsed: bool) -> None:
        changed = [state.set_stage_collapsed(name, collapsed) for state in self._states()
                   if name in {s.name for s in state.graph.stages}]
        if any(changed):
            self._rebuild()

    def is_stage_collapsed(self, name: str) -> bool:
        return any(name in state.collapsed for state in self._states())

    def set_node_expanded(self, node_id: str, expanded: bool) -> None:
        changed = [state.set_node_expanded(node_id, expanded) for state in self._states()
                   if node_id in state.nodes]
        if any(changed):
            self._rebuild()

    def is_node_expanded(self, node_id: str) -> bool:
        return any(node_id in state.expanded for state in self._states())

    def _states(self) -> list[BlockGraphState]:
        return [s for s in (self.state, self.state_b) if s.graph is not None]

    # -- building the scene (BlockGraphView's hooks) -----------------------------------------
    def _make_layout(self) -> GraphLayout:
        if self.comparison is None:
            self.comparison_layout = ComparisonLayout()
            return GraphLayout()
        self.comparison_layout = layout_comparison(self.comparison, self.state, self.state_b,
                                                   self._measure)
        # what the legend and `arc_kinds` read: the shortcuts both columns draw
        a, b = self.comparison_layout.a, self.comparison_layout.b
        return GraphLayout(arcs=a.arcs + b.arcs, collapsed_kinds=a.collapsed_kinds | b.collapsed_kinds)

    def _columns(self) -> tuple[float, float]:
        return FRAME_L, FRAME_R + B_OFFSET

    def _add_items(self, layout: GraphLayout) -> None:
        self._boxes_b = {}
        if self.comparison is None:
            return
        cl, f = self.comparison_layout, self._fonts
        self._boxes, self._frames = add_layout_items(self._scene, cl.a, self.state, f,
                                                     self._accent)
        self._boxes_b, _ = add_layout_items(self._scene, cl.b, self.state_b, f, self._accent,
                                            dx=B_OFFSET)
        for mark in cl.marks:
            self._scene.addItem(DiffPill(mark, f))
            for box, dx in ((mark.a_box, 0.0), (mark.b_box, B_OFFSET)):
                if box is not None:
                    self._scene.addItem(BoxHalo(box, TONE_COLORS[mark.tone], dx))
        top = min([b.y for b in cl.a.boxes.values()] or [0.0])
        for side, summary, dx in (("A", self.comparison.a, 0.0), ("B", self.comparison.b,
                                                                   B_OFFSET)):
            self._add_title(f"{side} · {summary.spec.name} · {compact(summary.total_params)} "
                            "params", FRAME_L + dx, top - 34)

    def _add_title(self, text: str, x: float, y: float) -> None:
        font = QFont(self._fonts.title)
        font.setPixelSize(15)
        item = QGraphicsSimpleTextItem(text)
        item.setFont(font)
        item.setBrush(INK)
        item.setPos(x + 4, y)
        self._scene.addItem(item)

    # -- clicks and selection ------------------------------------------------------------------
    def _node_clicked(self, key: str) -> None:
        for state in self._states():
            state.select(key)
        self.set_node_expanded(key, not self.is_node_expanded(key))

    def _apply_selection(self) -> None:
        targets = {state.highlighted() for state in self._states()} - {None}
        for key, box in [*self._boxes.items(), *self._boxes_b.items()]:
            if box.selected != (key in targets):
                box.selected = key in targets
                box.update()
