"""The window's tabs, each built the first time it is needed.

Building every tab at start-up imports pyqtgraph, numpy and each tab's views before the window
can paint (about a second on a small machine). Only the tab the user sees first is built with
the window; the others are imported and built when first shown, or when the window hands them
something (an image dropped on the window opens the Images tab).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QScrollArea, QTabWidget, QWidget

from resnet_studio.qt.kit.tab import Tab, TabContext


@dataclass(frozen=True)
class TabEntry:
    key: str  # also the package under resnet_studio.qt.tabs
    title: str
    class_name: str

    def build(self, context: TabContext) -> Tab:
        module = importlib.import_module(f"resnet_studio.qt.tabs.{self.key}")
        return getattr(module, self.class_name)(context)


TABS = (
    TabEntry("architecture", "Architecture", "ArchitectureTab"),
    TabEntry("train", "Train", "TrainTab"),
    TabEntry("depth_lab", "Depth Lab", "DepthLabTab"),
    TabEntry("gradients", "Gradients", "GradientsTab"),
    TabEntry("images", "Images", "ImagesTab"),
    TabEntry("attributions", "Attributions", "AttributionsTab"),
    TabEntry("landscape", "Landscape", "LandscapeTab"),
)


class TabPages(QTabWidget):
    """A QTabWidget of scrolling pages whose tabs are built on first use."""

    tabBuilt = Signal(str, object)  # key, the tab

    def __init__(self, context: TabContext, entries: tuple[TabEntry, ...] = TABS,
                 parent: QWidget | None = None):
        super().__init__(parent, documentMode=True)
        self.context = context
        self.entries = {e.key: e for e in entries}
        self._tabs: dict[str, Tab] = {}
        self._pages: dict[str, QScrollArea] = {}
        for entry in entries:
            # Scrolling pages keep a dense tab from forcing its minimum size on the window.
            page = QScrollArea(widgetResizable=True, frameShape=QScrollArea.Shape.NoFrame)
            self._pages[entry.key] = page
            self.addTab(page, entry.title)
        self.currentChanged.connect(lambda _i: self.tab(self.current_key()))

    def tab(self, key: str) -> Tab:
        """The tab, built now if it was not yet."""
        tab = self._tabs.get(key)
        if tab is None:
            tab = self._tabs[key] = self.entries[key].build(self.context)
            self._pages[key].setWidget(tab)
            self.tabBuilt.emit(key, tab)
        return tab

    def built(self) -> list[Tab]:
        return list(self._tabs.values())

    def is_built(self, key: str) -> bool:
        return key in self._tabs

    def current_key(self) -> str:
        page = self.currentWidget()
        return next(k for k, p in self._pages.items() if p is page)

    def show_tab(self, key: str) -> Tab:
        tab = self.tab(key)
        self.setCurrentWidget(self._pages[key])
        return tab

    def select_title(self, title: str) -> bool:
        """Show the tab with this title (case-insensitive), as saved in the settings."""
        for key, entry in self.entries.items():
            if entry.title.lower() == title.strip().lower():
                self.show_tab(key)
                return True
        return False
