"""The tour's panel: a small non-modal window beside the main one, one step at a time.

Entering a step sets the app up (steps.py); the check under it is read again every second while
the step shows, so it follows the measurement the user is waiting for.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from resnet_studio.app import tour
from resnet_studio.app.tour import TourCheck
from resnet_studio.qt.kit import palette
from resnet_studio.qt.kit.job import Job
from resnet_studio.qt.tour.steps import ACTIONS, NEEDS_IMAGE

CHECK_EVERY_MS = 1000


def _sample_image(progress) -> Path:
    return tour.sample_image()


class TourPanel(QDialog):
    def __init__(self, window, parent: QWidget | None = None):
        super().__init__(parent or window, windowTitle="Tour of the 2015 paper")
        self.setWindowFlag(Qt.WindowType.Tool)
        self.setModal(False)
        self.window_ = window
        self.index = 0
        self.image: Path | None = None
        self.last_check: TourCheck | None = None
        self.note = ""
        self.title = QLabel(textFormat=Qt.TextFormat.RichText)
        self.setup_text = QLabel(wordWrap=True)
        self.look_text = QLabel(wordWrap=True)
        self.check_text = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.check_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.back_button = QPushButton("Back")
        self.again_button = QPushButton("Set up again")
        self.next_button = QPushButton("Next")
        self.back_button.clicked.connect(lambda: self.go(self.index - 1))
        self.again_button.clicked.connect(lambda: self.go(self.index))
        self.next_button.clicked.connect(lambda: self.go(self.index + 1))
        buttons = QHBoxLayout()
        for b in (self.back_button, self.again_button, self.next_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        for heading, label in (("What it sets up", self.setup_text),
                               ("What to look for", self.look_text), ("Check", self.check_text)):
            layout.addWidget(QLabel(f"<b>{heading}</b>", textFormat=Qt.TextFormat.RichText))
            layout.addWidget(label)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self.setMinimumWidth(360)
        self.resize(400, 440)

        self.image_job = Job(self)
        self.image_job.succeeded.connect(self._image_ready)
        self.image_job.failed.connect(lambda m: self._set_note(f"No sample image: {m}"))
        self.timer = QTimer(self, interval=CHECK_EVERY_MS)
        self.timer.timeout.connect(self.check)
        self.go(0)

    @property
    def step(self) -> tour.TourStep:
        return tour.STEPS[self.index]

    def go(self, index: int) -> None:
        """Show step `index` and set the app up for it."""
        self.index = max(0, min(index, len(tour.STEPS) - 1))
        step = self.step
        self.title.setText(f"<h3>{step.title}</h3>")
        self.setup_text.setText(step.setup)
        self.look_text.setText(step.look_for)
        self.back_button.setEnabled(self.index > 0)
        self.next_button.setEnabled(self.index < len(tour.STEPS) - 1)
        if step.key in NEEDS_IMAGE and self.image is None:
            self.image_job.start(_sample_image)  # the step is set up again when it is ready
        self._set_note(ACTIONS[step.key][0](self.window_, self.image))
        self.check()
        self.timer.start()

    def check(self) -> TourCheck:
        """Read what the step's tab shows now, and say whether it is what the step claims."""
        result = ACTIONS[self.step.key][1](self.window_)
        self.last_check = result
        colour = palette.OK if result.ok else palette.MUTED if result.waiting else palette.WARNING
        mark = "✓" if result.ok else "…" if result.waiting else "!"
        note = f"<br><i>{self.note}</i>" if self.note else ""
        self.check_text.setText(f"<span style='color:{colour}'>{mark} {result.text}</span>{note}")
        return result

    def _set_note(self, note: str) -> None:
        self.note = note
        if self.last_check is not None:
            self.check()

    def _image_ready(self, path: Path) -> None:
        self.image = path
        if self.step.key in NEEDS_IMAGE:
            self.go(self.index)

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt)
        self.timer.stop()
        super().hideEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().showEvent(event)
        self.timer.start()
