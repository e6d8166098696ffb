"""Where the block graph's pieces go, without Qt: boxes, data links, shortcut arcs, stage frames.

Data flows top to bottom along x = 0: input → stem → stages of residual blocks → head →
output. Every residual shortcut is an arc on the right of its block, from a branch point above
the box to the ⊕ (the addition) below it; a plain block gets a stub that stops short (no
addition). A collapsed stage is one box with one arc (its most common shortcut kind).

Units are scene units (pixels at zoom 1). Only a box's height depends on fonts (the text it
holds): the caller passes `measure(box) -> height`. The Qt view measures with font metrics;
tests can pass any function and check positions without a widget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from resnet_studio.core.common.formatting import compact, shape_text
from resnet_studio.core.summary import GraphNode, Shape, StageInfo

if TYPE_CHECKING:
    from resnet_studio.app.graph_state import BlockGraphState

BOX_W = 276.0  # width of a block box
END_W = 170.0  # width of the input / output boxes
ARC_X = BOX_W / 2 + 26  # x of the vertical run of a shortcut arc
FRAME_L = -BOX_W / 2 - 30  # a little wider on the left: stage names
FRAME_R = ARC_X + 22
HEADER_H = 28.0  # stage header band
BRANCH_GAP = 13.0  # branch dot → box top
ADD_GAP = 17.0  # box bottom → centre of the ⊕
ADD_R = 7.0  # radius of the ⊕
LINK = 22.0  # free run between two units (⊕ / box bottom → next box top)
STAGE_GAP = 26.0  # between a stage frame and what is above / below it
MARGIN = 24.0  # around the whole graph


@dataclass(frozen=True)
class ShortcutText:
    label: str  # legend and tooltips
    tag: str  # the pill on the arc ("" for none)
    explain: str  # what it does, for tooltips


SHORTCUT_ORDER = ("identity", "zero_pad", "projection", "none")
SHORTCUT_TEXT = {
    "identity": ShortcutText("identity", "",
                             "identity: x is added unchanged, y = F(x) + x (no parameters)"),
    "zero_pad": ShortcutText("zero-pad (A)", "pad",
                             "zero-pad, option A: x is subsampled and padded with zero channels "
                             "to match F(x) (no parameters)"),
    "projection": ShortcutText("projection (1×1)", "1×1",
                               "projection, option B: a 1×1 convolution + BN reshapes x to "
                               "match F(x)"),
    "none": ShortcutText("no shortcut (plain)", "",
                         "no shortcut: a plain block, y = F(x); the signal must pass every layer"),
}


@dataclass(frozen=True)
class Box:
    """A node's box, or (with `stage` set) a collapsed stage's. `x, y` is its top-left corner."""

    key: str  # node id, or the stage name for a collapsed stage
    kind: str  # input | output | stem | head | block | stage
    title: str
    subtitle: str  # the shape, or the shape change "16×32×32 → 32×16×16"
    width: float
    right: str = ""  # "2.36K params"
    lines: tuple[str, ...] = ()  # the inner layers, listed when expanded
    expandable: bool = False
    expanded: bool = False
    stage: str | None = None  # collapsed stages only
    footer: str = ""  # collapsed stages: "shortcuts: 8 identity + 1 zero-pad"
    title_right: str = ""  # collapsed stages: the block types
    x: float = 0.0
    y: float = 0.0
    h: float = 0.0

    @property
    def stacked(self) -> bool:
        """Drawn with cards peeking out behind: many blocks in here."""
        return self.stage is not None


@dataclass(frozen=True)
class Link:
    """A data edge on x = 0 from y1 to y2, with the shape it carries where that changed."""

    y1: float
    y2: float
    arrow: bool
    label: str = ""
    label_y: float | None = None  # None: halfway


@dataclass(frozen=True)
class Arc:
    """A shortcut from the branch point (y_branch) to the ⊕ (y_add) of `owner`; for kind
    "none" a stub that stops short, y_add being the box's bottom."""

    owner: str  # block id, or the stage name for a collapsed stage
    kind: str  # identity | zero_pad | projection | none
    y_branch: float
    y_add: float
    scale: float = 1.0  # α: the shortcut adds α·x (the graph's `shortcut_scale`)


@dataclass(frozen=True)
class Frame:
    """The frame around a stage, with a header band that collapses it."""

    stage: str
    top: float
    bottom: float
    collapsed: bool
    left_text: str  # "layer2 · 3 blocks"
    right_text: str  # "32×16×16 · 4.7K params"
    left: float = FRAME_L
    right: float = FRAME_R


@dataclass
class GraphLayout:
    boxes: dict[str, Box] = field(default_factory=dict)  # node id -> box, top to bottom
    stage_boxes: dict[str, Box] = field(default_factory=dict)  # collapsed stage -> its box
    frames: dict[str, Frame] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    arcs: list[Arc] = field(default_factory=list)
    # kinds a collapsed stage's box names ("8 identity + 1 zero-pad") beside its one arc
    collapsed_kinds: set[str] = field(default_factory=set)

    def shortcuts(self) -> list[tuple[str, str]]:
        """(owner, kind) per drawn shortcut marker, top to bottom."""
        return [(a.owner, a.kind) for a in self.arcs]

    def legend_kinds(self) -> list[str]:
        """The shortcut kinds drawn or named in a collapsed stage's box, in legend order."""
        drawn = {a.kind for a in self.arcs} | self.collapsed_kinds
        return [k for k in SHORTCUT_ORDER if k in drawn]


def shape_change(a: Shape, b: Shape) -> str:
    return shape_text(b) if a == b else f"{shape_text(a)} → {shape_text(b)}"


def dominant_shortcut(kinds: list[str]) -> str:
    """The kind that stands for a collapsed stage: the most common one (ties: the milder one)."""
    if not kinds:
        return "none"
    return max(SHORTCUT_ORDER, key=lambda k: (kinds.count(k), -SHORTCUT_ORDER.index(k)))


def shortcut_mix(kinds: list[str], short: bool = False) -> str:
    """ "8 identity + 1 zero-pad" (short) or "8 identity, 1 zero-pad (A)"."""
    if short and all(k == "none" for k in kinds):
        return "none (plain)"
    labels = {k: SHORTCUT_TEXT[k].label.split(" (")[0] if short else SHORTCUT_TEXT[k].label
              for k in SHORTCUT_ORDER}
    return (" + " if short else ", ").join(f"{kinds.count(k)} {labels[k]}"
                                           for k in SHORTCUT_ORDER if k in kinds)


def inner_lines(node: GraphNode) -> tuple[str, ...]:
    """node.summary with each line named relative to the node ("downsample.0: Conv2d …"
    rather than "0: Conv2d …") when the layer names line up with the lines."""
    lines = node.summary
    if len(node.layers) != len(lines):
        return lines
    out = []
    prefix = node.id + "."
    for name, line in zip(node.layers, lines):
        rel = name[len(prefix):] if name.startswith(prefix) else name
        short = rel.rsplit(".", 1)[-1]
        if rel != short and line.startswith(short + ":"):
            line = rel + line[len(short):]
        out.append(line)
    return tuple(out)


def layout_graph(state: BlockGraphState, measure: Callable[[Box], float]) -> GraphLayout:
    """Place every piece of `state.graph` as `state` shows it (collapsed stages, listed
    layers). An empty layout when there is no graph."""
    if state.graph is None:
        return GraphLayout()
    return _Placer(state, measure).run()


class _Placer:
    def __init__(self, state: BlockGraphState, measure: Callable[[Box], float]):
        self.state, self.measure = state, measure
        self.out = GraphLayout()
        self.line_y = 0.0  # where the data line leaves the last unit (its ⊕ or box bottom)
        self.last_shape: Shape | None = None  # shape carried by the previous data edge

    def run(self) -> GraphLayout:
        graph = self.state.graph
        stages = {s.name: s for s in graph.stages}
        segments: list[GraphNode | StageInfo] = []
        seen: set[str] = set()
        for n in graph.nodes:
            if n.kind == "block" and n.stage in stages:
                if n.stage not in seen:
                    seen.add(n.stage)
                    segments.append(stages[n.stage])
                continue
            segments.append(n)

        free_y = 0.0  # lowest y taken so far (a unit's bottom or a stage frame's bottom)
        first, prev_was_stage = True, False
        for seg in segments:
            if isinstance(seg, GraphNode):
                gap = 0.0 if first else (STAGE_GAP if prev_was_stage else LINK)
                top = free_y + gap
                if seg.kind == "block":  # a block outside any stage
                    top += BRANCH_GAP
                if not first:
                    self.link(top, seg.in_shape, free_y + gap / 2)
                self.line_y = free_y = self.place_node(seg, top)
                first, prev_was_stage = False, False
                continue
            frame_top = free_y + (STAGE_GAP if not first else 0.0)
            self.place_stage(seg, frame_top, label_y=(free_y + frame_top) / 2)
            free_y = self.out.frames[seg.name].bottom
            first, prev_was_stage = False, True
        return self.out

    def link(self, to_y: float, shape: Shape, label_y: float | None = None) -> None:
        label = shape_text(shape) if shape != self.last_shape else ""
        self.last_shape = shape
        self.out.links.append(Link(self.line_y, to_y, True, label, label_y))

    def box(self, box: Box) -> Box:
        return replace(box, h=self.measure(box))

    def place_node(self, node: GraphNode, top: float) -> float:
        """Input, stem, head, output (or a block outside any stage). Returns its bottom."""
        if node.kind == "block":
            return self.place_block(node, top)
        if node.kind == "output":
            title, subtitle = "Output", node.label
        elif node.kind == "input":
            title, subtitle = node.label or "Input", shape_text(node.out_shape)
        else:
            title, subtitle = node.label, shape_change(node.in_shape, node.out_shape)
        width = END_W if node.kind in ("input", "output") else BOX_W
        box = self.box(Box(
            key=node.id, kind=node.kind if node.kind in ("input", "output", "stem", "head")
            else "block", title=title, subtitle=subtitle, width=width,
            right=f"{compact(node.params)} params" if node.params else "",
            lines=inner_lines(node), expandable=bool(node.summary),
            expanded=node.id in self.state.expanded, x=-width / 2, y=top))
        self.out.boxes[node.id] = box
        return top + box.h

    def place_block(self, node: GraphNode, top: float) -> float:
        box = self.box(Box(
            key=node.id, kind="block", title=f"{node.id} · {node.label}",
            subtitle=shape_change(node.in_shape, node.out_shape), width=BOX_W,
            right=f"{compact(node.params)} params", lines=inner_lines(node),
            expandable=bool(node.summary), expanded=node.id in self.state.expanded,
            x=-BOX_W / 2, y=top))
        self.out.boxes[node.id] = box
        return self.place_shortcut(node.id, node.shortcut or "none", box)

    def place_stage(self, stage: StageInfo, frame_top: float, label_y: float) -> None:
        content_top = frame_top + HEADER_H + 8
        blocks = [self.state.nodes[b] for b in stage.blocks if b in self.state.nodes]
        collapsed = stage.name in self.state.collapsed
        if collapsed:
            box_top = content_top + BRANCH_GAP
            self.link(box_top, stage.in_shape, label_y)
            self.line_y = self.place_collapsed(stage, blocks, box_top)
        else:
            for i, b in enumerate(blocks):
                box_top = (content_top if i == 0 else self.line_y + LINK) + BRANCH_GAP
                self.link(box_top, b.in_shape, label_y if i == 0 else None)
                self.line_y = self.place_block(b, box_top)
        nb = len(stage.blocks)
        self.out.frames[stage.name] = Frame(
            stage=stage.name, top=frame_top, bottom=self.line_y + 12, collapsed=collapsed,
            left_text=f"{stage.name} · {nb} block{'s' if nb != 1 else ''}",
            right_text=f"{shape_text(stage.out_shape)} · {compact(stage.params)} params")

    def place_collapsed(self, stage: StageInfo, blocks: list[GraphNode], top: float) -> float:
        kinds = [b.shortcut or "none" for b in blocks]
        nb = len(stage.blocks)
        box = self.box(Box(
            key=stage.name, kind="stage", stage=stage.name,
            title=f"{stage.name} ×{nb} block{'s' if nb != 1 else ''}",
            subtitle=shape_change(stage.in_shape, stage.out_shape), width=BOX_W,
            right=f"{compact(stage.params)} params",
            title_right=" / ".join(sorted({b.label for b in blocks})),
            footer=f"shortcuts: {shortcut_mix(kinds, short=True)}", x=-BOX_W / 2, y=top))
        self.out.stage_boxes[stage.name] = box
        self.out.collapsed_kinds.update(k if k in SHORTCUT_TEXT else "none" for k in kinds)
        return self.place_shortcut(stage.name, dominant_shortcut(kinds), box)

    def place_shortcut(self, owner: str, kind: str, box: Box) -> float:
        """The arc (or plain stub) around `box`; returns the unit's bottom (below the ⊕)."""
        kind = kind if kind in SHORTCUT_TEXT else "none"
        bottom = box.y + box.h
        y_add = bottom + ADD_GAP
        # a plain block has no addition: the data line just runs on, in the same rhythm
        self.out.arcs.append(Arc(owner, kind, box.y - BRANCH_GAP,
                                 bottom if kind == "none" else y_add,
                                 1.0 if kind == "none" else self.state.graph.shortcut_scale))
        self.out.links.append(Link(bottom, y_add + (ADD_R if kind == "none" else -ADD_R), False))
        return y_add + ADD_R

