"""Where the side-by-side comparison's pieces go, without Qt: model A's block graph on the left,
B's on the right, stage-aligned and block-aligned, and a lane between them with one mark per
difference.

Each column is `app.graph_layout`'s own layout. Aligning pushes the higher of two counterparts
down (a stage frame, the k-th block of a stage, a stage frame's bottom, in both models) until
they meet: what lies below moves with it, the data line above it stretches, a frame around it
grows. A mark
sits in the lane at the row it speaks of, naming the differences (the comparison's own
phrases) and tinted by their kind; the boxes it speaks of get a halo of the same tint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from resnet_studio.app.compare import part_differences
from resnet_studio.app.graph_layout import (
    BRANCH_GAP,
    FRAME_L,
    FRAME_R,
    Box,
    GraphLayout,
    layout_graph,
)

if TYPE_CHECKING:
    from resnet_studio.app.graph_state import BlockGraphState
    from resnet_studio.core.compare import BlockDiff, ModelComparison

LANE_W = 236.0  # the lane between the two columns, where the marks go
B_OFFSET = FRAME_R - FRAME_L + LANE_W  # x shift of B's column
LANE_X = FRAME_R + LANE_W / 2  # the lane's centre
TONES = ("removed", "added", "changed", "shape", "only")  # a mark's tint, legend order
TONE_TEXT = {"removed": "shortcut removed", "added": "shortcut added",
             "changed": "shortcut type", "shape": "width, groups or block type",
             "only": "block in one model only"}


@dataclass(frozen=True)
class DiffMark:
    """One difference in the lane: at row `y` (centre), `lines` of text, and the boxes (A's,
    B's; None where a model has none there) it speaks of."""

    key: str  # block id, or the stage name for a collapsed stage
    tone: str  # of TONES
    lines: tuple[str, ...]
    y: float
    a_box: Box | None
    b_box: Box | None
    tooltip: str = ""


@dataclass
class ComparisonLayout:
    a: GraphLayout = field(default_factory=GraphLayout)
    b: GraphLayout = field(default_factory=GraphLayout)  # in its own x (draw it at B_OFFSET)
    marks: list[DiffMark] = field(default_factory=list)

    def legend_kinds(self) -> list[str]:
        drawn = {a.kind for a in self.a.arcs + self.b.arcs}
        return [k for k in ("identity", "zero_pad", "projection", "none") if k in drawn]

    def tones(self) -> list[str]:
        drawn = {m.tone for m in self.marks}
        return [t for t in TONES if t in drawn]


def shift_below(layout: GraphLayout, y: float, dy: float) -> GraphLayout:
    """`layout` with everything from `y` down moved `dy` lower: the data line crossing `y`
    stretches, a frame around `y` grows."""
    def box(b: Box) -> Box:
        return replace(b, y=b.y + dy) if b.y >= y else b

    def frame(f):
        if f.top >= y:
            return replace(f, top=f.top + dy, bottom=f.bottom + dy)
        return replace(f, bottom=f.bottom + dy) if f.bottom >= y else f

    def link(k):
        if k.y1 >= y:
            return replace(k, y1=k.y1 + dy, y2=k.y2 + dy,
                           label_y=None if k.label_y is None else k.label_y + dy)
        return replace(k, y2=k.y2 + dy) if k.y2 >= y else k

    return GraphLayout(
        boxes={key: box(b) for key, b in layout.boxes.items()},
        stage_boxes={key: box(b) for key, b in layout.stage_boxes.items()},
        frames={key: frame(f) for key, f in layout.frames.items()},
        links=[link(k) for k in layout.links],
        arcs=[replace(a, y_branch=a.y_branch + dy, y_add=a.y_add + dy) if a.y_branch >= y
              else a for a in layout.arcs], collapsed_kinds=layout.collapsed_kinds)


def _top(layout: GraphLayout, key: str) -> float | None:
    """Where the unit `key` starts: a stage frame's top, a block's branch point above its box;
    "layer2/end": where the stage's frame ends."""
    if key.endswith("/end"):
        frame = layout.frames.get(key.removesuffix("/end"))
        return frame.bottom if frame else None
    if key in layout.frames:
        return layout.frames[key].top
    box = layout.boxes.get(key) or layout.stage_boxes.get(key)
    if box is None:
        return None
    return box.y - (BRANCH_GAP if box.kind in ("block", "stage") else 0.0)


def align(a: GraphLayout, b: GraphLayout, keys: list[str]) -> tuple[GraphLayout, GraphLayout]:
    """Shift `a` and `b` until every key both draw starts at the same height, top to bottom."""
    for key in keys:
        ya, yb = _top(a, key), _top(b, key)
        if ya is None or yb is None or abs(ya - yb) < 1e-6:
            continue
        if ya < yb:
            a = shift_below(a, ya, yb - ya)
        else:
            b = shift_below(b, yb, ya - yb)
    return a, b


def layout_comparison(cmp: ModelComparison, state_a: BlockGraphState, state_b: BlockGraphState,
                      measure: Callable[[Box], float]) -> ComparisonLayout:
    """Both graphs as the states show them (A's and B's from `cmp`), aligned, with the marks."""
    a, b = layout_graph(state_a, measure), layout_graph(state_b, measure)
    keys = ["stem"]
    for part in cmp.parts[1:-1]:
        keys.append(part.name)
        keys += [f"{part.name}.{d.index}" for d in cmp.blocks if d.stage == part.name]
        keys.append(f"{part.name}/end")  # a stage only one model has starts below both
    a, b = align(a, b, [*keys, "head", "output"])
    out = ComparisonLayout(a, b)
    marked_stages: set[str] = set()
    for d in cmp.differing():
        box_a = a.boxes.get(d.a.id) if d.a else None
        box_b = b.boxes.get(d.b.id) if d.b else None
        if box_a or box_b:
            row = box_a or box_b
            out.marks.append(DiffMark(row.key, tone(d), d.changes, row.y + row.h / 2,
                                      box_a, box_b, f"{d.stage}.{d.index}: {'; '.join(d.changes)}"))
        elif d.stage not in marked_stages:  # hidden in a collapsed stage: one mark for it
            marked_stages.add(d.stage)
            out.marks.append(_stage_mark(cmp, d.stage, a.stage_boxes.get(d.stage),
                                         b.stage_boxes.get(d.stage)))
    return out


def _stage_mark(cmp: ModelComparison, stage: str, box_a: Box | None,
                box_b: Box | None) -> DiffMark:
    part = next(p for p in cmp.parts if p.name == stage)
    diffs = [d for d in cmp.differing() if d.stage == stage]
    tones = {tone(d) for d in diffs}
    text = part_differences(cmp, part)
    row = box_a or box_b
    return DiffMark(stage, next(t for t in TONES if t in tones), tuple(text.split("; ")),
                    row.y + row.h / 2, box_a, box_b, f"{stage}: {text}")


def tone(d: BlockDiff) -> str:
    if d.kinds & {"only_a", "only_b"}:
        return "only"
    return d.shortcut_change or "shape"
