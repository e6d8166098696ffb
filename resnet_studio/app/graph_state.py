"""What the Architecture tab's block graph shows, without Qt: the graph, which stages are
collapsed into one box, which nodes list their layers, the selected node, or a message in
place of the graph ("Loading PyTorch…", an error).

The view (`qt/tabs/architecture/block_graph.py`) draws from this state and changes it on
clicks; tests read it directly. Everything here runs on the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resnet_studio.core.summary import BlockGraph, GraphNode

COLLAPSE_OVER = 12  # stages with more blocks than this start collapsed


@dataclass
class BlockGraphState:
    graph: BlockGraph | None = None
    nodes: dict[str, GraphNode] = field(default_factory=dict)  # the graph's nodes by id
    collapsed: set[str] = field(default_factory=set)  # stage names
    expanded: set[str] = field(default_factory=set)  # node ids whose layers are listed
    selected: str | None = None  # node id
    message: str = ""  # shown instead of a graph

    def show(self, graph: BlockGraph) -> None:
        """A new graph: stages with more than COLLAPSE_OVER blocks start collapsed (ResNet-1202
        would be 600 boxes), nothing listed, nothing selected."""
        self.graph = graph
        self.nodes = {n.id: n for n in graph.nodes}
        self.collapsed = {s.name for s in graph.stages if len(s.blocks) > COLLAPSE_OVER}
        self.expanded = set()
        self.selected = None
        self.message = ""

    def clear(self, message: str = "") -> None:
        """No graph; `message` (if any) in its place."""
        self.graph = None
        self.nodes = {}
        self.collapsed, self.expanded = set(), set()
        self.selected = None
        self.message = message

    def set_stage_collapsed(self, name: str, collapsed: bool) -> bool:
        """Collapse (or open) a stage; True if that changed anything. KeyError: no such stage."""
        if self.graph is None or name not in {s.name for s in self.graph.stages}:
            raise KeyError(f"no stage named {name!r}")
        return _set_member(self.collapsed, name, collapsed)

    def set_node_expanded(self, node_id: str, expanded: bool) -> bool:
        """List (or hide) a node's layers; True if that changed anything. KeyError: no such node."""
        if node_id not in self.nodes:
            raise KeyError(f"no node named {node_id!r}")
        return _set_member(self.expanded, node_id, expanded)

    def select(self, node_id: str | None) -> None:
        """Select a node; None or an unknown id selects nothing."""
        self.selected = node_id if node_id in self.nodes else None

    def highlighted(self) -> str | None:
        """The box drawn highlighted: the selected node's id, or the name of the collapsed
        stage that hides it; None when nothing is selected."""
        if self.selected is None:
            return None
        stage = self.nodes[self.selected].stage
        return stage if stage in self.collapsed else self.selected


def _set_member(items: set[str], key: str, member: bool) -> bool:
    if member == (key in items):
        return False
    if member:
        items.add(key)
    else:
        items.discard(key)
    return True
