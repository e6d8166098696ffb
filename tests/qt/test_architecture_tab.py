"""The Architecture tab while the next model is inspected: the last graph and table stay where
they were, greyed with one line of text, and nothing beside them moves them."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from resnet_studio.core.inspect import summarize
from resnet_studio.core.zoo import get_spec


def test_the_last_model_stays_in_place_greyed_until_the_next_is_drawn(qtbot):
    from resnet_studio.qt.tabs.architecture.tab import ArchitectureTab

    tab = ArchitectureTab()
    qtbot.addWidget(tab)
    tab.resize(1280, 720)
    tab.show()
    bar = tab.table.memory_bar
    with qtbot.waitSignal(bar.estimated, timeout=30_000,
                          check_params_cb=lambda report: report is not None):
        tab.model_changed(last := summarize(get_spec("resnet20")))
    QApplication.processEvents()
    assert tab.memory_line.text().startswith("Training at batch 64: peak ≈ ")
    graph_at, table_at = tab.graph.geometry(), tab.table.geometry()

    tab.model_pending("resnet1202")
    QApplication.processEvents()
    # the old graph is still drawn, under a veil naming the model on its way
    assert tab.graph.graph() is last.graph and tab.graph.visible_node_ids()
    assert tab.graph_stale._veil.isVisible() and tab.table_stale._veil.isVisible()
    assert tab.graph_stale.label_text() == tab.table_stale.label_text() == \
        "Inspecting resnet1202…"
    assert tab.memory_line.text() == ""  # the last model's memory is not passed off as this one's
    # the shorter headline and the empty memory line leave the graph and table where they were
    # (a resize repaints both: tens of ms on the GUI thread for ResNet-1202's)
    assert (tab.graph.geometry(), tab.table.geometry()) == (graph_at, table_at)

    tab.model_changed(picked := summarize(get_spec("resnet1202")))
    QApplication.processEvents()
    assert not tab.graph_stale._veil.isVisible() and tab.graph.graph() is picked.graph
    # its 3,607 rows are filled a turn after the graph: greyed until then, never the last ones
    assert not tab.table_stale._veil.isVisible() and len(tab.table.visible_rows()) == 3607
    assert tab.memory_line.text().startswith("Training memory: estimating… · last layer sees")
    assert (tab.graph.geometry(), tab.table.geometry()) == (graph_at, table_at)
    assert tab.shutdown()
