"""Greying a view whose numbers are being recomputed, so it never passes for the current ones.

`Stale(widget)` lays a translucent veil over `widget` (a plot, a graph, a table) with a centred
line ("measuring…", "Inspecting ResNet-1202…") while its job runs; the old picture stays
readable beneath it. Use it as

    self.stale = Stale(self.figure)
    self.stale.follow(self.job)            # greyed from start to finished
    self.stale.show("Inspecting ResNet-1202…")   # or by hand; `hide()` when the new one is drawn

`delay_ms` greys only work that lasts longer (a view refreshed every few seconds whose refresh
usually takes a blink would flicker otherwise); clearing is always at once. The veil lets the
mouse through (zoom, scroll and selection keep working on what is beneath).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from resnet_studio.qt.kit.job import Job

MEASURING = "measuring…"
VEIL_ALPHA = 150  # of 255: the old picture stays legible beneath


class _Veil(QWidget):
    """The translucent child drawn over the target; it follows the target's size."""

    def __init__(self, target: QWidget):
        super().__init__(target)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setObjectName("staleVeil")
        self.label = QLabel(MEASURING, alignment=Qt.AlignmentFlag.AlignCenter,
                            objectName="staleLabel")
        self.label.setStyleSheet("font-size: 14px; font-weight: bold; padding: 6px 14px;"
                                 "border-radius: 6px; background: palette(window);")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.label, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(1)
        self.hide()

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt)
        colour = QColor(self.palette().window().color())
        colour.setAlpha(VEIL_ALPHA)
        QPainter(self).fillRect(self.rect(), colour)


class Stale(QObject):
    """A veil over `widget` with one line of text while the view is out of date."""

    def __init__(self, widget: QWidget, text: str = MEASURING, *, delay_ms: int = 0):
        super().__init__(widget)
        self.widget = widget
        self.text = text
        self._veil = _Veil(widget)
        self._wanted = False
        self._timer = QTimer(self, singleShot=True, interval=delay_ms)
        self._timer.timeout.connect(self._appear)
        widget.installEventFilter(self)

    # -- control -------------------------------------------------------------------------------
    def show(self, text: str | None = None) -> None:
        """Grey the view now (after `delay_ms` if set) with `text` (the default otherwise)."""
        self._veil.label.setText(text or self.text)
        self._wanted = True
        if self._timer.interval() > 0 and not self._veil.isVisible():
            self._timer.start()
        else:
            self._appear()

    def hide(self) -> None:
        """The view is current again."""
        self._wanted = False
        self._timer.stop()
        self._veil.hide()

    def set_shown(self, shown: bool, text: str | None = None) -> None:
        self.show(text) if shown else self.hide()

    def follow(self, job: Job, text: str | None = None) -> None:
        """Greyed while `job` runs (from its start to its `finished`)."""
        job.runningChanged.connect(lambda running: self.set_shown(running, text))

    # -- what tests and views read ----------------------------------------------------------------
    def is_shown(self) -> bool:
        """Greyed (or about to be, once `delay_ms` has passed)."""
        return self._wanted

    def label_text(self) -> str:
        return self._veil.label.text()

    # -- plumbing --------------------------------------------------------------------------------
    def _appear(self) -> None:
        if self._wanted:
            self._veil.setGeometry(self.widget.rect())
            self._veil.show()
            self._veil.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt)
        if watched is self.widget and event.type() == QEvent.Type.Resize:
            self._veil.setGeometry(self.widget.rect())
        return False
