"""The Images tab's row of actions (open, paste, clear, export, classify remaining) and, while
work runs, one progress line with its Cancel button."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from resnet_studio.qt.kit.palette import muted_style


class ImagesToolbar(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.open_button = QPushButton("Open images…")
        self.open_button.setToolTip("Add image files (or drop files and folders on this tab)")
        self.paste_button = QPushButton("Paste")
        self.paste_button.setToolTip("Add the image on the clipboard (Ctrl+V)")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove all images and the skipped list")
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("One row per image and rank: image, path, rank, class, "
                                      "label, probability")
        self.resume_button = QPushButton("Classify remaining")
        self.resume_button.setToolTip("Classify the images a cancelled run left out")
        self.progress_label = QLabel()
        self.progress_label.setStyleSheet(muted_style())
        self.progress_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.progress_label.setMinimumWidth(320)  # no jitter (or clipping) as the numbers grow
        self.progress_bar = QProgressBar(maximumWidth=220, textVisible=False)
        self.cancel_button = QPushButton("Cancel")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for b in (self.open_button, self.paste_button, self.clear_button, self.export_button,
                  self.resume_button):
            layout.addWidget(b)
        layout.addStretch(1)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.cancel_button)
        self.show_progress(None)

    def show_progress(self, progress: tuple[str, int, int] | None, *,
                      can_cancel: bool = True) -> None:
        """(text, done, total) while work runs (total 0: a busy indicator); None: idle."""
        for w in (self.progress_bar, self.progress_label, self.cancel_button):
            w.setVisible(progress is not None)
        if progress is None:
            return
        text, done, total = progress
        self.cancel_button.setEnabled(can_cancel)
        self.progress_bar.setRange(0, max(total, 0))
        if total > 0:
            self.progress_bar.setValue(min(done, total))
        self.progress_label.setText(text)

    def show_actions(self, *, predictions: bool, content: bool, remaining: int) -> None:
        self.export_button.setEnabled(predictions)
        self.clear_button.setEnabled(content)
        self.resume_button.setVisible(remaining > 0)
        self.resume_button.setText(f"Classify remaining ({remaining})")
