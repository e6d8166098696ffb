"""The side-by-side layout: both graphs stage- and block-aligned, one mark per difference."""

from __future__ import annotations

import pytest

from resnet_studio.app.compare import compare_models, resolve_pair
from resnet_studio.app.compare_layout import layout_comparison
from resnet_studio.app.graph_state import BlockGraphState


def laid_out(a: str, b: str, collapse: tuple[str, ...] = ()):
    cmp = compare_models(*resolve_pair(a, b))
    states = []
    for graph in (cmp.a.graph, cmp.b.graph):
        state = BlockGraphState()
        state.show(graph)
        state.collapsed |= {s for s in collapse if s in {g.name for g in graph.stages}}
        states.append(state)
    return cmp, layout_comparison(cmp, *states, measure=lambda box: 40 + 12 * len(box.lines)
                                  * box.expanded + 14 * bool(box.footer))


def test_counterparts_start_at_the_same_height_whatever_the_block_counts():
    cmp, lay = laid_out("resnet18", "resnet20")  # 2 blocks a stage against 3, 4 stages against 3
    for stage in ("layer1", "layer2", "layer3"):
        assert lay.a.frames[stage].top == lay.b.frames[stage].top
        assert lay.a.frames[stage].bottom == lay.b.frames[stage].bottom  # the shorter one grows
    for key in ("input", "stem", "layer1.0", "layer1.1", "layer2.0", "layer3.1", "head", "output"):
        assert lay.a.boxes[key].y == lay.b.boxes[key].y, key
    # A's extra stage starts below B's last block; B's head waits for A's
    assert lay.a.frames["layer4"].top > lay.b.boxes["layer3.2"].y + lay.b.boxes["layer3.2"].h
    # the data line still reaches every box: each link ends where a box starts, or at a ⊕
    for column in (lay.a, lay.b):
        tops = {b.y for b in column.boxes.values()}
        ends = {round(k.y2, 6) for k in column.links if k.arrow}
        assert tops <= {round(t, 6) for t in ends} | {0.0}


def test_one_mark_per_differing_block_at_its_row_never_overlapping():
    cmp, lay = laid_out("resnet18", "resnet20")
    assert len(lay.marks) == len(cmp.differing()) == 11
    assert {m.tone for m in lay.marks} == {"shape", "changed", "only"}
    for m in lay.marks:
        row = m.a_box or m.b_box
        assert m.y == pytest.approx(row.y + row.h / 2)
    only_b = next(m for m in lay.marks if m.key == "layer1.2")
    assert only_b.a_box is None and only_b.lines == ("only in B",)
    ys = sorted(m.y for m in lay.marks)
    assert min(b - a for a, b in zip(ys, ys[1:])) >= 40


def test_a_collapsed_stage_gets_one_mark_for_all_its_blocks():
    cmp, lay = laid_out("resnet152", "plain", collapse=("layer3",))
    stage_marks = [m for m in lay.marks if m.key == "layer3"]
    assert len(stage_marks) == 1
    assert stage_marks[0].lines == ("36 shortcuts removed (1 projection)",)
    assert stage_marks[0].a_box.stage == "layer3" and stage_marks[0].b_box.stage == "layer3"
    assert len(lay.marks) == 50 - 36 + 1
    assert lay.tones() == ["removed"] and lay.legend_kinds() == ["identity", "projection", "none"]
