"""One network's verdict at initialisation, big: its name, a coloured status word, the sentence
and the detail line ("gradients grow 3,278× from the last to the first layer: exploding")."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from resnet_studio.qt.kit.palette import CARD, MUTED, VERDICT_STATUS, muted_style

if TYPE_CHECKING:
    from resnet_studio.core.analysis.gradients import NetGradients


class VerdictCard(QFrame):
    """A card with a coloured edge (the net's colour: residual blue, plain orange)."""

    def __init__(self, colour: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.colour = colour
        self.text = ""
        self.setObjectName("verdictCard")
        self.setStyleSheet(f"#verdictCard {{ border-left: 5px solid {colour}; "
                           f"background: {CARD}; border-radius: 3px; }}")
        self.title = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)  # 2 cards fit 1280 px
        self.verdict = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail = QLabel(wordWrap=True)
        self.detail.setStyleSheet(muted_style())
        font = self.verdict.font()
        font.setPointSizeF(font.pointSizeF() * 1.45)
        self.verdict.setFont(font)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 6, 8, 6)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.verdict)
        layout.addWidget(self.detail)

    def show_net(self, net: NetGradients, role: str) -> None:
        """Show one net's verdict; `role` says what it is ("with shortcuts", "plain twin…")."""
        colour = VERDICT_STATUS.get(net.status, MUTED)
        self.title.setText(f"<span style='color:{self.colour};font-weight:700'>{net.label}"
                           f"</span> <span style='color:{MUTED}'>· {role} · {net.layers} "
                           f"layers</span>")
        self.text = net.verdict
        head, sep, status = net.verdict.partition(": ")
        word, _, rest = status.partition(" ")
        text = html.escape(net.verdict)
        if sep and word == net.status:  # the status word in its colour, the rest smaller
            text = (f"{html.escape(head)}: <b style='color:{colour}'>{word}</b>"
                    + (f" <span style='font-size:small;color:{MUTED}'>{html.escape(rest)}</span>"
                       if rest else ""))
        self.verdict.setText(text)
        self.detail.setText(net.detail)
        self.show()

    def plain_text(self) -> str:
        return self.text
