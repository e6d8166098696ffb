"""The block graph's scene items, each painting one piece that `app.graph_layout` placed: a box
(node or collapsed stage), a stage frame, a data link, a shortcut arc; and the legend.

Each item paints its own text, so a graph of hundreds of blocks stays a few items per block.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from resnet_studio.app.graph_layout import (
    ADD_R,
    ARC_X,
    HEADER_H,
    SHORTCUT_TEXT,
    Arc,
    Box,
    Frame,
    Link,
)
from resnet_studio.qt.tabs.architecture.graph_style import (
    ARC_STYLES,
    CARD_BEHIND,
    FAINT,
    FRAME_BORDER,
    FRAME_FILL,
    INK,
    INNER_TEXT,
    KIND_EDGE,
    KIND_FILL,
    KIND_STRIPE,
    LINE,
    MUTED,
    RULE,
    TEXT,
    WHITE,
    Fonts,
    wrap,
)

PAD = 8.0  # inside a box, above and below the text
TEXT_X = 14.0  # left of a box's text (right of its stripe)
LEGEND_TITLE = "Shortcuts"
LEGEND_SAMPLE = 30.0  # length of the line sample in the legend
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def box_rows(box: Box, fonts: Fonts) -> list[tuple[str, float]]:
    """The inner layers as painted: wrapped to the box, continuations indented."""
    return wrap(box.lines, fonts.small_fm, box.width - TEXT_X - 10 - 4) if box.expanded else []


def box_height(box: Box, fonts: Fonts) -> float:
    """How tall `box` paints: the `measure` of `app.graph_layout.layout_graph`."""
    f = fonts
    h = PAD + f.title_fm.height() + 3 + f.body_fm.height()
    if box.footer:
        h += 2 + f.small_fm.height()
    rows = box_rows(box, fonts)
    if rows:
        h += 9 + len(rows) * (f.small_fm.height() + 1)
    return h + PAD


def arrow_head(tip: QPointF, direction: QPointF, size: float = 7.0) -> QPainterPath:
    """A filled triangle pointing along `direction` (unit vector) with its tip at `tip`."""
    dx, dy = direction.x(), direction.y()
    base = QPointF(tip.x() - dx * size, tip.y() - dy * size)
    nx, ny = -dy * size * 0.5, dx * size * 0.5
    path = QPainterPath(tip)
    path.lineTo(base.x() + nx, base.y() + ny)
    path.lineTo(base.x() - nx, base.y() - ny)
    path.closeSubpath()
    return path


class BoxItem(QGraphicsItem):
    """A node box (or a collapsed stage's, `stage_name` set), text and chevron included."""

    def __init__(self, box: Box, fonts: Fonts, accent: QColor):
        super().__init__()
        self.box, self.fonts, self.accent = box, fonts, accent
        self.key = box.key
        self.stage_name = box.stage
        self.rows = box_rows(box, fonts)
        self.w, self.h = box.width, box.h
        self.selected = False
        self.hovered = False
        self.setPos(box.x, box.y)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setZValue(3)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        extra = 9.0 if self.box.stacked else 0.0
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
        box = self.box
        rect = QRectF(0, 0, self.w, self.h)
        fill, edge = KIND_FILL[box.kind], KIND_EDGE[box.kind]
        if box.stacked:  # two cards peeking out behind: "many blocks in here"
            for off in (8.0, 4.0):
                painter.setPen(QPen(edge.lighter(115), 1.0))
                painter.setBrush(CARD_BEHIND)
                painter.drawRoundedRect(rect.translated(off, -off), 7, 7)
        if self.selected:
            halo = QColor(self.accent)
            halo.setAlpha(60)
            painter.setPen(QPen(halo, 7.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect, 7, 7)
        border = QColor(self.accent) if self.selected else (edge.darker(125) if self.hovered
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
        painter.setBrush(KIND_STRIPE[box.kind])
        painter.drawPath(stripe.subtracted(cut))
        self._paint_text(painter)

    def _paint_text(self, painter: QPainter) -> None:
        box, f = self.box, self.fonts
        x0, inner_w, y = TEXT_X, self.w - TEXT_X - 10, PAD
        right_w = f.small_fm.horizontalAdvance(box.right) + 6 if box.right else 0.0
        chev_w = 14.0 if box.expandable else 0.0
        title_h = f.title_fm.height()
        if box.title_right:
            self._text(painter, f.small, MUTED, QRectF(x0, y, inner_w - chev_w, title_h),
                       box.title_right, _RIGHT)
            chev_w += f.small_fm.horizontalAdvance(box.title_right) + 8
        self._text(painter, f.title, INK, QRectF(x0, y, inner_w - chev_w, title_h),
                   f.title_fm.elidedText(box.title, Qt.TextElideMode.ElideRight,
                                         inner_w - chev_w), _LEFT)
        if box.expandable:
            self._chevron(painter, QPointF(self.w - 14, y + title_h / 2))
        y += title_h + 3
        line_h = f.body_fm.height()
        if box.right:
            self._text(painter, f.small, MUTED, QRectF(x0, y, inner_w, line_h), box.right,
                       _RIGHT)
        self._text(painter, f.body, TEXT, QRectF(x0, y, inner_w - right_w, line_h),
                   f.body_fm.elidedText(box.subtitle, Qt.TextElideMode.ElideRight,
                                        inner_w - right_w), _LEFT)
        y += line_h
        if box.footer:
            y += 2
            self._text(painter, f.small, MUTED, QRectF(x0, y, inner_w, f.small_fm.height()),
                       f.small_fm.elidedText(box.footer, Qt.TextElideMode.ElideRight, inner_w),
                       _LEFT)
            y += f.small_fm.height()
        if self.rows:
            y += 4
            painter.setPen(QPen(RULE, 1.0))
            painter.drawLine(QPointF(x0, y), QPointF(self.w - 10, y))
            y += 5
            lh = f.small_fm.height() + 1
            for text, indent in self.rows:
                width = inner_w - 4 - indent
                self._text(painter, f.small, INNER_TEXT, QRectF(x0 + 4 + indent, y, width, lh),
                           f.small_fm.elidedText(text, Qt.TextElideMode.ElideRight, width),
                           _LEFT)
                y += lh

    @staticmethod
    def _text(painter: QPainter, font, colour: QColor, rect: QRectF, text: str, align) -> None:
        painter.setFont(font)
        painter.setPen(colour)
        painter.drawText(rect, align, text)

    def _chevron(self, painter: QPainter, c: QPointF) -> None:
        painter.setPen(QPen(FAINT if not self.hovered else MUTED, 1.6, Qt.PenStyle.SolidLine,
                            Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        d = 2 if self.box.expanded else -2  # ^ : click to fold; v : click to list the layers
        p = QPainterPath()
        p.moveTo(c.x() - 4, c.y() + d)
        p.lineTo(c.x(), c.y() - d)
        p.lineTo(c.x() + 4, c.y() + d)
        painter.drawPath(p)


class StageFrame(QGraphicsItem):
    """The light frame around a stage, with a clickable header that collapses it."""

    def __init__(self, frame: Frame, fonts: Fonts):
        super().__init__()
        self.frame, self.fonts = frame, fonts
        self.name = frame.stage
        self.rect = QRectF(frame.left, frame.top, frame.right - frame.left,
                           frame.bottom - frame.top)
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
        f = self.fonts
        painter.setPen(QPen(FRAME_BORDER, 1.0))
        painter.setBrush(FRAME_FILL)
        painter.drawRoundedRect(self.rect, 10, 10)
        head = self.header_rect()
        if self.hovered:
            band = QPainterPath()
            band.addRoundedRect(head, 10, 10)
            low = QPainterPath()
            low.addRect(QRectF(head.left(), head.center().y(), head.width(), head.height() / 2))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(RULE)
            painter.drawPath(band.united(low))
        # ▸ / ▾ toggle
        c = QPointF(head.left() + 14, head.center().y())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(MUTED)
        tri = QPainterPath()
        if self.frame.collapsed:
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
        painter.setPen(TEXT)
        painter.drawText(QRectF(head.left() + 25, head.top(), half_l, head.height()), _LEFT,
                         f.header_fm.elidedText(self.frame.left_text, Qt.TextElideMode.ElideRight,
                                                half_l))
        half_r = head.right() - 12 - 10
        painter.setFont(f.small)
        painter.setPen(MUTED)
        painter.drawText(QRectF(10, head.top(), half_r, head.height()), _RIGHT,
                         f.small_fm.elidedText(self.frame.right_text, Qt.TextElideMode.ElideLeft,
                                               half_r))


class LinkItem(QGraphicsItem):
    """A data edge: a vertical line on x = 0 (with an arrow head) and an optional shape label."""

    def __init__(self, link: Link, fonts: Fonts):
        super().__init__()
        self.link, self.fonts = link, fonts
        self.label_y = (link.y1 + link.y2) / 2 if link.label_y is None else link.label_y
        self.label_w = fonts.small_fm.horizontalAdvance(link.label) + 4 if link.label else 0.0
        self.setZValue(1)

    def boundingRect(self) -> QRectF:  # noqa: N802
        lw = self.label_w + 10
        return QRectF(-lw - 2, min(self.link.y1, self.label_y - 10) - 2, lw + 8,
                      abs(self.link.y2 - self.link.y1) + 24)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        link = self.link
        end = link.y2 - (6.5 if link.arrow else 0)
        painter.setPen(QPen(LINE, 1.5))
        painter.drawLine(QPointF(0, link.y1), QPointF(0, end))
        if link.arrow:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(LINE)
            painter.drawPath(arrow_head(QPointF(0, link.y2), QPointF(0, 1), 7.5))
        if link.label:
            f = self.fonts
            h = f.small_fm.height()
            painter.setFont(f.small)
            painter.setPen(MUTED)
            painter.drawText(QRectF(-8 - self.label_w, self.label_y - h / 2, self.label_w, h),
                             _RIGHT, link.label)


class ArcItem(QGraphicsItem):
    """One residual shortcut: branch dot → right → down → into the ⊕ below the block.
    Kind "none" paints a faint red stub that stops short with a ✕ (no addition)."""

    def __init__(self, arc: Arc, fonts: Fonts):
        super().__init__()
        self.arc, self.fonts = arc, fonts
        self.owner, self.kind = arc.owner, arc.kind
        self.style = ARC_STYLES[arc.kind]
        self._path = self._make_path()
        text = SHORTCUT_TEXT[arc.kind].explain
        owner = f"<b>{html.escape(arc.owner)}</b>"
        scaled = (f"<br>scaled by α = {arc.scale:g}: y = F(x) + {arc.scale:g}·shortcut(x)"
                  if arc.scale != 1.0 else "")
        self.setToolTip(f"{owner}: {text}" if arc.kind == "none"
                        else f"{owner} shortcut — {text}{scaled}")
        self.setZValue(2)

    def _make_path(self) -> QPainterPath:
        r = 10.0
        yb, ya = self.arc.y_branch, self.arc.y_add
        p = QPainterPath(QPointF(0, yb))
        p.lineTo(ARC_X - r, yb)
        p.quadTo(ARC_X, yb, ARC_X, yb + r)
        if self.kind == "none":
            p.lineTo(ARC_X, yb + (ya - yb) * 0.42)
            return p
        p.lineTo(ARC_X, ya - r)
        p.quadTo(ARC_X, ya, ARC_X - r, ya)
        p.lineTo(ADD_R + 7.5, ya)
        return p

    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF(-ADD_R - 4, self.arc.y_branch - 8, ARC_X + ADD_R + 28,
                      self.arc.y_add - self.arc.y_branch + ADD_R + 16)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        return stroker.createStroke(self._path)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        st, y_branch, y_add = self.style, self.arc.y_branch, self.arc.y_add
        painter.setPen(st.pen())
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        if self.kind == "none":  # a ✕ where the missing shortcut stops
            end = self._path.currentPosition()
            painter.setPen(QPen(st.color, 1.8, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            x, y, s = end.x(), end.y() + 2, 4.0
            painter.drawLine(QPointF(x - s, y), QPointF(x + s, y + 2 * s))
            painter.drawLine(QPointF(x + s, y), QPointF(x - s, y + 2 * s))
            return
        # branch dot on the data line, arrow into the ⊕, the ⊕
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(st.color)
        painter.drawEllipse(QPointF(0, y_branch), 3.2, 3.2)
        painter.drawPath(arrow_head(QPointF(ADD_R + 1, y_add), QPointF(-1, 0), 7.5))
        painter.setPen(QPen(LINE, 1.4))
        painter.setBrush(WHITE)
        painter.drawEllipse(QPointF(0, y_add), ADD_R, ADD_R)
        a = ADD_R - 2.5
        painter.drawLine(QPointF(-a, y_add), QPointF(a, y_add))
        painter.drawLine(QPointF(0, y_add - a), QPointF(0, y_add + a))
        tags = [t for t in (SHORTCUT_TEXT[self.kind].tag,
                            f"α={self.arc.scale:g}" if self.arc.scale != 1.0 else "") if t]
        f = self.fonts
        th = f.small_fm.height() + 1
        painter.setFont(f.small)
        for i, tag in enumerate(tags):  # "1×1" / "pad", then "α=0.5", pills on the vertical run
            tw = f.small_fm.horizontalAdvance(tag) + 8
            y = (y_branch + y_add) / 2 + (i - (len(tags) - 1) / 2) * (th + 3)
            pill = QRectF(ARC_X - tw / 2, y - th / 2, tw, th)
            painter.setPen(QPen(st.color, 1.0))
            painter.setBrush(WHITE)
            painter.drawRoundedRect(pill, th / 2, th / 2)
            painter.setPen(st.color.darker(115))
            painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, tag)


# -- legend (painted over the view, and into exports) -----------------------------------------
def legend_size(kinds: list[str], fonts: Fonts) -> QSizeF:
    if not kinds:
        return QSizeF(0, 0)
    f = fonts
    text_w = max(f.small_fm.horizontalAdvance(SHORTCUT_TEXT[k].label) for k in kinds)
    text_w = max(text_w, f.header_fm.horizontalAdvance(LEGEND_TITLE) - LEGEND_SAMPLE - 8)
    return QSizeF(10 + LEGEND_SAMPLE + 8 + text_w + 12,
                  8 + f.header_fm.height() + 2 + (f.small_fm.height() + 5) * len(kinds) + 6)


def paint_legend(painter: QPainter, area: QRectF, kinds: list[str], fonts: Fonts) -> None:
    """A sample line and label per shortcut kind drawn, in the top-right corner of `area`."""
    if not kinds:
        return
    f = fonts
    row_h = f.small_fm.height() + 5
    size = legend_size(kinds, fonts)
    w, h = size.width(), size.height()
    text_w = w - 10 - LEGEND_SAMPLE - 8 - 12
    box = QRectF(area.right() - w - 10, area.top() + 10, w, h)
    painter.setPen(QPen(FRAME_BORDER, 1.0))
    painter.setBrush(QColor(255, 255, 255, 235))
    painter.drawRoundedRect(box, 7, 7)
    painter.setFont(f.header)
    painter.setPen(TEXT)
    painter.drawText(QRectF(box.left() + 10, box.top() + 6, w - 20, f.header_fm.height()), _LEFT,
                     LEGEND_TITLE)
    y = box.top() + 8 + f.header_fm.height() + 2
    painter.setFont(f.small)
    x0 = box.left() + 10
    for k in kinds:
        st = ARC_STYLES[k]
        painter.setPen(st.pen())
        painter.drawLine(QPointF(x0, y + row_h / 2), QPointF(x0 + LEGEND_SAMPLE, y + row_h / 2))
        painter.setPen(INK)
        painter.drawText(QRectF(x0 + LEGEND_SAMPLE + 8, y, text_w + 4, row_h), _LEFT,
                         SHORTCUT_TEXT[k].label)
        y += row_h
