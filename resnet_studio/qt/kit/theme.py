"""Light or dark: the Fusion style with a palette that follows the system's colour scheme
(Qt 6.5+ `QStyleHints.colorScheme`), unless the user chose one in View > Colours (remembered).

`Theme.apply` sets the application's QPalette, the app's own colours (`palette.use_dark`) and
restyles the figures already on screen; widgets built afterwards pick the colours up as they
are made. It runs before the window is built, so a dark start is dark everywhere.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QMenu

from resnet_studio.qt.kit import palette
from resnet_studio.qt.kit.settings import Settings

CHOICES = ("system", "light", "dark")
SETTINGS_KEY = "view/colours"
_ROLE = QPalette.ColorRole
_DARK_ROLES = {
    _ROLE.Window: "#2b2d30", _ROLE.WindowText: "#e3e6e8", _ROLE.Base: "#1e1f22",
    _ROLE.AlternateBase: "#26282b", _ROLE.ToolTipBase: "#3a3d41", _ROLE.ToolTipText: "#e3e6e8",
    _ROLE.PlaceholderText: "#8c959c", _ROLE.Text: "#e3e6e8", _ROLE.Button: "#35383c",
    _ROLE.ButtonText: "#e3e6e8", _ROLE.BrightText: "#ff6b6b", _ROLE.Light: "#4a4e53",
    _ROLE.Midlight: "#3e4146", _ROLE.Mid: "#2f3236", _ROLE.Dark: "#1b1c1f",
    _ROLE.Shadow: "#0d0e10", _ROLE.Highlight: "#3d7fd9", _ROLE.HighlightedText: "#ffffff",
    _ROLE.Link: "#6cb0ff", _ROLE.LinkVisited: "#b39ddb",
}
_DISABLED = {_ROLE.WindowText: "#7c8287", _ROLE.Text: "#7c8287", _ROLE.ButtonText: "#7c8287",
             _ROLE.Base: "#26282b", _ROLE.Highlight: "#4a4e53"}


def dark_palette() -> QPalette:
    pal = QPalette()
    for role, colour in _DARK_ROLES.items():
        pal.setColor(role, QColor(colour))
    for role, colour in _DISABLED.items():
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(colour))
    return pal


class Theme(QObject):
    """The app's one theme (`Theme.of(app)`); `changed(dark)` after every switch."""

    changed = Signal(bool)

    def __init__(self, app: QGuiApplication, settings: Settings):
        super().__init__(app)
        self.app, self.settings = app, settings
        self.dark = False
        self._light = QPalette(app.style().standardPalette())  # Fusion's own: always light
        app.styleHints().colorSchemeChanged.connect(self.system_changed)
        self.apply()

    @classmethod
    def of(cls, app: QGuiApplication, settings: Settings) -> Theme:
        """The application's theme, made (and applied) on first use."""
        theme = app.findChild(Theme)
        return theme if theme is not None else cls(app, settings)

    def use_settings(self, settings: Settings) -> None:
        """Read and remember the choice in these settings (the window's) from now on; settings
        that hold none take the current one (`--theme` with a window that remembers nothing)."""
        if settings.value(SETTINGS_KEY) is None:
            settings.set_value(SETTINGS_KEY, self.choice)
        self.settings = settings
        self.apply()

    @property
    def choice(self) -> str:
        choice = self.settings.text(SETTINGS_KEY, "system")
        return choice if choice in CHOICES else "system"

    def set_choice(self, choice: str) -> None:
        """"system", "light" or "dark" (remembered); KeyError for anything else."""
        if choice not in CHOICES:
            raise KeyError(f"colours: '{choice}' is not one of {', '.join(CHOICES)}")
        self.settings.set_value(SETTINGS_KEY, choice)
        self.apply()

    def system_is_dark(self) -> bool:
        return self.app.styleHints().colorScheme() == Qt.ColorScheme.Dark

    def system_changed(self, _scheme=None) -> None:
        if self.choice == "system":
            self.apply()

    def apply(self) -> None:
        choice = self.choice
        dark = self.system_is_dark() if choice == "system" else choice == "dark"
        palette.use_dark(dark)
        self.app.setPalette(dark_palette() if dark else self._light)
        if dark != self.dark:
            self.dark = dark
            if "pyqtgraph" in sys.modules:  # else there is no figure yet (and no import now)
                from resnet_studio.qt.kit.plotting import restyle_plots

                restyle_plots()
            self.changed.emit(dark)


def add_colours_menu(menu: QMenu, theme: Theme) -> dict[str, QAction]:
    """View > Colours: System / Light / Dark, one checked (the theme's choice)."""
    sub = menu.addMenu("&Colours")
    group = QActionGroup(sub, exclusive=True)
    actions = {}
    for choice, text in zip(CHOICES, ("Follow the &System", "&Light", "&Dark")):
        action = sub.addAction(text)
        action.setCheckable(True)
        action.setChecked(choice == theme.choice)
        action.triggered.connect(lambda _=False, c=choice: theme.set_choice(c))
        group.addAction(action)
        actions[choice] = action
    return actions
