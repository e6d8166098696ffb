"""The "Use in…" menu of a table of runs (the Train tab's history, the Depth Lab's tables): open
the run's trained model in another tab. The same menu drops from a button and pops up on a
right click; the window routes the choice (`MainWindow.use_trained_model`), so no tab imports
another."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QAbstractItemView, QMenu, QPushButton, QWidget

from resnet_studio.app.trained_models import USE_TARGETS

TIP = "Open this run's trained model (and its plain twin, if trained) in another tab"


def use_in_menu(parent: QWidget, chosen: Callable[[str], None]) -> QMenu:
    """One action per target tab (`USE_TARGETS`); `chosen(target key)`."""
    menu = QMenu(parent)
    for key, text in USE_TARGETS.items():
        menu.addAction(text, lambda key=key: chosen(key))
    return menu


def use_in_button(parent: QWidget, chosen: Callable[[str], None]) -> QPushButton:
    button = QPushButton("Use in…", parent, toolTip=TIP)
    button.setMenu(use_in_menu(button, chosen))
    return button


def add_use_in_context_menu(table: QAbstractItemView, run_at: Callable[[int], str | None],
                            use: Callable[[str, str], None]) -> None:
    """Right click on a row of `table` whose run (`run_at(row)`) has a model: the menu, then
    `use(run id, target)`."""

    def popup(pos: QPoint) -> None:
        index = table.indexAt(pos)
        run_id = run_at(index.row()) if index.isValid() else None
        if run_id is None:
            return
        table.selectRow(index.row())
        use_in_menu(table, lambda target: use(run_id, target)).exec(
            table.viewport().mapToGlobal(pos))

    table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    table.customContextMenuRequested.connect(popup)
