"""The Architecture tab's comparison: the side-by-side graph, its table, its exports (the
command's bytes), a message for models that cannot be compared, and the tab's control."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from resnet_studio.app.compare_layout import B_OFFSET
from resnet_studio.app.graph_layout import FRAME_L, FRAME_R
from resnet_studio.cli import main
from resnet_studio.core.zoo import get_spec
from resnet_studio.qt.tabs.architecture.compare_view import CompareView
from tests.helpers import shown


@pytest.fixture
def view(qtbot):
    return shown(qtbot, CompareView(), 1000, 800)


def compared(view, qtbot, a: str, b: str, input_shape=None):
    with qtbot.waitSignal(view.comparisonShown, timeout=20_000):
        view.compare(get_spec(a), b, input_shape)
    return view.comparison


def test_resnet34_beside_its_plain_twin_marks_16_shortcuts_3_projections(view, qtbot):
    view.compare(get_spec("resnet34"), "plain")
    assert view.job.is_running()  # in the background: the window goes on
    assert "Comparing resnet34 with its plain twin" in view.headline.text()
    with qtbot.waitSignal(view.comparisonShown, timeout=20_000):
        pass
    marks = view.graph.marks()
    assert len(marks) == 16 and {m.tone for m in marks} == {"removed"}
    assert sum("projection" in m.lines[0] for m in marks) == 3
    assert view.graph.arc_kinds().count("projection") == 3  # A's arcs; B draws plain stubs
    assert view.graph.shortcuts().count(("layer2.0", "none")) == 1
    assert "16 shortcuts differ (3 projections)" in view.headline.text()
    cells = [[view.table.item(r, c).text() for c in range(view.table.columnCount())]
             for r in range(view.table.rowCount())]
    assert [row[0] for row in cells] == ["stem", "layer1", "layer2", "layer3", "layer4", "head",
                                         "total"]
    assert cells[-1][2:5] == ["21.8M", "21.6M", "−174K"]
    assert cells[2][-1] == "4 shortcuts removed (1 projection)"
    assert view.table.item(6, 4).toolTip() == "−174K (−0.8%)"


def test_both_columns_stay_aligned_when_a_stage_collapses_or_a_block_opens(view, qtbot):
    compared(view, qtbot, "resnet18", "resnet20")
    graph, lay = view.graph, view.graph.comparison_layout
    assert lay.a.boxes["layer2.0"].y == lay.b.boxes["layer2.0"].y
    graph.set_node_expanded("layer2.0", True)  # A lists a projection, B a zero-pad
    lay = graph.comparison_layout
    assert graph.is_node_expanded("layer2.0")
    assert lay.a.boxes["layer2.1"].y == lay.b.boxes["layer2.1"].y
    # clicking a stage header collapses it in both models
    frame = graph._frames["layer2"]
    graph.centerOn(frame.header_rect().center())
    pos = graph.mapFromScene(frame.header_rect().center())
    with qtbot.waitSignal(graph.stageToggled, timeout=1000) as toggled:
        qtbot.mouseClick(graph.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert toggled.args == ["layer2", True]
    lay = graph.comparison_layout
    assert set(lay.a.stage_boxes) == set(lay.b.stage_boxes) == {"layer2"}
    assert lay.a.boxes["layer3.0"].y == lay.b.boxes["layer3.0"].y
    assert [m.key for m in graph.marks() if m.key.startswith("layer2")] == ["layer2"]


def test_exports_are_the_command_s_files_and_the_side_by_side_graph(view, qtbot, tmp_path,
                                                                   capsys):
    compared(view, qtbot, "resnet50", "resnext50_32x4d")
    for kind in ("png", "svg", "csv", "json"):
        view.export(kind, tmp_path / f"gui.{kind}")
    assert main(["compare", "resnet50", "resnext50_32x4d", "--csv", str(tmp_path / "cli.csv"),
                 "--json", str(tmp_path / "cli.json")]) == 0
    capsys.readouterr()
    for kind in ("csv", "json"):
        assert (tmp_path / f"gui.{kind}").read_bytes() == (tmp_path / f"cli.{kind}").read_bytes()
    assert json.loads((tmp_path / "gui.json").read_text("utf-8"))["differences"]["groups"] == 16
    image = QImage(str(tmp_path / "gui.png"))
    scene = view.graph.sceneRect()
    assert (image.width(), image.height()) == pytest.approx((2 * scene.width(),
                                                             2 * scene.height()), abs=2)
    assert scene.width() > B_OFFSET + FRAME_R - FRAME_L  # both columns and the lane between
    svg = (tmp_path / "gui.svg").read_text("utf-8")
    for text in ("resnet50", "resnext50_32x4d", "groups 1 → 32", "conv2 (3x3)"):
        assert text in svg


def test_models_that_cannot_take_the_same_input_say_so_in_the_view(view, qtbot, tmp_path):
    gray = tmp_path / "gray20.json"
    replace(get_spec("resnet20"), in_channels=1, name="gray20").save(gray)
    with qtbot.waitSignal(view.comparisonFailed, timeout=20_000) as failed:
        view.compare(get_spec("resnet18"), str(gray))
    assert failed.args[0] == ("cannot compare resnet18 with gray20: resnet18 takes 3-channel "
                              "images, gray20 1-channel ones (no input fits both)")
    assert view.graph.message().startswith("Cannot compare resnet18 with gray20: resnet18 takes")
    assert view.table.rowCount() == 0 and not view.export_button.isEnabled()
    with pytest.raises(OSError, match="nothing to export"):
        view.export("csv", tmp_path / "x.csv")
    with qtbot.waitSignal(view.comparisonFailed, timeout=20_000) as failed:
        view.compare(get_spec("resnet18"), "resnet9")
    assert view.graph.message().startswith("Unknown model 'resnet9'.")


def test_the_tab_s_compare_control_follows_the_sidebar_model(qtbot):
    from resnet_studio.app.summary import inspect_model
    from resnet_studio.qt.tabs.architecture.tab import ArchitectureTab

    tab = ArchitectureTab()
    qtbot.addWidget(tab)
    tab.model_changed(inspect_model(get_spec("resnet20")))
    menu = tab.compare_button.menu()
    assert menu.actions()[0].text() == "Its plain twin (no shortcuts)"
    with qtbot.waitSignal(tab.compare_view.comparisonShown, timeout=20_000):
        menu.actions()[0].trigger()
    assert tab.pages.currentWidget() is tab.compare_view
    assert tab.compare_view.comparison.names == ("resnet20", "plain_resnet20")
    with qtbot.waitSignal(tab.compare_view.comparisonShown, timeout=20_000):
        tab.model_changed(inspect_model(get_spec("resnet32")))  # the twin follows the model
    assert tab.compare_view.comparison.names == ("resnet32", "plain_resnet32")
    tab.compare_view.close_button.click()
    assert tab.pages.currentWidget() is tab.splitter
