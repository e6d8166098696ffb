"""The block graph's state and layout, without a widget: what is shown and where it goes."""

from functools import cache

import pytest

from resnet_studio.app.graph_layout import (
    ADD_GAP,
    ADD_R,
    BOX_W,
    BRANCH_GAP,
    END_W,
    HEADER_H,
    LINK,
    STAGE_GAP,
    dominant_shortcut,
    inner_lines,
    layout_graph,
    shortcut_mix,
)
from resnet_studio.app.graph_state import COLLAPSE_OVER, BlockGraphState
from resnet_studio.app.summary import inspect_model
from resnet_studio.core.zoo import get_spec

BOX_H = 40.0


def measure(box) -> float:
    """A box 40 units tall, 10 more per listed layer."""
    return BOX_H + (10.0 * len(box.lines) if box.expanded else 0.0)


@cache
def graph_of(name: str):
    return inspect_model(get_spec(name)).graph


def state_of(name: str) -> BlockGraphState:
    state = BlockGraphState()
    state.show(graph_of(name))
    return state


def test_resnet20_stacks_every_node_top_to_bottom_on_one_line():
    layout = layout_graph(state_of("resnet20"), measure)
    ids = list(layout.boxes)
    assert ids == [n.id for n in graph_of("resnet20").nodes] and len(ids) == 13
    tops = [layout.boxes[i].y for i in ids]
    assert tops == sorted(tops)
    assert layout.boxes["input"].y == 0 and layout.boxes["input"].width == END_W
    assert layout.boxes["input"].x == -END_W / 2 and layout.boxes["stem"].x == -BOX_W / 2
    # the stem follows the input after one link; the first stage frame after a stage gap
    assert layout.boxes["stem"].y == BOX_H + LINK
    frame = layout.frames["layer1"]
    assert frame.top == 2 * BOX_H + LINK + STAGE_GAP
    assert layout.boxes["layer1.0"].y == frame.top + HEADER_H + 8 + BRANCH_GAP
    # one block to the next: the ⊕ below it, a link, the branch point above the next
    step = BOX_H + ADD_GAP + ADD_R + LINK + BRANCH_GAP
    assert layout.boxes["layer1.1"].y - layout.boxes["layer1.0"].y == step
    for stage in graph_of("resnet20").stages:
        f = layout.frames[stage.name]
        assert all(f.top < layout.boxes[b].y < layout.boxes[b].y + BOX_H < f.bottom
                   for b in stage.blocks)
    assert layout.frames["layer2"].left_text == "layer2 · 3 blocks"
    assert layout.frames["layer3"].right_text == "64×8×8 · 204K params"  # 203,520


def test_arcs_are_typed_and_wrap_their_box():
    layout = layout_graph(state_of("resnet20"), measure)
    assert [k for _, k in layout.shortcuts()].count("identity") == 7
    assert [o for o, k in layout.shortcuts() if k == "zero_pad"] == ["layer2.0", "layer3.0"]
    arc = next(a for a in layout.arcs if a.owner == "layer2.0")
    box = layout.boxes["layer2.0"]
    assert arc.y_branch == box.y - BRANCH_GAP and arc.y_add == box.y + BOX_H + ADD_GAP
    assert layout.legend_kinds() == ["identity", "zero_pad"]


def test_links_name_the_shape_only_where_it_changes():
    layout = layout_graph(state_of("resnet20"), measure)
    labels = [link.label for link in layout.links if link.label]
    assert labels == ["3×32×32", "16×32×32", "32×16×16", "64×8×8", "10"]
    arrows = [link for link in layout.links if link.arrow]
    assert len(arrows) == 12  # one into every node but the input


def test_plain_blocks_get_stubs_that_stop_at_the_box():
    layout = layout_graph(state_of("plain_resnet20"), measure)
    assert layout.legend_kinds() == ["none"]
    arc = next(a for a in layout.arcs if a.owner == "layer1.0")
    assert arc.kind == "none" and arc.y_add == layout.boxes["layer1.0"].y + BOX_H


def test_resnet1202_starts_collapsed_one_box_per_stage():
    state = state_of("resnet1202")
    assert state.collapsed == {"layer1", "layer2", "layer3"}  # 200 blocks > COLLAPSE_OVER
    layout = layout_graph(state, measure)
    assert list(layout.boxes) == ["input", "stem", "head", "output"]
    box = layout.stage_boxes["layer2"]
    assert box.stacked and box.title == "layer2 ×200 blocks" and box.title_right == "BasicBlock"
    assert box.footer == "shortcuts: 199 identity + 1 zero-pad"
    assert layout.shortcuts() == [("layer1", "identity"), ("layer2", "identity"),
                                  ("layer3", "identity")]
    assert state.set_stage_collapsed("layer2", False)
    assert not state.set_stage_collapsed("layer2", False)  # no change
    opened = layout_graph(state, measure)
    assert len(opened.boxes) == 4 + 200 and "layer2.199" in opened.boxes


def test_listing_a_blocks_layers_grows_it_and_moves_the_rest_down():
    state = state_of("resnet20")
    before = layout_graph(state, measure)
    assert state.set_node_expanded("layer1.1", True)
    after = layout_graph(state, measure)
    rows = len(graph_of("resnet20").node("layer1.1").summary)
    assert after.boxes["layer1.1"].h == BOX_H + 10 * rows and after.boxes["layer1.1"].expanded
    assert after.boxes["layer1.0"].y == before.boxes["layer1.0"].y
    assert after.boxes["output"].y == before.boxes["output"].y + 10 * rows
    with pytest.raises(KeyError):
        state.set_node_expanded("layer9.0", True)
    with pytest.raises(KeyError):
        state.set_stage_collapsed("layer9", True)


def test_selection_inside_a_collapsed_stage_highlights_the_stage():
    state = state_of("resnet20")
    assert len(graph_of("resnet20").stages[0].blocks) <= COLLAPSE_OVER and not state.collapsed
    state.select("layer3.2")
    assert state.highlighted() == "layer3.2"
    state.set_stage_collapsed("layer3", True)
    assert state.selected == "layer3.2" and state.highlighted() == "layer3"
    state.select("nonsense")
    assert state.selected is None and state.highlighted() is None
    state.clear("Loading PyTorch…")
    assert state.graph is None and state.message == "Loading PyTorch…"
    assert layout_graph(state, measure).boxes == {}


def test_shortcut_texts():
    assert dominant_shortcut(["identity"] * 8 + ["zero_pad"]) == "identity"
    assert dominant_shortcut(["zero_pad", "identity"]) == "identity"  # a tie: the milder one
    assert dominant_shortcut([]) == "none"
    kinds = ["identity", "identity", "projection"]
    assert shortcut_mix(kinds) == "2 identity, 1 projection (1×1)"
    assert shortcut_mix(kinds, short=True) == "2 identity + 1 projection"
    assert shortcut_mix(["none"] * 3, short=True) == "none (plain)"


def test_inner_lines_name_layers_relative_to_their_block():
    node = inspect_model(get_spec("resnet18")).graph.node("layer2.0")
    lines = inner_lines(node)
    assert lines[0].startswith("conv1: Conv2d (3x3, 64→128, stride 2)")
    assert any(line.startswith("downsample.0: Conv2d (1x1, 64→128, stride 2)") for line in lines)
