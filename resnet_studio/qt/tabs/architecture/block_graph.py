"""The Architecture tab's block graph: input → stem → stages of residual blocks → head → output.

One rounded box per node, data flowing top to bottom, every residual shortcut an arc on the
right of its block ending in a ⊕, styled by type (see `graph_style`); a plain block gets a
faint red "cut" stub instead. Stages are framed and can be collapsed into one ×N box (deep nets
start collapsed). Wheel zooms around the cursor, dragging pans, clicking a block lists its
layers, clicking a stage header collapses it.

What is shown lives in a Qt-free `BlockGraphState` (`app.graph_state`); where things go comes
from `app.graph_layout`; this view turns the layout into scene items (`graph_items`) and handles
the mouse, zoom and export. Imports no torch and no inspector: it reads a `BlockGraph`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QPainter
from PySide6.QtWidgets import QApplication, QGraphicsScene, QGraphicsView, QWidget

from resnet_studio.app.graph_layout import (
    FRAME_L,
    FRAME_R,
    MARGIN,
    Box,
    GraphLayout,
    layout_graph,
)
from resnet_studio.app.graph_state import COLLAPSE_OVER, BlockGraphState
from resnet_studio.qt.tabs.architecture.graph_export import write_png, write_svg
from resnet_studio.qt.tabs.architecture.graph_items import (
    BoxItem,
    StageFrame,
    box_height,
    legend_size,
    paint_legend,
)
from resnet_studio.qt.tabs.architecture.graph_scene import add_layout_items
from resnet_studio.qt.tabs.architecture.graph_style import BACKGROUND, MUTED, Fonts, accent_color

if TYPE_CHECKING:
    from resnet_studio.core.summary import BlockGraph

__all__ = ["COLLAPSE_OVER", "BlockGraphView"]


class BlockGraphView(QGraphicsView):
    """Interactive block graph of one ResNet. Fed a `BlockGraph` through `set_graph`; what it
    shows is `self.state`. Every method runs on the GUI thread."""

    nodeClicked = Signal(str)  # noqa: N815 (Qt naming) — a node box was clicked (user only)
    stageToggled = Signal(str, bool)  # noqa: N815 — a stage was (un)collapsed by a click

    ZOOM_MIN, ZOOM_MAX = 0.03, 4.0

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing
                            | QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        # the legend is painted in viewport coordinates: repaint fully instead of blitting
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setBackgroundBrush(BACKGROUND)
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.setMinimumSize(QSize(200, 200))
        self.state = BlockGraphState()
        self.graph_layout = GraphLayout()  # where everything went, for the last rebuild
        self._fonts = Fonts.from_font(self.font())
        self._accent = accent_color(self)
        self._boxes: dict[str, BoxItem] = {}  # node id or collapsed stage -> its box item
        self._frames: dict[str, StageFrame] = {}
        self._press_pos: QPointF | None = None
        self._initial_view_pending = False

    # -- public API ------------------------------------------------------------------------
    def set_graph(self, graph: BlockGraph | None) -> None:
        """Show `graph` (None clears). Stages with more than COLLAPSE_OVER blocks start
        collapsed; expanded boxes and the selection are reset."""
        if graph is None:
            self.clear()
            return
        self.state.show(graph)
        self._rebuild(keep_scroll=False)
        self._initial_view_pending = True
        self._initial_view()

    def graph(self) -> BlockGraph | None:
        return self.state.graph

    def clear(self) -> None:
        """An empty scene (no graph, no message)."""
        self.state.clear()
        self._rebuild(keep_scroll=False)

    def set_message(self, text: str) -> None:
        """Replace the graph by a centred placeholder text ("Loading PyTorch…", an error)."""
        self.state.clear(text)
        self._rebuild(keep_scroll=False)

    def message(self) -> str:
        return self.state.message

    def set_stage_collapsed(self, name: str, collapsed: bool) -> None:
        """Collapse a stage into one box (or expand it). Emits nothing."""
        if self.state.set_stage_collapsed(name, collapsed):
            self._rebuild()

    def is_stage_collapsed(self, name: str) -> bool:
        return name in self.state.collapsed

    def set_node_expanded(self, node_id: str, expanded: bool) -> None:
        """List (or hide) the inner layers of a node inside its box. Emits nothing."""
        if self.state.set_node_expanded(node_id, expanded):
            self._rebuild()

    def is_node_expanded(self, node_id: str) -> bool:
        return node_id in self.state.expanded

    def select_node(self, node_id: str | None) -> None:
        """Highlight a node (or, inside a collapsed stage, its stage box) and scroll it into
        view. None or an unknown id clears the highlight. Emits nothing."""
        self.state.select(node_id)
        self._apply_selection()
        item = self._boxes.get(self.state.highlighted())
        if item is not None:
            self.ensureVisible(item.sceneBoundingRect(), 40, 40)

    def selected_node(self) -> str | None:
        return self.state.selected

    def highlighted(self) -> str | None:
        """Key of the box drawn highlighted: the selected node's id, or the name of the
        collapsed stage that hides it; None when nothing is selected."""
        return self.state.highlighted()

    def visible_node_ids(self) -> list[str]:
        """Ids of the nodes drawn as their own box, top to bottom."""
        return list(self.graph_layout.boxes)

    def node_rect(self, node_id: str) -> QRectF | None:
        """Scene rectangle of a node's box (None when hidden in a collapsed stage)."""
        box = self.graph_layout.boxes.get(node_id)
        return QRectF(box.x, box.y, box.width, box.h) if box is not None else None

    def stage_rect(self, name: str) -> QRectF | None:
        """Scene rectangle of a stage's frame."""
        frame = self._frames.get(name)
        return QRectF(frame.rect) if frame is not None else None

    def shortcuts(self) -> list[tuple[str, str]]:
        """(owner, kind) per drawn shortcut marker, top to bottom: owner is a block id or, for
        a collapsed stage, the stage name; kind is identity | zero_pad | projection | none."""
        return self.graph_layout.shortcuts()

    def arc_kinds(self) -> list[str]:
        """Kinds of the shortcut arcs drawn (plain blocks' "none" stubs are not arcs)."""
        return [kind for _, kind in self.shortcuts() if kind != "none"]

    def item_count(self) -> int:
        return len(self._scene.items())

    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_in(self) -> None:
        self._zoom_by(1.25, anchor_center=True)

    def zoom_out(self) -> None:
        self._zoom_by(1 / 1.25, anchor_center=True)

    def reset_zoom(self) -> None:
        """1:1 (one scene unit per pixel), keeping the centre."""
        center = self.mapToScene(self.viewport().rect().center())
        self.resetTransform()
        self.centerOn(center)

    def fit(self) -> None:
        """Fit the whole graph in the view (never magnified beyond 1:1)."""
        rect = self._scene.sceneRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.0:
            self.resetTransform()
            self.centerOn(rect.center())

    # -- export ----------------------------------------------------------------------------
    def export_png(self, path: str | Path, scale: float = 2.0) -> None:
        """The whole graph (not just what is visible) as a PNG on white, with the legend;
        written atomically. Raises OSError when there is no graph or no such folder."""
        write_png(self._render_export, self._export_rect(), path, scale)

    def export_svg(self, path: str | Path) -> None:
        """The whole graph as an SVG (vector, text stays text), with the legend; written
        atomically. Raises OSError when there is no graph or no such folder."""
        write_svg(self._render_export, self._export_rect(), path)

    def _export_rect(self) -> QRectF:
        if self.state.graph is None or not self._boxes:
            raise OSError("nothing to export: no graph is shown")
        return self._scene.sceneRect()

    def _render_export(self, painter: QPainter, target: QRectF, source: QRectF) -> None:
        painter.setRenderHints(QPainter.RenderHint.Antialiasing
                               | QPainter.RenderHint.TextAntialiasing)
        self._scene.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)
        s = target.width() / source.width()
        painter.save()
        painter.scale(s, s)
        paint_legend(painter, QRectF(0, 0, source.width(), source.height()),
                     self.graph_layout.legend_kinds(), self._fonts)
        painter.restore()

    # -- building the scene ----------------------------------------------------------------
    def _rebuild(self, keep_scroll: bool = True) -> None:
        h, v = self.horizontalScrollBar().value(), self.verticalScrollBar().value()
        self._scene.clear()
        self.graph_layout = self._make_layout()
        self._boxes, self._frames = {}, {}
        self._add_items(self.graph_layout)
        if self.state.graph is not None:
            r = self._scene.itemsBoundingRect()
            left, right = self._columns()
            # room on the right for the legend, so that it covers nothing at the first zoom
            legend_w = legend_size(self.graph_layout.legend_kinds(), self._fonts).width() + 16
            self._scene.setSceneRect(QRectF(left - MARGIN, r.top() - MARGIN,
                                            right - left + 2 * MARGIN + legend_w,
                                            r.height() + 2 * MARGIN))
            self._apply_selection()
        else:
            self._scene.setSceneRect(QRectF(0, 0, 1, 1))
        if keep_scroll:
            self.horizontalScrollBar().setValue(h)
            self.verticalScrollBar().setValue(v)
        self.viewport().update()

    def _measure(self, box: Box) -> float:
        return box_height(box, self._fonts)

    def _make_layout(self) -> GraphLayout:
        return layout_graph(self.state, self._measure)

    def _columns(self) -> tuple[float, float]:
        """Left and right scene x of what is drawn (the legend goes right of it)."""
        return FRAME_L, FRAME_R

    def _add_items(self, layout: GraphLayout) -> None:
        self._boxes, self._frames = add_layout_items(self._scene, layout, self.state,
                                                     self._fonts, self._accent)

    # -- selection and view state ----------------------------------------------------------
    def _apply_selection(self) -> None:
        target = self.state.highlighted()
        for key, box in self._boxes.items():
            if box.selected != (key == target):
                box.selected = key == target
                box.update()

    def _initial_view(self) -> None:
        """Fit the width (at most 1:1) and show the top of the graph."""
        if (not self._initial_view_pending or not self.isVisible()
                or self.viewport().width() < 50):
            return  # done on the first show / resize instead
        self._initial_view_pending = False
        rect = self._scene.sceneRect()
        s = min(1.0, (self.viewport().width() - 2) / max(rect.width(), 1))
        self.resetTransform()
        self.scale(s, s)
        self.centerOn(rect.center().x(), rect.top() + self.viewport().height() / (2 * s))

    def _zoom_by(self, factor: float, anchor_center: bool = False) -> None:
        z = self.zoom()
        factor = max(self.ZOOM_MIN / z, min(self.ZOOM_MAX / z, factor))
        if abs(factor - 1) < 1e-6:
            return
        if anchor_center:
            old = self.transformationAnchor()
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
            self.scale(factor, factor)
            self.setTransformationAnchor(old)
        else:
            self.scale(factor, factor)

    # -- Qt overrides ----------------------------------------------------------------------
    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        super().drawForeground(painter, rect)
        painter.save()
        painter.resetTransform()
        vp = QRectF(self.viewport().rect())
        if self.state.message:
            font = QFont(self._fonts.body)
            font.setPixelSize(15)
            painter.setFont(font)
            painter.setPen(MUTED)
            painter.drawText(vp.adjusted(20, 20, -20, -20),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.state.message)
        elif self.state.graph is not None:
            paint_legend(painter, vp, self.graph_layout.legend_kinds(), self._fonts)
        painter.restore()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._initial_view()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self._initial_view()

    def wheelEvent(self, event) -> None:  # noqa: N802
        delta = event.angleDelta().y() or event.angleDelta().x()
        if not delta:
            event.ignore()
            return
        self._zoom_by(math.pow(1.0015, delta))
        event.accept()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_in()
        elif key == Qt.Key.Key_Minus:
            self.zoom_out()
        elif key == Qt.Key.Key_0:
            self.reset_zoom()
        elif key == Qt.Key.Key_F:
            self.fit()
        else:
            super().keyPressEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self._press_pos = (event.position() if event.button() == Qt.MouseButton.LeftButton
                           else None)
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        super().mouseReleaseEvent(event)
        press, self._press_pos = self._press_pos, None
        if press is None or event.button() != Qt.MouseButton.LeftButton:
            return
        moved = (event.position() - press).manhattanLength()
        if moved > QApplication.startDragDistance():
            return  # that was a pan
        self._click(event.position().toPoint())

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        self._press_pos = None  # the release that follows is not a second click
        if (event.button() == Qt.MouseButton.LeftButton
                and self._hit(event.position().toPoint()) is None):
            self.fit()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def _hit(self, pos) -> tuple[str, str] | None:
        """What a click at viewport `pos` means: ("node", id) / ("stage", name) / None."""
        scene_pos = self.mapToScene(pos)
        for item in self.items(pos):
            if isinstance(item, BoxItem):
                return ("node", item.key) if item.stage_name is None else ("stage", item.key)
            if isinstance(item, StageFrame):
                if item.header_rect().contains(item.mapFromScene(scene_pos)):
                    return ("stage", item.name)
                return None
        return None

    def _click(self, pos) -> None:
        hit = self._hit(pos)
        if hit is None:
            return
        what, key = hit
        if what == "stage":
            collapsed = not self.is_stage_collapsed(key)
            self.set_stage_collapsed(key, collapsed)
            self.stageToggled.emit(key, collapsed)
            return
        self._node_clicked(key)
        self._apply_selection()
        self.nodeClicked.emit(key)

    def _node_clicked(self, key: str) -> None:
        """Select the node and list (or hide) its layers."""
        self.state.select(key)
        if self.state.nodes[key].summary:
            self.set_node_expanded(key, key not in self.state.expanded)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(int(FRAME_R - FRAME_L + 2 * MARGIN + 20), 700)
