"""The shortcut-strength slider: α from 0 (the plain twin's gradients) to 1 (the residual net),
y = F(x) + α·shortcut(x). `changed(α)` fires a moment after the handle stops moving (a short
debounce), and at once on release, so a drag asks for a few measurements, not one per pixel."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget

STEPS = 100  # the slider's resolution: α in steps of 0.01
DEBOUNCE_MS = 60
TIP = ("Shortcut strength α: every block computes y = F(x) + α·shortcut(x), with the same "
       "weights and the same batch at every α.\n0 gives the plain twin's gradients, 1 the "
       "residual net's; drag to watch the gradient profile through depth flatten.")


class AlphaSlider(QWidget):
    changed = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=STEPS, value=STEPS,
                              toolTip=TIP, minimumWidth=160)
        self.slider.setPageStep(STEPS // 4)
        self.slider.setObjectName("alpha_slider")
        self.label = QLabel(minimumWidth=70)
        title = QLabel("Shortcut α:", toolTip=TIP)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self._emit)
        self.slider.valueChanged.connect(self._moved)
        self.slider.sliderReleased.connect(self._emit)
        self._label()

    def value(self) -> float:
        return self.slider.value() / STEPS

    def set_value(self, alpha: float) -> None:
        """Move the handle (clamped to 0…1); `changed` follows as for a drag."""
        self.slider.setValue(round(min(max(float(alpha), 0.0), 1.0) * STEPS))

    def _label(self) -> None:
        a = self.value()
        words = " (plain)" if a == 0 else " (residual)" if a == 1 else ""
        self.label.setText(f"{a:.2f}{words}")

    def _moved(self, _value: int) -> None:
        self._label()
        self._debounce.start()

    def _emit(self) -> None:
        self._debounce.stop()
        self.changed.emit(self.value())
