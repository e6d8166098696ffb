"""The window's Run menu: Start / Pause / Stop training (the Train tab's buttons) and Run the
Depth Lab's experiment, with shortcuts.

Each action presses its tab's button, so it does exactly what the button does, and is enabled
exactly when the button is. A tab not built yet is built when its action is chosen: Start and
Run experiment are offered before (the tab's form starts valid), Pause and Stop are not (nothing
can run in a tab that does not exist).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QPushButton

# action name -> (text, shortcut, tab key, the tab's button attribute)
RUN_ACTIONS = {
    "start": ("&Start Training", "Ctrl+R", "train", "start_button"),
    "pause": ("&Pause Training", "Ctrl+P", "train", "pause_button"),
    "stop": ("S&top Training", "Ctrl+.", "train", "stop_button"),
    "depth_lab": ("Run the &Depth Lab Experiment", "Ctrl+Shift+R", "depth_lab", "run_button"),
}
OFFERED_BEFORE_BUILT = {"start", "depth_lab"}


def _button(tab, attribute: str) -> QPushButton:
    return getattr(tab.controls, attribute) if attribute == "run_button" \
        else getattr(tab, attribute)


class RunMenu(QObject):
    """Builds the menu's actions on `menu` and keeps them in step with the tabs' buttons."""

    def __init__(self, window, menu: QMenu):
        super().__init__(window)
        self.window = window
        self.actions: dict[str, QAction] = {}
        for name, (text, shortcut, _key, _attr) in RUN_ACTIONS.items():
            if name == "depth_lab":
                menu.addSeparator()
            action = menu.addAction(text)
            action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(lambda _=False, n=name: self.trigger(n))
            self.actions[name] = action
        menu.aboutToShow.connect(self.refresh)  # Pause reads "Resume" while paused
        window.tabs.tabBuilt.connect(self._tab_built)
        for key in ("train", "depth_lab"):
            if window.tabs.is_built(key):
                self._tab_built(key, window.tabs.tab(key))
        self.refresh()

    def button(self, name: str) -> QPushButton | None:
        """The tab's button behind an action (None: its tab is not built yet)."""
        _text, _shortcut, key, attribute = RUN_ACTIONS[name]
        if not self.window.tabs.is_built(key):
            return None
        return _button(self.window.tabs.tab(key), attribute)

    def trigger(self, name: str) -> None:
        """Show the action's tab and press its button (if it can be pressed now)."""
        self.window.show_tab(RUN_ACTIONS[name][2])
        button = self.button(name)
        if button is not None and button.isEnabled():
            button.click()
        self.refresh()

    def refresh(self) -> None:
        for name, action in self.actions.items():
            button = self.button(name)
            if button is None:
                action.setEnabled(name in OFFERED_BEFORE_BUILT)
                continue
            action.setEnabled(button.isEnabled())
            if name == "pause":
                action.setText("&Resume Training" if button.text() == "Resume"
                               else RUN_ACTIONS[name][0])

    def _tab_built(self, key: str, _tab) -> None:
        for name, (_text, _shortcut, tab_key, _attr) in RUN_ACTIONS.items():
            if tab_key == key:
                self.button(name).installEventFilter(self)
        self.refresh()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt)
        if event.type() == QEvent.Type.EnabledChange:
            self.refresh()
        return False
