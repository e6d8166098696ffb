"""LayerTable: real resnet20 summary, numeric sorting, filtering, selection sync, CSV export."""

from __future__ import annotations

import csv
import io
import math
import time

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt

from resnet_studio.core.common.formatting import compact, millions
from resnet_studio.core.summary import LayerRow, ModelSummary
from resnet_studio.qt.tabs.architecture.layer_table import (
    COL_MACS,
    COL_NAME,
    COL_PARAMS,
    COL_SHAPE,
    ROW_ROLE,
    LayerTable,
)


@pytest.fixture(scope="module")
def r20() -> ModelSummary:
    from resnet_studio.core.inspect import summarize
    from resnet_studio.core.zoo import get_spec

    return summarize(get_spec("resnet20"))


@pytest.fixture
def table(qtbot, r20) -> LayerTable:
    t = LayerTable()
    qtbot.addWidget(t)
    t.resize(800, 600)
    t.set_summary(r20)
    return t


def _shown(t: LayerTable) -> list[LayerRow]:
    return t.visible_rows()


def _click_row(t: LayerTable, row: int, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """What a click does: the view's selection model selects the whole row."""
    flags = QItemSelectionModel.SelectionFlag.Rows | (
        QItemSelectionModel.SelectionFlag.Select
        if modifier == Qt.KeyboardModifier.ControlModifier
        else QItemSelectionModel.SelectionFlag.ClearAndSelect)
    t.view.selectionModel().select(t.proxy.index(row, 0), flags)


@pytest.mark.parametrize("fmt,value,text", [
    (compact, 2_359_296, "2.36M"), (compact, 40_551_040, "40.6M"), (compact, 999_999, "1.00M"),
    (compact, 0, "0"), (compact, 11_689_512, "11.7M"), (compact, 853_018, "853K"),
    (compact, 1_818_558_976, "1.82G"), (compact, 4_672, "4.67K"), (compact, 464, "464"),
    (millions, 269_722, "0.27M"), (millions, 25_557_032, "25.6M"),
])
def test_numbers_as_the_table_and_graph_show_them(fmt, value, text):
    assert fmt(value) == text


def test_rows_cells_and_footer(table, r20):
    assert table.row_count() == len(r20.layers) == table.model.rowCount()
    text = table.footer_text()
    assert "269,722" in text and "0.27M params" in text and "40.6M MACs" in text
    assert text.startswith(f"{len(r20.layers)} modules (20 weighted layers)")
    assert "input 3×32×32 → output 10" in text
    assert "showing" not in text
    # first row: the stem conv, with separators, compact MACs and a × shape
    idx = lambda c: table.proxy.index(0, c)  # noqa: E731
    assert idx(COL_NAME).data() == "conv1"
    assert idx(COL_SHAPE).data() == "16×32×32"
    assert idx(COL_PARAMS).data() == "432"
    assert idx(COL_PARAMS).data(Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight
    assert "432 parameters" in idx(COL_PARAMS).data(Qt.ItemDataRole.ToolTipRole)
    # a second call of the same ReLU is labelled with its call number
    second = next(i for i, r in enumerate(r20.layers) if r.call == 2)
    assert table.proxy.index(second, COL_NAME).data() == f"{r20.layers[second].name} (2)"
    big = next(i for i, r in enumerate(r20.layers) if r.macs == 2_359_296)
    assert table.proxy.index(big, COL_MACS).data() == "2.36M"
    assert "2,359,296" in table.proxy.index(big, COL_MACS).data(Qt.ItemDataRole.ToolTipRole)


def test_sort_by_params_is_numeric(table, r20):
    table.view.sortByColumn(COL_PARAMS, Qt.SortOrder.DescendingOrder)
    params = [r.params for r in _shown(table)]
    assert params == sorted((r.params for r in r20.layers), reverse=True)
    top = _shown(table)[0]
    assert top.params == max(r.params for r in r20.layers)
    assert top.type == "Conv2d" and top.name.startswith("layer3")  # 64→64 3×3: 36,864
    # a string sort would put "9,..." or "640" above "36,864"; numeric does not
    shown_text = [table.proxy.index(i, COL_PARAMS).data() for i in range(table.row_count())]
    assert shown_text[0] == "36,864"
    assert sorted(shown_text, reverse=True) != shown_text
    # sorting by Layer goes back to network order
    table.view.sortByColumn(COL_NAME, Qt.SortOrder.AscendingOrder)
    assert _shown(table) == list(r20.layers)
    # output shape sorts by number of values, not by text
    table.view.sortByColumn(COL_SHAPE, Qt.SortOrder.DescendingOrder)
    sizes = [math.prod(r.output_shape) for r in _shown(table)]
    assert sizes == sorted(sizes, reverse=True)


def test_sort_keeps_selection_and_filter(table, qtbot, r20):
    table.set_filter_text("layer2")
    table.select_layers(["layer2.0.conv1", "layer2.1.bn2"])
    with qtbot.assertNotEmitted(table.layersSelected):
        table.view.sortByColumn(COL_MACS, Qt.SortOrder.DescendingOrder)
    shown = _shown(table)
    assert all(r.stage == "layer2" for r in shown)
    assert [r.macs for r in shown] == sorted((r.macs for r in shown), reverse=True)
    assert set(table.selected_layers()) == {"layer2.0.conv1", "layer2.1.bn2"}
    assert table.selected_layers() == [r.name for r in shown
                                       if r.name in {"layer2.0.conv1", "layer2.1.bn2"}]
    # a new summary keeps the sort order too
    table.set_summary(r20)
    assert [r.macs for r in _shown(table)] == sorted((r.macs for r in shown), reverse=True)


def test_filter_by_type_and_name(table, r20):
    table.set_filter_text("conv")
    shown = _shown(table)
    assert shown and all(r.type == "Conv2d" for r in shown)
    assert len(shown) == sum(1 for r in r20.layers if r.type == "Conv2d")
    assert f"showing {len(shown)} rows" in table.footer_text()
    p = 100 * sum(r.params for r in shown) / r20.total_params
    assert f"{p:.1f}% of params" in table.footer_text()

    table.set_filter_text("LAYER2 Conv")  # case-insensitive, every word must match
    shown = _shown(table)
    assert shown and all(r.stage == "layer2" and r.type == "Conv2d" for r in shown)

    table.set_filter_text("")
    table.params_only.setChecked(True)
    assert [r for r in _shown(table)] == [r for r in r20.layers if r.params > 0]
    table.params_only.setChecked(False)
    assert table.row_count() == len(r20.layers)
    assert "showing" not in table.footer_text()


def test_set_summary_keeps_filter(table, r20):
    table.set_filter_text("relu")
    n = table.row_count()
    table.set_summary(r20)
    assert table.filter_edit.text() == "relu" and table.row_count() == n
    table.clear()
    assert table.row_count() == 0 and table.footer_text() == "No model"


def test_select_layers_is_silent_and_selects_every_call(table, qtbot):
    with qtbot.assertNotEmitted(table.layersSelected):
        table.select_layers(["layer1.0.relu", "layer2.1.conv1"])
    assert table.selected_layers() == ["layer1.0.relu", "layer2.1.conv1"]
    rows = {i.row() for i in table.view.selectionModel().selectedRows()}
    names = [table.proxy.index(r, 0).data(ROW_ROLE).name for r in rows]
    assert names.count("layer1.0.relu") == 2  # both calls of the block's ReLU
    assert len(rows) == 3
    with qtbot.assertNotEmitted(table.layersSelected):
        table.select_layers([])
    assert table.selected_layers() == []


def test_user_selection_emits_names(table, qtbot, r20):
    i = next(k for k, r in enumerate(r20.layers) if r.name == "layer3.2.conv2")
    with qtbot.waitSignal(table.layersSelected, timeout=1000) as sig:
        _click_row(table, i)
    assert sig.args == [["layer3.2.conv2"]]
    # ctrl-click adds a row; names come back unique and in table order
    j = next(k for k, r in enumerate(r20.layers) if r.name == "conv1")
    with qtbot.waitSignal(table.layersSelected, timeout=1000) as sig:
        _click_row(table, j, Qt.KeyboardModifier.ControlModifier)
    assert sig.args == [["conv1", "layer3.2.conv2"]]


def test_user_click_emits(table, qtbot):
    table.show()
    qtbot.waitExposed(table)
    rect = table.view.visualRect(table.proxy.index(2, COL_NAME))
    with qtbot.waitSignal(table.layersSelected, timeout=1000) as sig:
        qtbot.mouseClick(table.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert sig.args == [[table.proxy.index(2, 0).data(ROW_ROLE).name]]


def test_export_csv(table, tmp_path):
    out = tmp_path / "sub" / "layers.csv"
    table.export_csv(out)
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    total = next(r for r in rows if r[0] == "TOTAL")
    assert total[3] == "269722"
    assert len(rows) == 1 + table.model.rowCount() + 1
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError):
        table.export_csv(blocker / "layers.csv")  # parent is a file


def test_many_rows_are_fast(qtbot, r20):
    """ResNet-1202 has ~3,600 rows: filling, filtering and sorting stay interactive."""
    rows = tuple(LayerRow(f"layer{k % 3 + 1}.{k}.conv{k % 2 + 1}", "Conv2d", (16, 32, 32),
                          k * 7 % 1000, k * 13 % 5000) for k in range(3600))
    big = ModelSummary(r20.spec, r20.input_shape, rows, r20.graph,
                       sum(r.params for r in rows), sum(r.macs for r in rows), (10,))
    t = LayerTable()
    qtbot.addWidget(t)
    t.resize(800, 600)
    t.show()
    start = time.perf_counter()
    t.set_summary(big)
    t.view.sortByColumn(COL_PARAMS, Qt.SortOrder.DescendingOrder)
    t.set_filter_text("layer2")
    t.select_layers([r.name for r in rows[:500]])
    qtbot.wait(1)
    assert time.perf_counter() - start < 2.0
    assert t.row_count() == 1200
