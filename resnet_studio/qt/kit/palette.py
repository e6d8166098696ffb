"""The app's colours, in one place: messages, statuses, the net-vs-twin pair, series colours.

Colours that carry meaning are fixed (a failed run is the error red in every tab); series
colours come from the Okabe-Ito palette so curves stay distinguishable for colour-blind users.
The colours of text and backgrounds come in a light and a dark set: `use_dark` picks one (the
theme does, before the tabs are built; modules that copy a colour at import keep that one).
"""

from __future__ import annotations

LIGHT = {"ERROR": "#c62828", "OK": "#2e7d32", "WARNING": "#b26a00", "MUTED": "#546e7a",
         "INFO": "#1565c0", "TEXT": "#37474f", "TITLE": "#263238", "BACKGROUND": "#fbfcfe",
         "CARD": "#f7f9fb", "PLOT_BACKGROUND": "#ffffff", "AXIS": "#90a4ae",
         "GRID_MAJOR": "#e1e6ea", "GRID_MINOR": "#f0f2f4"}
# the same meanings, lighter where they are text on a dark window (contrast >= 4.5 on #2b2d30)
DARK = {"ERROR": "#ef7070", "OK": "#66bb6a", "WARNING": "#f0a640", "MUTED": "#9aa9b3",
        "INFO": "#64a8f0", "TEXT": "#d5dde3", "TITLE": "#eceff1", "BACKGROUND": "#25272a",
        "CARD": "#303338", "PLOT_BACKGROUND": "#1e1f22", "AXIS": "#78909c",
        "GRID_MAJOR": "#34383d", "GRID_MINOR": "#2a2d31"}

ERROR = OK = WARNING = MUTED = INFO = TEXT = TITLE = BACKGROUND = CARD = ""
PLOT_BACKGROUND = AXIS = GRID_MAJOR = GRID_MINOR = ""
_dark = False


def use_dark(dark: bool) -> None:
    """Switch the text and background colours (the QPalette is the theme's business)."""
    global _dark
    _dark = dark
    globals().update(DARK if dark else LIGHT)


def is_dark() -> bool:
    return _dark


use_dark(False)

RESIDUAL = "#1565c0"  # blue: the residual network, everywhere
PLAIN = "#e65100"  # orange: its plain twin, everywhere
RATIO = "#6a1b9a"

RUN_STATUS = {"finished": OK, "running": INFO, "paused": "#6d4c41", "failed": ERROR,
              "diverged": ERROR, "cancelled": "#757575", "stopped": "#ef6c00",
              "interrupted": "#ef6c00", "pending": "#757575"}
VERDICT_STATUS = {"healthy": OK, "growing": WARNING, "shrinking": WARNING,
                  "exploding": ERROR, "vanishing": ERROR, "non-finite": ERROR}

# Okabe & Ito (2008): distinguishable with every common colour-vision deficiency.
SERIES = ["#0072b2", "#009e73", "#e69f00", "#d55e00", "#222222", "#cc79a7", "#56b4e9",
          "#8c564b", "#7f7f7f", "#bcbd22", "#17becf"]


def series_colour(index: int) -> str:
    colour = SERIES[index % len(SERIES)]
    return "#e0e0e0" if _dark and colour == "#222222" else colour  # Okabe-Ito's black


def message_style(error: bool) -> str:
    """Style sheet of a tab's one-line message label (an error, or a success)."""
    return f"color: {ERROR};" if error else f"color: {OK};"


def muted_style() -> str:
    return f"color: {MUTED};"
