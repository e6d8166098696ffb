"""A laid-out block graph as scene items, with their tooltips: what `BlockGraphView` shows, and
each of the two columns of the comparison view (shifted right by `dx`)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsScene

from resnet_studio.app.graph_layout import SHORTCUT_TEXT, GraphLayout, inner_lines, shortcut_mix
from resnet_studio.core.common.formatting import compact, shape_text
from resnet_studio.qt.tabs.architecture.graph_items import (
    ArcItem,
    BoxItem,
    LinkItem,
    StageFrame,
)
from resnet_studio.qt.tabs.architecture.graph_style import Fonts

if TYPE_CHECKING:
    from resnet_studio.app.graph_state import BlockGraphState
    from resnet_studio.core.summary import GraphNode, StageInfo

_HINT = "<i style='color:#64748b'>{}</i>"


def add_layout_items(scene: QGraphicsScene, layout: GraphLayout, state: BlockGraphState,
                     fonts: Fonts, accent: QColor, dx: float = 0.0
                     ) -> tuple[dict[str, BoxItem], dict[str, StageFrame]]:
    """Add the items of `layout` (drawn from `state`) to `scene`, `dx` to the right. Returns
    the boxes (by node id or collapsed stage name) and the stage frames (by stage name)."""
    stages = {s.name: s for s in state.graph.stages} if state.graph is not None else {}
    items = []
    items += [LinkItem(link, fonts) for link in layout.links]
    items += [ArcItem(arc, fonts) for arc in layout.arcs]
    boxes: dict[str, BoxItem] = {}
    for node_id, box in layout.boxes.items():
        item = boxes[node_id] = BoxItem(box, fonts, accent)
        item.setToolTip(node_tooltip(state.nodes[node_id], node_id in state.expanded))
    for name, box in layout.stage_boxes.items():
        item = boxes[name] = BoxItem(box, fonts, accent)
        item.setToolTip(stage_tooltip(stages[name], state.nodes)
                        + "<br><i>Click to show the blocks.</i>")
    frames: dict[str, StageFrame] = {}
    for name, frame in layout.frames.items():
        item = frames[name] = StageFrame(frame, fonts)
        item.setToolTip(stage_tooltip(stages[name], state.nodes))
    for item in [*items, *boxes.values(), *frames.values()]:
        item.moveBy(dx, 0)
        scene.addItem(item)
    return boxes, frames


def node_tooltip(node: GraphNode, expanded: bool) -> str:
    e = html.escape
    rows = [f"<b>{e(node.id)}</b> · {e(node.label)} <span style='color:#64748b'>"
            f"({e(node.kind)})</span>",
            f"{e(shape_text(node.in_shape))} → {e(shape_text(node.out_shape))}"]
    if node.params or node.macs:
        rows.append(f"params {compact(node.params)} ({node.params:,}) · "
                    f"MACs {compact(node.macs)}")
    if node.shortcut:
        text = SHORTCUT_TEXT.get(node.shortcut, SHORTCUT_TEXT["none"])
        rows.append(f"shortcut: {e(text.label)}")
    if node.summary:
        rows.append("<hr>" + "<br>".join(e(s) for s in inner_lines(node)))
        rows.append(_HINT.format(f"Click to {'hide' if expanded else 'list'} the layers."))
    return "<br>".join(rows)


def stage_tooltip(stage: StageInfo, nodes: dict[str, GraphNode]) -> str:
    kinds = [nodes[b].shortcut or "none" for b in stage.blocks if b in nodes]
    return (f"<b>{html.escape(stage.name)}</b> · {len(stage.blocks)} blocks<br>"
            f"{shape_text(stage.in_shape)} → {shape_text(stage.out_shape)}<br>"
            f"params {compact(stage.params)} ({stage.params:,}) · "
            f"MACs {compact(stage.macs)}<br>shortcuts: {html.escape(shortcut_mix(kinds))}")
