"""The Architecture tab's block graph: what it draws for real ResNets, and how it reacts."""

from __future__ import annotations

import subprocess
import sys
from functools import cache

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from resnet_studio.qt.tabs.architecture.block_graph import COLLAPSE_OVER, BlockGraphView
from tests.helpers import shown


@cache
def graph_of(name: str):
    from resnet_studio.core.inspect import summarize
    from resnet_studio.core.zoo import get_spec

    return summarize(get_spec(name)).graph


@pytest.fixture
def view(qtbot):
    return shown(qtbot, BlockGraphView(), 600, 900)


def viewport_pos(view: BlockGraphView, scene_point: QPointF) -> QPoint:
    view.centerOn(scene_point)
    return view.mapFromScene(scene_point)


# -- what is drawn ---------------------------------------------------------------------------
def test_every_node_of_resnet20_gets_a_box_top_to_bottom(view):
    g = graph_of("resnet20")
    view.set_graph(g)
    ids = [n.id for n in g.nodes]
    assert len(ids) == 13  # input, stem, 3 × 3 blocks, head, output
    assert view.visible_node_ids() == ids
    tops = [view.node_rect(i).top() for i in ids]
    assert tops == sorted(tops) and len(set(tops)) == len(tops)
    # every box lies inside the scene, and stage frames hold their blocks
    for i in ids:
        assert view.sceneRect().contains(view.node_rect(i))
    for s in g.stages:
        for b in s.blocks:
            assert view.stage_rect(s.name).contains(view.node_rect(b))


def test_resnet20_draws_nine_shortcut_arcs_two_of_them_zero_pad(view):
    view.set_graph(graph_of("resnet20"))
    kinds = view.arc_kinds()
    assert len(kinds) == 9
    assert kinds.count("zero_pad") == 2 and kinds.count("identity") == 7
    zero_pad = [owner for owner, kind in view.shortcuts() if kind == "zero_pad"]
    assert zero_pad == ["layer2.0", "layer3.0"]  # where the shape changes (option A)


def test_plain_net_draws_no_arc_only_no_shortcut_markers(view):
    view.set_graph(graph_of("plain_resnet20"))
    assert view.arc_kinds() == []
    assert [k for _, k in view.shortcuts()] == ["none"] * 9
    # and it is visibly different from its residual twin
    view.set_graph(graph_of("resnet20"))
    assert "none" not in [k for _, k in view.shortcuts()]


def test_resnet18_uses_projection_where_the_shape_changes(view):
    view.set_graph(graph_of("resnet18"))
    proj = [owner for owner, kind in view.shortcuts() if kind == "projection"]
    assert proj == ["layer2.0", "layer3.0", "layer4.0"]
    assert view.arc_kinds().count("identity") == 5


def test_resnet1202_starts_collapsed_and_stays_small(view):
    g = graph_of("resnet1202")
    assert all(len(s.blocks) > COLLAPSE_OVER for s in g.stages)
    view.set_graph(g)
    assert all(view.is_stage_collapsed(s.name) for s in g.stages)
    assert view.item_count() < 200
    assert view.visible_node_ids() == ["input", "stem", "head", "output"]
    assert view.arc_kinds() == ["identity"] * 3  # one arc per collapsed stage
    # opening one stage shows its 200 blocks, and only those
    view.set_stage_collapsed("layer2", False)
    shown = view.visible_node_ids()
    assert len(shown) == 4 + 200 and "layer2.199" in shown and "layer1.0" not in shown
    assert view.arc_kinds().count("zero_pad") == 1  # layer2.0 changes the shape
    view.set_stage_collapsed("layer2", True)
    assert view.item_count() < 200


def test_small_stages_start_expanded(view):
    view.set_graph(graph_of("resnet18"))
    assert not any(view.is_stage_collapsed(s) for s in ("layer1", "layer2", "layer3", "layer4"))


def test_collapsing_a_stage_replaces_its_blocks_by_one_box(view):
    view.set_graph(graph_of("resnet20"))
    tall = view.stage_rect("layer2").height()
    view.set_stage_collapsed("layer2", True)
    assert view.is_stage_collapsed("layer2")
    assert not {"layer2.0", "layer2.1", "layer2.2"} & set(view.visible_node_ids())
    assert view.stage_rect("layer2").height() < tall
    assert len(view.arc_kinds()) == 9 - 3 + 1
    # the graph below moved up, the stage above did not move
    view.set_stage_collapsed("layer2", False)
    assert "layer2.1" in view.visible_node_ids()
    assert view.stage_rect("layer2").height() == pytest.approx(tall)
    with pytest.raises(KeyError):
        view.set_stage_collapsed("layer9", True)


def test_node_tooltip_tells_shapes_params_shortcut_and_layers(view):
    view.set_graph(graph_of("resnet20"))
    rect = view.node_rect("layer2.0")
    item = view.itemAt(viewport_pos(view, rect.center()))
    tip = item.toolTip()
    for text in ("layer2.0", "BasicBlock", "16×32×32 → 32×16×16", "zero-pad",
                 "conv1: Conv2d (3x3, 16→32, stride 2)", "MACs"):
        assert text in tip


# -- interaction -----------------------------------------------------------------------------
def test_clicking_a_block_emits_its_id_and_lists_its_layers(view, qtbot):
    view.set_graph(graph_of("resnet20"))
    before = view.node_rect("layer1.1")
    pos = viewport_pos(view, before.center())
    with qtbot.waitSignal(view.nodeClicked, timeout=1000) as sig:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert sig.args == ["layer1.1"]
    assert view.is_node_expanded("layer1.1")
    assert view.selected_node() == "layer1.1" and view.highlighted() == "layer1.1"
    after = view.node_rect("layer1.1")
    assert after.top() == pytest.approx(before.top())
    assert after.height() > before.height() + 4 * 10  # five inner layers listed
    # the blocks below made room
    assert view.node_rect("layer1.2").top() > before.bottom() + (after.height()
                                                                 - before.height())
    # a second click folds it again
    with qtbot.waitSignal(view.nodeClicked, timeout=1000):
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                         pos=viewport_pos(view, after.center()))
    assert not view.is_node_expanded("layer1.1")
    assert view.node_rect("layer1.1").height() == pytest.approx(before.height())


def test_clicking_a_stage_header_toggles_it(view, qtbot):
    view.set_graph(graph_of("resnet20"))
    frame = view.stage_rect("layer3")
    pos = viewport_pos(view, QPointF(frame.left() + 40, frame.top() + 12))
    with qtbot.waitSignal(view.stageToggled, timeout=1000) as sig:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert sig.args == ["layer3", True]
    assert view.is_stage_collapsed("layer3")


def test_select_node_highlights_without_emitting(view, qtbot):
    view.set_graph(graph_of("resnet20"))
    with qtbot.assertNotEmitted(view.nodeClicked), qtbot.assertNotEmitted(view.stageToggled):
        view.select_node("layer3.2")
    assert view.selected_node() == "layer3.2" and view.highlighted() == "layer3.2"
    assert not view.is_node_expanded("layer3.2")
    # scrolled into view
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.intersects(view.node_rect("layer3.2"))
    # inside a collapsed stage, the stage box is highlighted instead
    view.set_stage_collapsed("layer3", True)
    assert view.selected_node() == "layer3.2" and view.highlighted() == "layer3"
    view.select_node(None)
    assert view.selected_node() is None and view.highlighted() is None


def test_dragging_pans_and_is_not_a_click(view, qtbot):
    view.set_graph(graph_of("resnet20"))  # taller than the view: can scroll
    bar = view.verticalScrollBar()
    assert bar.maximum() > 0
    start = viewport_pos(view, view.node_rect("layer2.1").center())
    value = bar.value()
    with qtbot.assertNotEmitted(view.nodeClicked):
        qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
        for dy in (10, 40, 80, 120):
            qtbot.mouseMove(view.viewport(), start - QPoint(0, dy))
        qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=start - QPoint(0, 120))
    assert bar.value() > value
    assert not view.is_node_expanded("layer2.1")


def test_zoom_buttons_wheel_fit_and_reset(view, qtbot):
    view.set_graph(graph_of("resnet20"))
    view.reset_zoom()
    assert view.zoom() == pytest.approx(1.0)
    view.zoom_in()
    assert view.zoom() > 1.0
    view.zoom_out()
    view.zoom_out()
    assert view.zoom() < 1.0
    view.reset_zoom()
    center = QPointF(view.viewport().rect().center())
    wheel = QWheelEvent(center, view.viewport().mapToGlobal(center), QPoint(0, 0),
                        QPoint(0, 120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.zoom() > 1.05  # no Ctrl needed
    view.fit()
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    assert shown.adjusted(-1, -1, 1, 1).contains(view.sceneRect())
    assert view.zoom() < 0.9
    # double-clicking the background fits too
    view.reset_zoom()
    with qtbot.assertNotEmitted(view.nodeClicked):
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(6, 6))
    assert view.zoom() < 0.9


# -- states and export -----------------------------------------------------------------------
def test_message_and_clear_show_no_graph(view):
    view.set_graph(graph_of("resnet20"))
    view.set_message("Loading PyTorch…")
    assert view.message() == "Loading PyTorch…"
    assert view.visible_node_ids() == [] and view.item_count() == 0
    view.set_graph(graph_of("resnet20"))
    assert view.message() == "" and len(view.visible_node_ids()) == 13
    view.clear()
    assert view.graph() is None and view.item_count() == 0
    view.set_graph(None)
    assert view.item_count() == 0


def test_export_png_renders_the_whole_graph_on_white(view, tmp_path):
    view.set_graph(graph_of("resnet20"))
    path = tmp_path / "graph.png"
    view.export_png(path)
    image = QImage(str(path))
    assert not image.isNull()
    assert image.width() > view.viewport().width()
    assert image.height() > view.viewport().height()  # not just what was on screen
    assert image.height() >= 2 * view.sceneRect().height() - 2  # scale 2 by default
    assert image.pixelColor(1, image.height() - 2).name() == "#ffffff"


def test_export_svg_writes_vector_file(view, tmp_path):
    view.set_graph(graph_of("resnet18"))
    path = tmp_path / "graph.svg"
    view.export_svg(path)
    text = path.read_text(encoding="utf-8")
    assert "<svg" in text and "layer4.1" in text


def test_export_failures_raise_oserror(view, tmp_path):
    with pytest.raises(OSError, match="nothing to export"):
        view.export_png(tmp_path / "empty.png")
    view.set_graph(graph_of("resnet20"))
    with pytest.raises(OSError, match="PNG"):
        view.export_png(tmp_path / "missing" / "graph.png")
    with pytest.raises(OSError, match="SVG"):
        view.export_svg(tmp_path / "missing" / "graph.svg")


# -- small pieces ----------------------------------------------------------------------------
def test_module_imports_neither_torch_nor_the_inspector():
    code = ("import sys; import resnet_studio.qt.tabs.architecture.block_graph; "
            "bad = [m for m in ('torch', 'resnet_studio.core.inspect') if m in sys.modules]; "
            "sys.exit(', '.join(bad) or None)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
