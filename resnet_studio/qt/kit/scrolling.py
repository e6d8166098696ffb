"""A form's scroll area that scrolls vertically only and is never narrower than the form.

A plain QScrollArea with the horizontal bar off keeps its own small minimum width: a splitter or
a small window squeezes it below the form's, and the fields are cut at the right (combo arrows
hidden). This one asks for the form's minimum width plus the vertical bar's.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtWidgets import QScrollArea, QWidget


class VerticalScrollArea(QScrollArea):
    def __init__(self, widget: QWidget, parent: QWidget | None = None):
        super().__init__(parent, widgetResizable=True, frameShape=QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(widget)
        widget.installEventFilter(self)

    def _width_for(self, content: int) -> int:
        return content + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt)
        hint = super().minimumSizeHint()
        return QSize(max(hint.width(), self._width_for(self.widget().minimumSizeHint().width())),
                     hint.height())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt)
        hint = super().sizeHint()
        return QSize(max(hint.width(), self._width_for(self.widget().sizeHint().width())),
                     hint.height())

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt)
        if obj is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # the form grew (an error line): the splitter makes room
        return super().eventFilter(obj, event)
