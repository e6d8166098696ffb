"""The Architecture tab's block graph: input → stem → stages of residual blocks → head → output.

One rounded box per node, data flowing top to bottom, and every residual shortcut drawn as an
arc on the right of its block that ends in a ⊕ (the addition), styled by type: identity (solid
green), zero-pad / option A (dashed orange), projection / option B (thick blue, "1×1" tag). A
plain block (no shortcut) gets a faint red "cut" stub instead, so plain and residual nets look
different at a glance. Stages are framed and can be collapsed into one box (deep nets start
collapsed). Wheel zooms around the cursor, dragging pans, clicking a block lists its layers.

Imports no torch and no inspector: it only reads a `BlockGraph` (plain dataclasses).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, QSize, QSizeF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QStyleOptionGraphicsItem,
    QWidget,
)

from resnet_studio.core.common.formatting import compact, shape_text

if TYPE_CHECKING:
    from resnet_studio.core.summary import BlockGraph, GraphNode, StageInfo

__all__ = ["BlockGraphView", "COLLAPSE_OVER"]

COLLAPSE_OVER = 12  # stages with more blocks than this start collapsed

# -- geometry (scene units = pixels at zoom 1) ---------------------------------------------
BOX_W = 276.0  # width of a block box
END_W = 170.0  # width of the input / output boxes
ARC_X = BOX_W / 2 + 26  # x of the vertical run of a shortcut arc
FRAME_L = -BOX_W / 2 - 30  # a little wider on the left: stage names
FRAME_R = ARC_X + 22
HEADER_H = 28.0  # stage header band
BRANCH_GAP = 13.0  # branch dot → box top
ADD_GAP = 17.0  # box bottom → centre of the ⊕
ADD_R = 7.0
LINK = 22.0  # free run between two units (⊕ / box bottom → next box top)
STAGE_GAP = 26.0  # between a stage frame and what is above / below it
MARGIN = 24.0  # around the whole graph
LEGEND_TITLE = "Shortcuts"
LEGEND_SAMPLE = 30.0  # length of the line sample in the legend

# -- colours -------------------------------------------------------------------------------
INK = QColor("#1f2937")
MUTED = QColor("#64748b")
FAINT = QColor("#94a3b8")
LINE = QColor("#475569")
BACKGROUND = QColor("#fbfcfe")
FRAME_FILL = QColor("#f1f5f9")
FRAME_BORDER = QColor("#d5dde8")
KIND_FILL = {"input": QColor("#f3f4f6"), "output": QColor("#f3f4f6"),
             "stem": QColor("#f5f0ff"), "head": QColor("#ecf8f5"), "block": QColor("#ffffff"),
             "stage": QColor("#ffffff")}
KIND_EDGE = {"input": QColor("#9ca3af"), "output": QColor("#9ca3af"),
             "stem": QColor("#8b6fd0"), "head": QColor("#2f9c85"), "block": QColor("#94a3b8"),
             "stage": QColor("#94a3b8")}
KIND_STRIPE = {"input": QColor("#9ca3af"), "output": QColor("#9ca3af"),
               "stem": QColor("#8b6fd0"), "head": QColor("#2f9c85"), "block": QColor("#64748b"),
               "stage": QColor("#64748b")}


@dataclass(frozen=True)
class ArcStyle:
    color: QColor
    width: float
    dash: Qt.PenStyle
    label: str
    tag: str
    explain: str


ARC_STYLES = {
    "identity": ArcStyle(QColor("#16a34a"), 2.0, Qt.PenStyle.SolidLine, "identity", "",
                         "identity: x is added unchanged, y = F(x) + x (no parameters)"),
    "zero_pad": ArcStyle(QColor("#ea7a0b"), 2.0, Qt.PenStyle.DashLine, "zero-pad (A)", "pad",
                         "zero-pad, option A: x is subsampled and padded with zero channels "
                         "to match F(x) (no parameters)"),
    "projection": ArcStyle(QColor("#2563eb"), 3.0, Qt.PenStyle.SolidLine, "projection (1×1)",
                           "1×1", "projection, option B: a 1×1 convolution + BN reshapes x "
                           "to match F(x)"),
    "none": ArcStyle(QColor(220, 38, 38, 150), 1.6, Qt.PenStyle.DotLine, "no shortcut (plain)",
                     "", "no shortcut: a plain block, y = F(x); the signal must pass every layer"),
}
ARC_ORDER = ("identity", "zero_pad", "projection", "none")


# -- formatting ----------------------------------------------------------------------------


def _shape_change(a: tuple[int, ...], b: tuple[int, ...]) -> str:
    return shape_text(b) if a == b else f"{shape_text(a)} → {shape_text(b)}"


def _dominant_shortcut(kinds: list[str]) -> str:
    """The kind that stands for a collapsed stage: the most common one (ties: the milder one)."""
    if not kinds:
        return "none"
    return max(ARC_ORDER, key=lambda k: (kinds.count(k), -ARC_ORDER.index(k)))


def _inner_lines(node: GraphNode) -> tuple[str, ...]:
    """node.summary with each line named relative to the node ("downsample.0: Conv2d …"
    rather than "0: Conv2d …") when the layer names line up with the lines."""
    lines = node.summary
    if len(node.layers) != len(lines):
        return lines
    out = []
    prefix = node.id + "."
    for name, line in zip(node.layers, lines):
        rel = name[len(prefix):] if name.startswith(prefix) else name
        short = rel.rsplit(".", 1)[-1]
        if rel != short and line.startswith(short + ":"):
            line = rel + line[len(short):]
        out.append(line)
    return tuple(out)


def _wrap(lines: tuple[str, ...], fm: QFontMetricsF, width: float,
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


@dataclass
class _Fonts:
    title: QFont
    body: QFont
    small: QFont
    header: QFont
    title_fm: QFontMetricsF
    body_fm: QFontMetricsF
    small_fm: QFontMetricsF
    header_fm: QFontMetricsF

    @classmethod
    def from_font(cls, base: QFont) -> _Fonts:
        """The app's font family at fixed pixel sizes: the graph is zoomable, so text is sized
        in scene units and the layout is the same whatever the desktop's point size."""

        def make(px: int, bold: bool = False) -> QFont:
            font = QFont(base)
            font.setPixelSize(px)
            font.setBold(bold)
            return font

        title, body, small, header = make(13, True), make(12), make(11), make(12, True)
        return cls(title, body, small, header, QFontMetricsF(title), QFontMetricsF(body),
                   QFontMetricsF(small), QFontMetricsF(header))


# -- scene items ---------------------------------------------------------------------------
def _arrow_head(tip: QPointF, direction: QPointF, size: float = 7.0) -> QPainterPath:
    """A filled triangle pointing along `direction` (unit vector) with its tip at `tip`."""
    dx, dy = direction.x(), direction.y()
    base = QPointF(tip.x() - dx * size, tip.y() - dy * size)
    nx, ny = -dy * size * 0.5, dx * size * 0.5
    path = QPainterPath(tip)
    path.lineTo(base.x() + nx, base.y() + ny)
    path.lineTo(base.x() - nx, base.y() - ny)
    path.closeSubpath()
    return path


class _BoxItem(QGraphicsItem):
    """A node box (or, with `stage` set, a collapsed stage). Paints its own text: one item."""

    def __init__(self, view: BlockGraphView, *, key: str, kind: str, title: str, right: str,
                 shape_text: str, lines: tuple[str, ...], width: float,
                 expandable: bool, expanded: bool, stage: str | None = None,
                 stacked: bool = False, footer: str = "", title_right: str = ""):
        super().__init__()
        self.view_ref = view
        self.key = key  # node id, or stage name for a collapsed stage
        self.kind = kind
        self.stage_name = stage  # set for collapsed-stage boxes
        self.title, self.right, self.shape_text = title, right, shape_text
        f = view._fonts
        # the inner layers, wrapped to the box (continuations indented)
        self.lines = _wrap(lines, f.small_fm, width - 14 - 10 - 4) if expanded else []
        self.footer = footer
        self.title_right = title_right
        self.expandable, self.expanded, self.stacked = expandable, expanded, stacked
        self.selected = False
        self.hovered = False
        self.pad = 8.0
        h = self.pad + f.title_fm.height() + 3 + f.body_fm.height()
        if footer:
            h += 2 + f.small_fm.height()
        if self.lines:
            h += 9 + len(self.lines) * (f.small_fm.height() + 1)
        self.w, self.h = width, h + self.pad
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setZValue(3)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        extra = 9.0 if self.stacked else 0.0
        return QRectF(-4, -4 - extra, self.w + 8 + extra, self.h + 8 + extra)

    def shape(self) -> QPainterPath:
        p = QPainterPath()
        p.addRoundedRect(QRectF(0, 0, self.w, self.h), 7, 7)
        return p

    def hoverEnterEvent(self, event) -> None:  # noqa: N802
        self.hovered = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802
        self.hovered = False
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        view = self.view_ref
        f = view._fonts
        rect = QRectF(0, 0, self.w, self.h)
        fill, edge = KIND_FILL[self.kind], KIND_EDGE[self.kind]
        if self.stacked:  # two cards peeking out behind: "many blocks in here"
            for off in (8.0, 4.0):
                painter.setPen(QPen(edge.lighter(115), 1.0))
                painter.setBrush(QColor("#f8fafc"))
                painter.drawRoundedRect(rect.translated(off, -off), 7, 7)
        if self.selected:
            halo = QColor(view._accent)
            halo.setAlpha(60)
            painter.setPen(QPen(halo, 7.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect, 7, 7)
        # body
        border = QColor(view._accent) if self.selected else (edge.darker(125) if self.hovered
                                                              else edge)
        painter.setPen(QPen(border, 2.2 if self.selected else 1.2))
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, 7, 7)
        # left stripe in the kind's colour
        stripe = QPainterPath()
        stripe.addRoundedRect(QRectF(0.6, 0.6, 9, self.h - 1.2), 6, 6)
        cut = QPainterPath()
        cut.addRect(QRectF(4.5, 0, 6, self.h))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(KIND_STRIPE[self.kind])
        painter.drawPath(stripe.subtracted(cut))
        # text
        x0 = 14.0
        inner_w = self.w - x0 - 10
        y = self.pad
        right_w = f.small_fm.horizontalAdvance(self.right) + 6 if self.right else 0.0
        chev_w = 14.0 if self.expandable else 0.0
        if self.title_right:
            painter.setFont(f.small)
            painter.setPen(MUTED)
            painter.drawText(QRectF(x0, y, inner_w - chev_w, f.title_fm.height()),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             self.title_right)
            chev_w += f.small_fm.horizontalAdvance(self.title_right) + 8
        painter.setFont(f.title)
        painter.setPen(INK)
        title = f.title_fm.elidedText(self.title, Qt.TextElideMode.ElideRight,
                                      inner_w - chev_w)
        painter.drawText(QRectF(x0, y, inner_w - chev_w, f.title_fm.height()),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title)
        if self.expandable:
            self._chevron(painter, QPointF(self.w - 14, y + f.title_fm.height() / 2))
        y += f.title_fm.height() + 3
        line_h = f.body_fm.height()
        painter.setFont(f.small)
        painter.setPen(MUTED)
        if self.right:
            painter.drawText(QRectF(x0, y, inner_w, line_h),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             self.right)
        painter.setFont(f.body)
        painter.setPen(QColor("#334155"))
        shape = f.body_fm.elidedText(self.shape_text, Qt.TextElideMode.ElideRight,
                                     inner_w - right_w)
        painter.drawText(QRectF(x0, y, inner_w - right_w, line_h),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, shape)
        y += line_h
        if self.footer:
            y += 2
            painter.setFont(f.small)
            painter.setPen(MUTED)
            painter.drawText(QRectF(x0, y, inner_w, f.small_fm.height()),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             f.small_fm.elidedText(self.footer, Qt.TextElideMode.ElideRight,
                                                   inner_w))
            y += f.small_fm.height()
        if self.lines:
            y += 4
            painter.setPen(QPen(QColor("#e2e8f0"), 1.0))
            painter.drawLine(QPointF(x0, y), QPointF(self.w - 10, y))
            y += 5
            painter.setFont(f.small)
            painter.setPen(QColor("#475569"))
            lh = f.small_fm.height() + 1
            for text, indent in self.lines:
                painter.drawText(QRectF(x0 + 4 + indent, y, inner_w - 4 - indent, lh),
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                                 f.small_fm.elidedText(text, Qt.TextElideMode.ElideRight,
                                                       inner_w - 4 - indent))
                y += lh

    def _chevron(self, painter: QPainter, c: QPointF) -> None:
        painter.setPen(QPen(FAINT if not self.hovered else MUTED, 1.6, Qt.PenStyle.SolidLine,
                            Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        p = QPainterPath()
        if self.expanded:  # ^ : click to fold
            p.moveTo(c.x() - 4, c.y() + 2)
            p.lineTo(c.x(), c.y() - 2)
            p.lineTo(c.x() + 4, c.y() + 2)
        else:  # v : click to list the layers
            p.moveTo(c.x() - 4, c.y() - 2)
            p.lineTo(c.x(), c.y() + 2)
            p.lineTo(c.x() + 4, c.y() - 2)
        painter.drawPath(p)


class _StageFrame(QGraphicsItem):
    """The light frame around a stage, with a clickable header that collapses it."""

    def __init__(self, view: BlockGraphView, stage: StageInfo, rect: QRectF, collapsed: bool,
                 left: str, right: str):
        super().__init__()
        self.view_ref = view
        self.name = stage.name
        self.rect = rect
        self.collapsed = collapsed
        self.left, self.right = left, right
        self.hovered = False
        self.setAcceptHoverEvents(True)
        self.setZValue(-10)

    def header_rect(self) -> QRectF:
        return QRectF(self.rect.left(), self.rect.top(), self.rect.width(), HEADER_H)

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self.rect.adjusted(-2, -2, 2, 2)

    def hoverMoveEvent(self, event) -> None:  # noqa: N802
        over = self.header_rect().contains(event.pos())
        if over != self.hovered:
            self.hovered = over
            if over:
                self.setCursor(Qt.CursorShape.PointingHandCursor)
            else:
                self.unsetCursor()
            self.update()

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802
        self.hovered = False
        self.unsetCursor()
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        f = self.view_ref._fonts
        painter.setPen(QPen(FRAME_BORDER, 1.0))
        painter.setBrush(FRAME_FILL)
        painter.drawRoundedRect(self.rect, 10, 10)
        head = self.header_rect()
        if self.hovered:
            band = QPainterPath()
            band.addRoundedRect(head, 10, 10)
            low = QPainterPath()
            low.addRect(QRectF(head.left(), head.center().y(), head.width(), head.height() / 2))
            band = band.united(low)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#e2e8f0"))
            painter.drawPath(band)
        # ▸ / ▾ toggle
        c = QPointF(head.left() + 14, head.center().y())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(MUTED)
        tri = QPainterPath()
        if self.collapsed:
            tri.moveTo(c.x() - 2.5, c.y() - 4.5)
            tri.lineTo(c.x() + 3.5, c.y())
            tri.lineTo(c.x() - 2.5, c.y() + 4.5)
        else:
            tri.moveTo(c.x() - 4.5, c.y() - 2.5)
            tri.lineTo(c.x() + 4.5, c.y() - 2.5)
            tri.lineTo(c.x(), c.y() + 3.5)
        tri.closeSubpath()
        painter.drawPath(tri)
        # text: name left of the data line, numbers right of it (the line runs between them)
        half_l = -head.left() - 7 - 25
        painter.setFont(f.header)
        painter.setPen(QColor("#334155"))
        painter.drawText(QRectF(head.left() + 25, head.top(), half_l, head.height()),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         f.header_fm.elidedText(self.left, Qt.TextElideMode.ElideRight, half_l))
        half_r = head.right() - 12 - 10
        painter.setFont(f.small)
        painter.setPen(MUTED)
        painter.drawText(QRectF(10, head.top(), half_r, head.height()),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         f.small_fm.elidedText(self.right, Qt.TextElideMode.ElideLeft, half_r))


class _LinkItem(QGraphicsItem):
    """A data edge: a vertical line on x = 0 (with an arrow head) and an optional shape label."""

    def __init__(self, view: BlockGraphView, y1: float, y2: float, arrow: bool,
                 label: str = "", label_y: float | None = None):
        super().__init__()
        self.view_ref = view
        self.y1, self.y2, self.arrow = y1, y2, arrow
        self.label = label
        self.label_y = (y1 + y2) / 2 if label_y is None else label_y
        fm = view._fonts.small_fm
        self.label_w = fm.horizontalAdvance(label) + 4 if label else 0.0
        self.setZValue(1)

    def boundingRect(self) -> QRectF:  # noqa: N802
        lw = self.label_w + 10
        return QRectF(-lw - 2, min(self.y1, self.label_y - 10) - 2, lw + 8,
                      abs(self.y2 - self.y1) + 24)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        end = self.y2 - (6.5 if self.arrow else 0)
        painter.setPen(QPen(LINE, 1.5))
        painter.drawLine(QPointF(0, self.y1), QPointF(0, end))
        if self.arrow:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(LINE)
            painter.drawPath(_arrow_head(QPointF(0, self.y2), QPointF(0, 1), 7.5))
        if self.label:
            f = self.view_ref._fonts
            h = f.small_fm.height()
            painter.setFont(f.small)
            painter.setPen(MUTED)
            painter.drawText(QRectF(-8 - self.label_w, self.label_y - h / 2, self.label_w, h),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             self.label)


class _ArcItem(QGraphicsItem):
    """One residual shortcut: branch dot → right → down → into the ⊕ below the block.
    kind "none" paints a faint red stub that stops short with a ✕ (no addition)."""

    def __init__(self, view: BlockGraphView, owner: str, kind: str, y_branch: float,
                 y_add: float, tooltip: str):
        super().__init__()
        self.view_ref = view
        self.owner, self.kind = owner, kind
        self.y_branch, self.y_add = y_branch, y_add
        self.style = ARC_STYLES[kind]
        self._path = self._make_path()
        self.setToolTip(tooltip)
        self.setZValue(2)

    def _make_path(self) -> QPainterPath:
        r = 10.0
        yb, ya = self.y_branch, self.y_add
        p = QPainterPath(QPointF(0, yb))
        if self.kind == "none":
            p.lineTo(ARC_X - r, yb)
            p.quadTo(ARC_X, yb, ARC_X, yb + r)
            p.lineTo(ARC_X, yb + (ya - yb) * 0.42)
            return p
        p.lineTo(ARC_X - r, yb)
        p.quadTo(ARC_X, yb, ARC_X, yb + r)
        p.lineTo(ARC_X, ya - r)
        p.quadTo(ARC_X, ya, ARC_X - r, ya)
        p.lineTo(ADD_R + 7.5, ya)
        return p

    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF(-ADD_R - 4, self.y_branch - 8, ARC_X + ADD_R + 28,
                      self.y_add - self.y_branch + ADD_R + 16)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        return stroker.createStroke(self._path)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        st = self.style
        pen = QPen(st.color, st.width, st.dash, Qt.PenCapStyle.RoundCap,
                   Qt.PenJoinStyle.RoundJoin)
        if st.dash == Qt.PenStyle.DashLine:
            pen.setDashPattern([4.0, 2.5])
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        f = self.view_ref._fonts
        if self.kind == "none":
            end = self._path.currentPosition()
            painter.setPen(QPen(st.color, 1.8, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            s = 4.0
            painter.drawLine(QPointF(end.x() - s, end.y() + 2), QPointF(end.x() + s, end.y() + 2
                                                                       + 2 * s))
            painter.drawLine(QPointF(end.x() + s, end.y() + 2), QPointF(end.x() - s, end.y() + 2
                                                                       + 2 * s))
            return
        # branch dot on the data line
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(st.color)
        painter.drawEllipse(QPointF(0, self.y_branch), 3.2, 3.2)
        # arrow into the ⊕
        painter.drawPath(_arrow_head(QPointF(ADD_R + 1, self.y_add), QPointF(-1, 0), 7.5))
        # ⊕
        painter.setPen(QPen(LINE, 1.4))
        painter.setBrush(QColor("#ffffff"))
        painter.drawEllipse(QPointF(0, self.y_add), ADD_R, ADD_R)
        a = ADD_R - 2.5
        painter.drawLine(QPointF(-a, self.y_add), QPointF(a, self.y_add))
        painter.drawLine(QPointF(0, self.y_add - a), QPointF(0, self.y_add + a))
        if st.tag:  # "1×1" / "pad" pill on the vertical run
            painter.setFont(f.small)
            tw = f.small_fm.horizontalAdvance(st.tag) + 8
            th = f.small_fm.height() + 1
            pill = QRectF(ARC_X - tw / 2, (self.y_branch + self.y_add) / 2 - th / 2, tw, th)
            painter.setPen(QPen(st.color, 1.0))
            painter.setBrush(QColor("#ffffff"))
            painter.drawRoundedRect(pill, th / 2, th / 2)
            painter.setPen(st.color.darker(115))
            painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, st.tag)


# -- the view ------------------------------------------------------------------------------
class BlockGraphView(QGraphicsView):
    """Interactive block graph of one ResNet. Fed a `BlockGraph` through `set_graph`."""

    nodeClicked = Signal(str)  # noqa: N815 (Qt naming) — a node box was clicked (user only)
    stageToggled = Signal(str, bool)  # noqa: N815 — a stage was (un)collapsed by a click

    ZOOM_MIN, ZOOM_MAX = 0.03, 4.0

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing
                            | QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        # the legend is painted in viewport coordinates: repaint fully instead of blitting
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setBackgroundBrush(BACKGROUND)
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.setMinimumSize(QSize(200, 200))
        self._fonts = _Fonts.from_font(self.font())
        self._accent = self._accent_color()
        self._graph: BlockGraph | None = None
        self._nodes: dict[str, GraphNode] = {}
        self._collapsed: set[str] = set()
        self._expanded: set[str] = set()
        self._selected: str | None = None
        self._message = ""
        self._boxes: dict[str, _BoxItem] = {}  # node id -> box (visible nodes only)
        self._stage_boxes: dict[str, _BoxItem] = {}  # collapsed stage -> its box
        self._frames: dict[str, _StageFrame] = {}
        self._arcs: list[_ArcItem] = []
        self._press_pos: QPointF | None = None
        self._initial_view_pending = False

    # -- public API ------------------------------------------------------------------------
    def set_graph(self, graph: BlockGraph | None) -> None:
        """Show `graph` (None clears). Stages with more than COLLAPSE_OVER blocks start
        collapsed; expanded boxes and the selection are reset."""
        if graph is None:
            self.clear()
            return
        self._graph = graph
        self._nodes = {n.id: n for n in graph.nodes}
        self._collapsed = {s.name for s in graph.stages if len(s.blocks) > COLLAPSE_OVER}
        self._expanded = set()
        self._selected = None
        self._message = ""
        self._rebuild(keep_scroll=False)
        self._initial_view_pending = True
        self._initial_view()

    def graph(self) -> BlockGraph | None:
        return self._graph

    def clear(self) -> None:
        """An empty scene (no graph, no message)."""
        self._graph = None
        self._nodes = {}
        self._collapsed, self._expanded = set(), set()
        self._selected = None
        self._message = ""
        self._rebuild(keep_scroll=False)

    def set_message(self, text: str) -> None:
        """Replace the graph by a centred placeholder text ("Loading PyTorch…", an error)."""
        self.clear()
        self._message = text
        self.viewport().update()

    def message(self) -> str:
        return self._message

    def set_stage_collapsed(self, name: str, collapsed: bool) -> None:
        """Collapse a stage into one box (or expand it). Emits nothing."""
        if self._graph is None or name not in {s.name for s in self._graph.stages}:
            raise KeyError(f"no stage named {name!r}")
        if collapsed == (name in self._collapsed):
            return
        if collapsed:
            self._collapsed.add(name)
        else:
            self._collapsed.discard(name)
        self._rebuild()

    def is_stage_collapsed(self, name: str) -> bool:
        return name in self._collapsed

    def set_node_expanded(self, node_id: str, expanded: bool) -> None:
        """List (or hide) the inner layers of a node inside its box. Emits nothing."""
        if node_id not in self._nodes:
            raise KeyError(f"no node named {node_id!r}")
        if expanded == (node_id in self._expanded):
            return
        if expanded:
            self._expanded.add(node_id)
        else:
            self._expanded.discard(node_id)
        self._rebuild()

    def is_node_expanded(self, node_id: str) -> bool:
        return node_id in self._expanded

    def select_node(self, node_id: str | None) -> None:
        """Highlight a node (or, inside a collapsed stage, its stage box) and scroll it into
        view. None or an unknown id clears the highlight. Emits nothing."""
        self._selected = node_id if node_id in self._nodes else None
        self._apply_selection()
        item = self._selected_item()
        if item is not None:
            self.ensureVisible(item.sceneBoundingRect(), 40, 40)

    def selected_node(self) -> str | None:
        return self._selected

    def highlighted(self) -> str | None:
        """Key of the box drawn highlighted: the selected node's id, or the name of the
        collapsed stage that hides it; None when nothing is selected."""
        item = self._selected_item()
        return None if item is None else item.key

    def visible_node_ids(self) -> list[str]:
        """Ids of the nodes drawn as their own box, top to bottom."""
        return list(self._boxes)

    def node_rect(self, node_id: str) -> QRectF | None:
        """Scene rectangle of a node's box (None when hidden in a collapsed stage)."""
        box = self._boxes.get(node_id)
        return box.mapRectToScene(QRectF(0, 0, box.w, box.h)) if box is not None else None

    def stage_rect(self, name: str) -> QRectF | None:
        """Scene rectangle of a stage's frame."""
        frame = self._frames.get(name)
        return QRectF(frame.rect) if frame is not None else None

    def shortcuts(self) -> list[tuple[str, str]]:
        """(owner, kind) per drawn shortcut marker, top to bottom: owner is a block id or, for
        a collapsed stage, the stage name; kind is identity | zero_pad | projection | none."""
        return [(a.owner, a.kind) for a in self._arcs]

    def arc_kinds(self) -> list[str]:
        """Kinds of the shortcut arcs drawn (plain blocks' "none" stubs are not arcs)."""
        return [a.kind for a in self._arcs if a.kind != "none"]

    def item_count(self) -> int:
        return len(self._scene.items())

    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_in(self) -> None:
        self._zoom_by(1.25, anchor_center=True)

    def zoom_out(self) -> None:
        self._zoom_by(1 / 1.25, anchor_center=True)

    def reset_zoom(self) -> None:
        """1:1 (one scene unit per pixel), keeping the centre."""
        center = self.mapToScene(self.viewport().rect().center())
        self.resetTransform()
        self.centerOn(center)

    def fit(self) -> None:
        """Fit the whole graph in the view (never magnified beyond 1:1)."""
        rect = self._scene.sceneRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.0:
            self.resetTransform()
            self.centerOn(rect.center())

    def export_png(self, path: str | Path, scale: float = 2.0) -> None:
        """The whole graph (not just what is visible) as a PNG on white, with the legend."""
        path = Path(path)
        rect = self._export_rect()
        # keep the image within what QImage and memory can take
        scale = max(0.05, min(scale, 30000 / max(rect.width(), rect.height()),
                              math.sqrt(200e6 / max(rect.width() * rect.height(), 1))))
        size = QSize(max(1, math.ceil(rect.width() * scale)),
                     max(1, math.ceil(rect.height() * scale)))
        image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
        if image.isNull():
            raise OSError(f"cannot export the graph as PNG: a {size.width()}×{size.height()} "
                          "image is too large")
        image.fill(QColor("white"))
        painter = QPainter(image)
        try:
            painter.setRenderHints(QPainter.RenderHint.Antialiasing
                                   | QPainter.RenderHint.TextAntialiasing)
            self._render_export(painter, QRectF(0, 0, size.width(), size.height()), rect)
        finally:
            painter.end()
        if not image.save(str(path), "PNG"):
            raise OSError(f"could not write the PNG file {path} (is the folder there and "
                          "writable?)")

    def export_svg(self, path: str | Path) -> None:
        """The whole graph as an SVG (vector, text stays text), with the legend."""
        from PySide6.QtSvg import QSvgGenerator

        path = Path(path)
        if not path.parent.is_dir():
            raise OSError(f"could not write the SVG file {path}: folder {path.parent} "
                          "does not exist")
        rect = self._export_rect()
        gen = QSvgGenerator()
        gen.setFileName(str(path))
        gen.setSize(QSize(math.ceil(rect.width()), math.ceil(rect.height())))
        gen.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
        gen.setResolution(96)  # 1 scene unit = 1 CSS pixel
        gen.setTitle("ResNet block graph")
        gen.setDescription("Exported from ResNet Studio")
        painter = QPainter()
        if not painter.begin(gen):
            raise OSError(f"could not write the SVG file {path}")
        try:
            painter.setRenderHints(QPainter.RenderHint.Antialiasing
                                   | QPainter.RenderHint.TextAntialiasing)
            painter.fillRect(QRectF(0, 0, rect.width(), rect.height()), QColor("white"))
            self._render_export(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
        finally:
            painter.end()
        if not path.is_file() or path.stat().st_size == 0:
            raise OSError(f"could not write the SVG file {path}")

    # -- building the scene ----------------------------------------------------------------
    def _rebuild(self, keep_scroll: bool = True) -> None:
        h, v = self.horizontalScrollBar().value(), self.verticalScrollBar().value()
        self._scene.clear()
        self._boxes, self._stage_boxes, self._frames, self._arcs = {}, {}, {}, []
        if self._graph is not None:
            self._layout(self._graph)
            r = self._scene.itemsBoundingRect()
            # room on the right for the legend, so that it covers nothing at the first zoom
            legend_w = self._legend_size().width() + 16
            self._scene.setSceneRect(QRectF(FRAME_L - MARGIN, r.top() - MARGIN,
                                            FRAME_R - FRAME_L + 2 * MARGIN + legend_w,
                                            r.height() + 2 * MARGIN))
            self._apply_selection()
        else:
            self._scene.setSceneRect(QRectF(0, 0, 1, 1))
        if keep_scroll:
            self.horizontalScrollBar().setValue(h)
            self.verticalScrollBar().setValue(v)
        self.viewport().update()

    def _layout(self, graph: BlockGraph) -> None:
        stages = {s.name: s for s in graph.stages}
        segments: list[tuple[str, object]] = []
        seen: set[str] = set()
        for n in graph.nodes:
            if n.kind == "block" and n.stage in stages:
                if n.stage not in seen:
                    seen.add(n.stage)
                    segments.append(("stage", stages[n.stage]))
                continue
            segments.append(("node", n))

        line_y = 0.0  # where the data line leaves the last unit (its ⊕ or box bottom)
        free_y = 0.0  # lowest y taken so far (a unit's bottom or a stage frame's bottom)
        last_shape: tuple[int, ...] | None = None  # shape carried by the previous data edge
        first = True

        def link(to_y: float, shape: tuple[int, ...], label_y: float | None = None) -> None:
            nonlocal last_shape
            label = shape_text(shape) if shape != last_shape else ""
            last_shape = shape
            self._scene.addItem(_LinkItem(self, line_y, to_y, True, label, label_y))

        prev_was_stage = False
        for kind, seg in segments:
            if kind == "node":
                node: GraphNode = seg  # type: ignore[assignment]
                gap = 0.0 if first else (STAGE_GAP if prev_was_stage else LINK)
                top = free_y + gap
                if node.kind == "block":  # a block outside any stage
                    top += BRANCH_GAP
                if not first:
                    link(top, node.in_shape, (free_y + free_y + gap) / 2)
                line_y = free_y = self._place_node(node, top)
                first, prev_was_stage = False, False
                continue
            stage: StageInfo = seg  # type: ignore[assignment]
            frame_top = free_y + (STAGE_GAP if not first else 0.0)
            label_y = (free_y + frame_top) / 2
            content_top = frame_top + HEADER_H + 8
            blocks = [self._nodes[b] for b in stage.blocks if b in self._nodes]
            if stage.name in self._collapsed:
                box_top = content_top + BRANCH_GAP
                link(box_top, stage.in_shape, label_y)
                line_y = self._place_collapsed(stage, blocks, box_top)
            else:
                for i, b in enumerate(blocks):
                    box_top = (content_top if i == 0 else line_y + LINK) + BRANCH_GAP
                    link(box_top, b.in_shape, label_y if i == 0 else None)
                    line_y = self._place_block(b, box_top)
            frame_bottom = line_y + 12
            nb = len(stage.blocks)
            left = f"{stage.name} · {nb} block{'s' if nb != 1 else ''}"
            right = f"{shape_text(stage.out_shape)} · {compact(stage.params)} params"
            frame = _StageFrame(self, stage, QRectF(FRAME_L, frame_top, FRAME_R - FRAME_L,
                                                    frame_bottom - frame_top),
                                stage.name in self._collapsed, left, right)
            frame.setToolTip(self._stage_tooltip(stage, blocks))
            self._scene.addItem(frame)
            self._frames[stage.name] = frame
            free_y = frame_bottom
            first, prev_was_stage = False, True

    def _place_node(self, node: GraphNode, top: float) -> float:
        """Input, stem, head, output (or a block outside any stage). Returns its bottom."""
        if node.kind == "block":
            return self._place_block(node, top)
        if node.kind == "output":
            title, subtitle = "Output", node.label
        elif node.kind == "input":
            title, subtitle = node.label or "Input", shape_text(node.out_shape)
        else:
            title = node.label
            subtitle = _shape_change(node.in_shape, node.out_shape)
        narrow = node.kind in ("input", "output")
        width = END_W if narrow else BOX_W
        right = f"{compact(node.params)} params" if node.params else ""
        box = _BoxItem(self, key=node.id, kind=node.kind if node.kind in KIND_FILL else "block",
                       title=title, right=right, shape_text=subtitle,
                       lines=_inner_lines(node), width=width, expandable=bool(node.summary),
                       expanded=node.id in self._expanded)
        box.setPos(-width / 2, top)
        box.setToolTip(self._node_tooltip(node))
        self._scene.addItem(box)
        self._boxes[node.id] = box
        return top + box.h

    def _place_block(self, node: GraphNode, box_top: float) -> float:
        title = f"{node.id} · {node.label}"
        box = _BoxItem(self, key=node.id, kind="block", title=title,
                       right=f"{compact(node.params)} params",
                       shape_text=_shape_change(node.in_shape, node.out_shape),
                       lines=_inner_lines(node), width=BOX_W, expandable=bool(node.summary),
                       expanded=node.id in self._expanded)
        box.setPos(-BOX_W / 2, box_top)
        box.setToolTip(self._node_tooltip(node))
        self._scene.addItem(box)
        self._boxes[node.id] = box
        return self._place_shortcut(node.id, node.shortcut or "none", box_top, box.h)

    def _place_collapsed(self, stage: StageInfo, blocks: list[GraphNode], box_top: float
                         ) -> float:
        kinds = [b.shortcut or "none" for b in blocks]
        counts = [f"{kinds.count(k)} {ARC_STYLES[k].label.split(' (')[0]}" for k in ARC_ORDER
                  if k in kinds]
        if kinds == ["none"] * len(kinds):
            counts = ["none (plain)"]
        labels = sorted({b.label for b in blocks})
        nb = len(stage.blocks)
        box = _BoxItem(self, key=stage.name, kind="stage", stage=stage.name, stacked=True,
                       title=f"{stage.name} ×{nb} block{'s' if nb != 1 else ''}",
                       right=f"{compact(stage.params)} params",
                       shape_text=_shape_change(stage.in_shape, stage.out_shape),
                       title_right=" / ".join(labels),
                       footer=f"shortcuts: {' + '.join(counts)}",
                       lines=(), width=BOX_W, expandable=False, expanded=False)
        box.setPos(-BOX_W / 2, box_top)
        box.setToolTip(self._stage_tooltip(stage, blocks) + "<br><i>Click to show the "
                       "blocks.</i>")
        self._scene.addItem(box)
        self._stage_boxes[stage.name] = box
        return self._place_shortcut(stage.name, _dominant_shortcut(kinds), box_top, box.h)

    def _place_shortcut(self, owner: str, kind: str, box_top: float, box_h: float) -> float:
        """Arc (or plain stub) around the box at box_top; returns the unit's bottom."""
        kind = kind if kind in ARC_STYLES else "none"
        y_add = box_top + box_h + ADD_GAP
        y_branch = box_top - BRANCH_GAP
        if kind == "none":
            arc = _ArcItem(self, owner, kind, y_branch, box_top + box_h,
                           f"<b>{html.escape(owner)}</b>: {ARC_STYLES[kind].explain}")
            self._scene.addItem(arc)
            self._arcs.append(arc)
            # no addition: the data line just runs on (same rhythm as residual blocks)
            self._scene.addItem(_LinkItem(self, box_top + box_h, y_add + ADD_R, False))
            return y_add + ADD_R
        arc = _ArcItem(self, owner, kind, y_branch, y_add,
                       f"<b>{html.escape(owner)}</b> shortcut — {ARC_STYLES[kind].explain}")
        self._scene.addItem(arc)
        self._arcs.append(arc)
        # the data line from the box down through the ⊕ is drawn by the next link; the short
        # piece between box and ⊕:
        self._scene.addItem(_LinkItem(self, box_top + box_h, y_add - ADD_R, False))
        return y_add + ADD_R

    # -- tooltips --------------------------------------------------------------------------
    def _node_tooltip(self, node: GraphNode) -> str:
        e = html.escape
        rows = [f"<b>{e(node.id)}</b> · {e(node.label)} <span style='color:#64748b'>"
                f"({e(node.kind)})</span>",
                f"{e(shape_text(node.in_shape))} → {e(shape_text(node.out_shape))}"]
        if node.params or node.macs:
            rows.append(f"params {compact(node.params)} ({node.params:,}) · "
                        f"MACs {compact(node.macs)}")
        if node.shortcut:
            rows.append(f"shortcut: {e(ARC_STYLES.get(node.shortcut, ARC_STYLES['none']).label)}")
        if node.summary:
            rows.append("<hr>" + "<br>".join(e(s) for s in _inner_lines(node)))
        if node.summary:
            rows.append("<i style='color:#64748b'>Click to "
                        f"{'hide' if node.id in self._expanded else 'list'} the layers.</i>")
        return "<br>".join(rows)

    @staticmethod
    def _stage_tooltip(stage: StageInfo, blocks: list[GraphNode]) -> str:
        kinds = [b.shortcut or "none" for b in blocks]
        mix = ", ".join(f"{kinds.count(k)} {ARC_STYLES[k].label}" for k in ARC_ORDER
                        if k in kinds)
        return (f"<b>{html.escape(stage.name)}</b> · {len(stage.blocks)} blocks<br>"
                f"{shape_text(stage.in_shape)} → {shape_text(stage.out_shape)}<br>"
                f"params {compact(stage.params)} ({stage.params:,}) · "
                f"MACs {compact(stage.macs)}<br>shortcuts: {html.escape(mix)}")

    # -- selection -------------------------------------------------------------------------
    def _selected_item(self) -> _BoxItem | None:
        if self._selected is None:
            return None
        box = self._boxes.get(self._selected)
        if box is None:
            stage = self._nodes[self._selected].stage
            box = self._stage_boxes.get(stage) if stage else None
        return box

    def _apply_selection(self) -> None:
        target = self._selected_item()
        for box in (*self._boxes.values(), *self._stage_boxes.values()):
            sel = box is target
            if box.selected != sel:
                box.selected = sel
                box.update()

    # -- view state ------------------------------------------------------------------------
    def _initial_view(self) -> None:
        """Fit the width (at most 1:1) and show the top of the graph."""
        if (not self._initial_view_pending or not self.isVisible()
                or self.viewport().width() < 50):
            return  # done on the first show / resize instead
        self._initial_view_pending = False
        rect = self._scene.sceneRect()
        s = min(1.0, (self.viewport().width() - 2) / max(rect.width(), 1))
        self.resetTransform()
        self.scale(s, s)
        self.centerOn(rect.center().x(), rect.top() + self.viewport().height() / (2 * s))

    def _zoom_by(self, factor: float, anchor_center: bool = False) -> None:
        z = self.zoom()
        factor = max(self.ZOOM_MIN / z, min(self.ZOOM_MAX / z, factor))
        if abs(factor - 1) < 1e-6:
            return
        if anchor_center:
            old = self.transformationAnchor()
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
            self.scale(factor, factor)
            self.setTransformationAnchor(old)
        else:
            self.scale(factor, factor)

    def _accent_color(self) -> QColor:
        pal = self.palette() if QApplication.instance() else QPalette()
        c = pal.color(QPalette.ColorRole.Highlight)
        return c if c.isValid() else QColor("#2f80ed")

    def _export_rect(self) -> QRectF:
        if self._graph is None or not self._boxes and not self._stage_boxes:
            raise OSError("nothing to export: no graph is shown")
        return self._scene.sceneRect()

    def _render_export(self, painter: QPainter, target: QRectF, source: QRectF) -> None:
        self._scene.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)
        s = target.width() / source.width()
        painter.save()
        painter.scale(s, s)
        self._paint_legend(painter, QRectF(0, 0, source.width(), source.height()))
        painter.restore()

    def _legend_kinds(self) -> list[str]:
        drawn = {a.kind for a in self._arcs}
        return [k for k in ARC_ORDER if k in drawn]

    def _legend_size(self) -> QSizeF:
        kinds = self._legend_kinds()
        if not kinds:
            return QSizeF(0, 0)
        f = self._fonts
        text_w = max(f.small_fm.horizontalAdvance(ARC_STYLES[k].label) for k in kinds)
        text_w = max(text_w, f.header_fm.horizontalAdvance(LEGEND_TITLE) - LEGEND_SAMPLE - 8)
        return QSizeF(10 + LEGEND_SAMPLE + 8 + text_w + 12,
                      8 + f.header_fm.height() + 2 + (f.small_fm.height() + 5) * len(kinds) + 6)

    def _paint_legend(self, painter: QPainter, area: QRectF) -> None:
        kinds = self._legend_kinds()
        if not kinds:
            return
        f = self._fonts
        row_h = f.small_fm.height() + 5
        sample_w = LEGEND_SAMPLE
        title = LEGEND_TITLE
        size = self._legend_size()
        w, h = size.width(), size.height()
        text_w = w - 10 - sample_w - 8 - 12
        box = QRectF(area.right() - w - 10, area.top() + 10, w, h)
        painter.setPen(QPen(QColor("#d5dde8"), 1.0))
        painter.setBrush(QColor(255, 255, 255, 235))
        painter.drawRoundedRect(box, 7, 7)
        painter.setFont(f.header)
        painter.setPen(QColor("#334155"))
        painter.drawText(QRectF(box.left() + 10, box.top() + 6, w - 20, f.header_fm.height()),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title)
        y = box.top() + 8 + f.header_fm.height() + 2
        painter.setFont(f.small)
        for k in kinds:
            st = ARC_STYLES[k]
            cy = y + row_h / 2
            pen = QPen(st.color, st.width, st.dash, Qt.PenCapStyle.RoundCap)
            if st.dash == Qt.PenStyle.DashLine:
                pen.setDashPattern([4.0, 2.5])
            painter.setPen(pen)
            x0 = box.left() + 10
            painter.drawLine(QPointF(x0, cy), QPointF(x0 + sample_w, cy))
            painter.setPen(INK)
            painter.drawText(QRectF(x0 + sample_w + 8, y, text_w + 4, row_h),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             st.label)
            y += row_h

    # -- Qt overrides ----------------------------------------------------------------------
    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        super().drawForeground(painter, rect)
        painter.save()
        painter.resetTransform()
        vp = QRectF(self.viewport().rect())
        if self._message:
            font = QFont(self._fonts.body)
            font.setPixelSize(15)
            painter.setFont(font)
            painter.setPen(MUTED)
            painter.drawText(vp.adjusted(20, 20, -20, -20),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self._message)
        elif self._graph is not None:
            self._paint_legend(painter, vp)
        painter.restore()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._initial_view()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self._initial_view()

    def wheelEvent(self, event) -> None:  # noqa: N802
        delta = event.angleDelta().y() or event.angleDelta().x()
        if not delta:
            event.ignore()
            return
        self._zoom_by(math.pow(1.0015, delta))
        event.accept()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_in()
        elif key == Qt.Key.Key_Minus:
            self.zoom_out()
        elif key == Qt.Key.Key_0:
            self.reset_zoom()
        elif key == Qt.Key.Key_F:
            self.fit()
        else:
            super().keyPressEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self._press_pos = (event.position() if event.button() == Qt.MouseButton.LeftButton
                           else None)
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        super().mouseReleaseEvent(event)
        press, self._press_pos = self._press_pos, None
        if press is None or event.button() != Qt.MouseButton.LeftButton:
            return
        moved = (event.position() - press).manhattanLength()
        if moved > QApplication.startDragDistance():
            return  # that was a pan
        self._click(event.position().toPoint())

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        self._press_pos = None  # the release that follows is not a second click
        if event.button() == Qt.MouseButton.LeftButton and self._hit(event.position().toPoint()
                                                                     ) is None:
            self.fit()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def _hit(self, pos) -> tuple[str, object] | None:
        """What a click at viewport `pos` means: ("node", id) / ("stage", name) / None."""
        scene_pos = self.mapToScene(pos)
        for item in self.items(pos):
            if isinstance(item, _BoxItem):
                if item.stage_name is not None:
                    return ("stage", item.stage_name)
                return ("node", item.key)
            if isinstance(item, _StageFrame):
                if item.header_rect().contains(item.mapFromScene(scene_pos)):
                    return ("stage", item.name)
                return None
        return None

    def _click(self, pos) -> None:
        hit = self._hit(pos)
        if hit is None:
            return
        what, key = hit
        if what == "stage":
            collapsed = key not in self._collapsed
            self.set_stage_collapsed(key, collapsed)
            self.stageToggled.emit(key, collapsed)
            return
        node = self._nodes[key]
        self._selected = key
        if node.summary:
            self.set_node_expanded(key, key not in self._expanded)
        self._apply_selection()
        self.nodeClicked.emit(key)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(int(FRAME_R - FRAME_L + 2 * MARGIN + 20), 700)

