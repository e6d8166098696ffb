"""The Architecture tab's receptive field columns, its training-memory column and the line
under the graph: the same numbers as `summary --memory`, exported the same way."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from resnet_studio.cli import main
from resnet_studio.core.inspect import summarize
from resnet_studio.core.zoo import get_spec
from resnet_studio.qt.tabs.architecture.layer_model import COL_JUMP, COL_RF, COL_SAVED


def _cell(table, name: str, column: int, role=Qt.ItemDataRole.DisplayRole):
    rows = [r.name for r in table.visible_rows()]
    return table.proxy.index(rows.index(name), column).data(role)


def test_receptive_field_columns_and_their_tooltip(qtbot):
    from resnet_studio.qt.tabs.architecture.layer_table import LayerTable

    table = LayerTable()
    qtbot.addWidget(table)
    table.set_summary(summarize(get_spec("resnet50")))
    assert [_cell(table, n, COL_RF) for n in ("conv1", "maxpool", "avgpool")] == \
        ["7", "11", "all"]
    assert _cell(table, "layer4.2.conv3", COL_JUMP) == "32"
    assert "427×427 input pixels" in _cell(table, "layer4.2.conv3", COL_RF,
                                          Qt.ItemDataRole.ToolTipRole)
    tip = table.model.headerData(COL_RF, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert "483 pixels for ResNet-v1-50" in tip and "v1.5" in tip and "427" in tip
    assert _cell(table, "conv1", COL_SAVED) == ""  # no estimate asked for: an empty column


def test_memory_column_line_and_exports_equal_the_command(qtbot, tmp_path, capsys):
    from resnet_studio.qt.tabs.architecture.tab import ArchitectureTab

    tab = ArchitectureTab()
    qtbot.addWidget(tab)
    bar = tab.table.memory_bar
    bar.batch.setValue(128)
    bar.budget.setText("500MB")
    with qtbot.waitSignal(bar.estimated, timeout=30_000,
                          check_params_cb=lambda report: report is not None):
        tab.model_changed(summarize(get_spec("resnet20")))
    assert _cell(tab.table, "conv1", COL_SAVED) == "1.6 MB"  # 128 images of 3x32x32 floats
    assert tab.memory_line.text() == (
        "Training at batch 128: peak ≈ 203.0 MB (saved activations 194.6 MB, weights + "
        "gradients + optimizer 3.2 MB) · in 500.0 MB: batch 317 · last layer sees 81×81 px, "
        "stride 4")
    gui_csv, cli_csv = tmp_path / "gui.csv", tmp_path / "cli.csv"
    tab.table.export_csv(gui_csv)
    assert main(["summary", "resnet20", "--memory", "--batch-size", "128", "--budget", "500MB",
                 "--csv", str(cli_csv)]) == 0
    capsys.readouterr()
    assert gui_csv.read_text() == cli_csv.read_text()

    bar.budget.setText("lots")
    with qtbot.waitSignal(bar.estimated, timeout=30_000):
        bar.recompute()
    assert tab.memory_line.text().startswith(
        "Training memory: memory budget 'lots' is not a size such as 8GiB, 16GB or 500MB")
    assert _cell(tab.table, "conv1", COL_SAVED) == ""
    assert tab.shutdown()


@pytest.mark.parametrize("column", [COL_RF, COL_SAVED])
def test_new_columns_sort_numerically(qtbot, column):
    from resnet_studio.app.summary import estimate_memory
    from resnet_studio.qt.tabs.architecture.layer_table import LayerTable

    table = LayerTable()
    qtbot.addWidget(table)
    summary = summarize(get_spec("resnet20"))
    table.set_summary(summary)
    table.set_memory(estimate_memory(summary, 8))
    table.view.sortByColumn(column, Qt.SortOrder.DescendingOrder)
    first = table.visible_rows()[0]
    assert first.name == ("avgpool" if column == COL_RF else "bn1")  # ties keep network order


def test_memory_settings_are_remembered_for_the_next_window(qtbot):
    from resnet_studio.qt.kit.settings import Settings
    from resnet_studio.qt.kit.tab import TabContext
    from resnet_studio.qt.tabs.architecture.tab import ArchitectureTab

    settings = Settings(remember=False)  # one in-memory store shared by both "sessions"
    first = ArchitectureTab(TabContext(settings=settings))
    qtbot.addWidget(first)
    bar = first.table.memory_bar
    bar.batch.setValue(256)
    bar.precision.setCurrentText("bf16 autocast")
    bar.optimizer.setCurrentText("AdamW")
    bar.budget.setText("8GiB")
    bar.budget.editingFinished.emit()

    second = ArchitectureTab(TabContext(settings=settings))
    qtbot.addWidget(second)
    again = second.table.memory_bar
    assert (again.batch.value(), again.precision.currentText(), again.optimizer.currentText(),
            again.budget.text()) == (256, "bf16 autocast", "AdamW", "8GiB")
