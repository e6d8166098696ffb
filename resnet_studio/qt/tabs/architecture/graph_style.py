"""How the block graph looks: colours, shortcut pens, fonts, and wrapping text into a box.

Shortcuts are styled by type: identity solid green, zero-pad (option A) dashed orange,
projection (option B) thick blue, no shortcut (plain) a faint red dotted stub. Node kinds
have their own fill, border and stripe. Text sizes are in scene pixels: the graph zooms, so
its layout is the same whatever the desktop's point size.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPalette, QPen
from PySide6.QtWidgets import QApplication, QWidget

from resnet_studio.qt.kit import palette

INK = QColor("#1f2937")
TEXT = QColor("#334155")
MUTED = QColor("#64748b")
FAINT = QColor("#94a3b8")
LINE = QColor("#475569")
INNER_TEXT = QColor("#475569")
RULE = QColor("#e2e8f0")
BACKGROUND = QColor(palette.BACKGROUND)
FRAME_FILL = QColor("#f1f5f9")
FRAME_BORDER = QColor("#d5dde8")
CARD_BEHIND = QColor("#f8fafc")
WHITE = QColor("#ffffff")
DEFAULT_ACCENT = QColor("#2f80ed")

_GREY, _STEM, _HEAD, _BLOCK = "#9ca3af", "#8b6fd0", "#2f9c85", "#94a3b8"
KIND_FILL = {"input": QColor("#f3f4f6"), "output": QColor("#f3f4f6"), "stem": QColor("#f5f0ff"),
             "head": QColor("#ecf8f5"), "block": WHITE, "stage": WHITE}
KIND_EDGE = {"input": QColor(_GREY), "output": QColor(_GREY), "stem": QColor(_STEM),
             "head": QColor(_HEAD), "block": QColor(_BLOCK), "stage": QColor(_BLOCK)}
KIND_STRIPE = {**KIND_EDGE, "block": MUTED, "stage": MUTED}


@dataclass(frozen=True)
class ArcStyle:
    color: QColor
    width: float
    dash: Qt.PenStyle

    def pen(self) -> QPen:
        pen = QPen(self.color, self.width, self.dash, Qt.PenCapStyle.RoundCap,
                   Qt.PenJoinStyle.RoundJoin)
        if self.dash == Qt.PenStyle.DashLine:
            pen.setDashPattern([4.0, 2.5])
        return pen


ARC_STYLES = {
    "identity": ArcStyle(QColor("#16a34a"), 2.0, Qt.PenStyle.SolidLine),
    "zero_pad": ArcStyle(QColor("#ea7a0b"), 2.0, Qt.PenStyle.DashLine),
    "projection": ArcStyle(QColor("#2563eb"), 3.0, Qt.PenStyle.SolidLine),
    "none": ArcStyle(QColor(220, 38, 38, 150), 1.6, Qt.PenStyle.DotLine),
}


@dataclass
class Fonts:
    title: QFont
    body: QFont
    small: QFont
    header: QFont
    title_fm: QFontMetricsF
    body_fm: QFontMetricsF
    small_fm: QFontMetricsF
    header_fm: QFontMetricsF

    @classmethod
    def from_font(cls, base: QFont) -> Fonts:
        """The app's font family at fixed pixel sizes."""

        def make(px: int, bold: bool = False) -> QFont:
            font = QFont(base)
            font.setPixelSize(px)
            font.setBold(bold)
            return font

        title, body, small, header = make(13, True), make(12), make(11), make(12, True)
        return cls(title, body, small, header, QFontMetricsF(title), QFontMetricsF(body),
                   QFontMetricsF(small), QFontMetricsF(header))


def accent_color(widget: QWidget) -> QColor:
    """The desktop's selection colour: the halo and border of the selected box."""
    pal = widget.palette() if QApplication.instance() else QPalette()
    c = pal.color(QPalette.ColorRole.Highlight)
    return c if c.isValid() else DEFAULT_ACCENT


def wrap(lines: tuple[str, ...], fm: QFontMetricsF, width: float,
         indent: float = 14.0) -> list[tuple[str, float]]:
    """(text, indent) rows: each line broken after ", " or before " (" where it is too wide."""
    rows: list[tuple[str, float]] = []
    for line in lines:
        rest, ind = line, 0.0
        while fm.horizontalAdvance(rest) > width - ind:
            cuts = [i + 1 for i in range(len(rest)) if rest.startswith(", ", i)]
            cuts += [i for i in range(len(rest)) if rest.startswith(" (", i)]
            fitting = [c for c in cuts if 0 < c < len(rest)
                       and fm.horizontalAdvance(rest[:c]) <= width - ind]
            if not fitting:
                break  # no good place: elided when painted
            cut = max(fitting)
            rows.append((rest[:cut].rstrip(), ind))
            rest, ind = rest[cut:].lstrip(), indent
        rows.append((rest, ind))
    return rows
