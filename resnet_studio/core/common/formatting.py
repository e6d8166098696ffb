"""Number, shape and time formatting shared by the window and the command line."""

from __future__ import annotations

import math


def compact(n: float) -> str:
    """Three significant digits: 2359296 -> "2.36M", 853018 -> "853K", 464 -> "464"."""
    if abs(n) < 1000:
        return f"{n:,.0f}"
    units = ((1e3, "K"), (1e6, "M"), (1e9, "G"), (1e12, "T"))
    for i, (div, unit) in enumerate(units):
        v = n / div
        decimals = max(0, 2 - int(math.floor(math.log10(max(abs(v), 1)))))
        text = f"{v:.{decimals}f}"
        if abs(float(text)) < 1000 or i == len(units) - 1:
            return text + unit
    raise AssertionError("unreachable")


def millions(n: int) -> str:
    """Parameter counts the way the papers quote them: 0.27M, 1.7M... 25.6M, 143M."""
    v = n / 1e6
    if v >= 100:
        return f"{v:.0f}M"
    if v >= 10:
        return f"{v:.1f}M"
    return f"{v:.2f}M"


def shape_text(shape: tuple[int, ...]) -> str:
    """(32, 16, 16) -> "32×16×16"."""
    return "×".join(str(d) for d in shape) if shape else "–"


def duration(seconds: float | None, missing: str = "–") -> str:
    """Elapsed or remaining time the way a clock shows it: 75 -> "1:15", 3725 -> "1:02:05"."""
    if seconds is None or not math.isfinite(seconds):
        return missing
    seconds = int(round(max(seconds, 0)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def percent(fraction: float | None, missing: str = "–", decimals: int = 2) -> str:
    """0.0875 -> "8.75%"."""
    return missing if fraction is None else f"{100 * fraction:.{decimals}f}%"
