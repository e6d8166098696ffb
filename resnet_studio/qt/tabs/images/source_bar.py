"""Where the predictions come from, always visible: the weights picker, the model source in use
(random weights in the warning colour) and, when weights could not be used, a banner saying
why and what to do."""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.images import SourceInfo, has_imagenet_weights
from resnet_studio.app.images_state import ImagesState, SourceProblem
from resnet_studio.app.samples import AUTO
from resnet_studio.qt.kit.palette import ERROR, WARNING
from resnet_studio.qt.tabs.images.image_view import muted

WEIGHTS_FILTER = "Weights (*.safetensors *.json *.pt *.pth *.bin *.ckpt);;All files (*)"
SOURCE_CHOICES = (("ImageNet weights (torchvision)", "imagenet"),
                  ("Trained ResNet-20 (built-in glyphs, shipped)", "shipped"),
                  ("Checkpoint / state_dict file…", "file"),
                  ("Random weights (untrained)", "random"))


def _tint(colour: str, alpha: float) -> str:
    c = QColor(colour)
    return f"rgba({c.red()}, {c.green()}, {c.blue()}, {alpha})"


def source_html(source: SourceInfo) -> str:
    if source.kind == "random":
        return f"<b style='color:{WARNING}'>⚠ {escape(source.name)} · {escape(source.label)}</b>" \
               + " " + muted("— predictions are meaningless")
    return f"<b>{escape(source.name)}</b> · {escape(source.label)}"


class SourceBar(QWidget):
    """`weightsChosen(weights)`: "imagenet", "random" or a file the user picked."""

    weightsChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.last_dir = str(Path.home())
        self._choice = "shipped"  # what the picker shows: imagenet | shipped | random | file
        self.combo = QComboBox()
        for text, data in SOURCE_CHOICES:
            self.combo.addItem(text, data)
        self.combo.setToolTip("Where the model's weights come from")
        self.combo.activated.connect(self._activated)
        self.label = QLabel(textFormat=Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # one line, cut at narrow windows (the tooltip has it all) instead of widening the tab;
        # a wrapped label would make the page scroll (its height then follows its width)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel("Weights"))
        top.addWidget(self.combo)
        top.addSpacing(8)
        top.addWidget(self.label, 1)

        self.banner = QFrame(objectName="imagesBanner")
        self.banner_label = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.banner_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.use_random_button = QPushButton("Use random weights")
        self.use_random_button.clicked.connect(lambda: self.weightsChosen.emit("random"))
        dismiss = QPushButton("Dismiss")
        dismiss.clicked.connect(self.banner.hide)
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.setContentsMargins(8, 6, 8, 6)
        banner_layout.addWidget(self.banner_label, 1)
        banner_layout.addWidget(self.use_random_button, 0, Qt.AlignmentFlag.AlignTop)
        banner_layout.addWidget(dismiss, 0, Qt.AlignmentFlag.AlignTop)
        self.banner.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.banner)

    # -- what is in use -------------------------------------------------------------------------
    def show_state(self, state: ImagesState) -> None:
        """The picker and the label for `state`'s model, weights and source."""
        imagenet = state.model is None or has_imagenet_weights(state.model)
        item = self.combo.model().item(0)
        item.setEnabled(imagenet)
        item.setToolTip("" if imagenet else f"torchvision has no pretrained weights for "
                                            f"{state.model_name()}")
        self._choice = state.weights_choice()
        self.combo.setCurrentIndex(self.combo.findData(self._choice))
        self.label.setText(self._label(state))
        self.label.setToolTip(self.label.text())

    @staticmethod
    def _label(state: ImagesState) -> str:
        s, name = state.source, escape(state.model_name())
        if state.loading is not None:
            weights = state.effective_weights()
            what = {"imagenet": "ImageNet weights", "random": "random weights"}.get(
                weights, Path(weights).name)
            text = muted(f"Loading {name} · {escape(what)}…")
            return text + (f" &nbsp; in use: {source_html(s)}" if s is not None else "")
        if s is not None:
            if state.source_is_wanted():
                if s.shipped and state.model is not None and not state.pinned and \
                        state.weights == AUTO and s.name != state.model_name():
                    return source_html(s) + " " + muted(f"— sidebar: {name} (untrained here)")
                return source_html(s)
            return source_html(s) + f" <span style='color:{ERROR}'>(not the model chosen: " \
                                    f"{name})</span>"
        if state.model is None:
            return muted("No model chosen")
        if state.failed is not None and state.failed == state.wanted_key():
            why = "these weights could not be loaded" if state.problem is not None else \
                "loading these weights was cancelled"
            return f"<b>{name}</b> <span style='color:{ERROR}'>· {why} — nothing is " \
                   "classified</span>"
        return f"<b>{name}</b> " + muted("· weights not loaded yet")

    # -- the banner -----------------------------------------------------------------------------
    def show_problem(self, problem: SourceProblem, model: str, in_use: SourceInfo | None) -> None:
        """Why the weights asked for are not used; missing ImageNet weights offer random ones."""
        if problem.offline:
            text = (f"<b>The ImageNet weights for {escape(model)} are not on this machine and "
                    f"could not be downloaded.</b> Put <b>{escape(problem.file)}</b> into "
                    f"<b>{escape(problem.folder)}</b>, then choose ImageNet weights again — or "
                    "use random weights for now.<br>" + muted(escape(problem.message)))
        else:
            kept = f" Still using {escape(in_use.name)} · {escape(in_use.label)}." \
                if in_use is not None else ""
            text = f"<b>Cannot use these weights:</b> {escape(problem.for_window())}{kept}"
        self.show_banner(text, offer_random=problem.offline, error=not problem.offline)

    def show_banner(self, html: str, *, offer_random: bool = False, error: bool = True) -> None:
        colour = ERROR if error else WARNING
        self.banner_label.setText(html)
        self.use_random_button.setVisible(offer_random)
        self.banner.setStyleSheet(f"QFrame#imagesBanner {{ background:{_tint(colour, 0.07)}; "
                                  f"border:1px solid {_tint(colour, 0.45)}; border-radius:4px; }}")
        self.banner.show()

    def hide_banner(self) -> None:
        self.banner.hide()

    def banner_text(self) -> str:
        return self.banner_label.text() if not self.banner.isHidden() else ""

    def _activated(self, index: int) -> None:
        choice = self.combo.itemData(index)
        if choice != "file":
            self.weightsChosen.emit(choice)
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint or state_dict",
                                              self.last_dir, WEIGHTS_FILTER)
        if path:
            self.last_dir = str(Path(path).parent)
            self.weightsChosen.emit(path)
        else:  # back to what is chosen
            self.combo.setCurrentIndex(self.combo.findData(self._choice))
