"""The app's colours, in one place: messages, statuses, the net-vs-twin pair, series colours.

Colours that carry meaning are fixed (a failed run is the error red in every tab); series
colours come from the Okabe-Ito palette so curves stay distinguishable for colour-blind users.
"""

from __future__ import annotations

ERROR = "#c62828"
OK = "#2e7d32"
WARNING = "#b26a00"
MUTED = "#546e7a"
INFO = "#1565c0"
TEXT = "#37474f"
BACKGROUND = "#fbfcfe"
CARD = "#f7f9fb"

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
    return SERIES[index % len(SERIES)]


def message_style(error: bool) -> str:
    """Style sheet of a tab's one-line message label (an error, or a success)."""
    return f"color: {ERROR};" if error else f"color: {OK};"


def muted_style() -> str:
    return f"color: {MUTED};"
