"""A residual block taken apart: x (the shortcut), F(x) (the residual branch) and F(x) + x
side by side on one colour scale. Computed by `app.features.block_view` in the background
(see `image_view.ModelImageView`); this module imports no torch."""

from __future__ import annotations

from html import escape

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from resnet_studio.app.features import DIVERGING, BlockPlanes, block_view
from resnet_studio.app.model_sources import ModelSourceCache
from resnet_studio.qt.tabs.images.controls import BlockControls
from resnet_studio.qt.tabs.images.image_view import ImageView, ModelImageView, muted

NEGATIVE, POSITIVE = ("#{:02x}{:02x}{:02x}".format(*DIVERGING[i]) for i in (0, -1))
SHORTCUT_TEXT = {
    "identity": "the block's input, passed on unchanged (identity shortcut)",
    "projection": "the block's input through the 1×1 projection (the shape changes here)",
    "zero_pad": "the block's input, subsampled and zero-padded to the new width (option A)",
    "none": "zeros: this plain block has no shortcut, so its output is F(x) alone",
}


class ResidualBlockView(ModelImageView):
    """x (the shortcut), F(x) (the residual branch) and F(x) + x side by side."""

    TITLES = ("x — shortcut", "F(x) — residual branch", "F(x) + x — sum")

    def __init__(self, models: ModelSourceCache, parent: QWidget | None = None):
        super().__init__(models, parent)
        self.result: BlockPlanes | None = None
        self._result_key: tuple | None = None  # (source key, image uid, block) of `result`
        self._requested: tuple | None = None  # the same, of the call running
        self.controls = BlockControls()
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        self.views: list[ImageView] = []
        self.titles: list[QLabel] = []
        self.captions: list[QLabel] = []
        for i, title in enumerate(self.TITLES):
            t = QLabel(f"<b>{title}</b>", textFormat=Qt.TextFormat.RichText)
            v = ImageView(interactive=False)
            c = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
            c.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            c.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
            grid.addWidget(t, 0, i)
            grid.addWidget(v, 1, i)
            grid.addWidget(c, 2, i)
            grid.setColumnStretch(i, 1)
            self.views.append(v)
            self.titles.append(t)
            self.captions.append(c)
        grid.setRowStretch(1, 1)
        self.legend = QLabel(textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.summary = QLabel(textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.controls)
        layout.addWidget(self.info)
        layout.addLayout(grid, 1)
        layout.addWidget(self.legend)
        layout.addWidget(self.summary)
        self.controls.changed.connect(self.request)
        self._clear(self._hint())

    # the controls, as the tab and tests use them
    def block(self) -> str:
        return self.controls.block()

    def select_block(self, name: str) -> bool:
        return self.controls.select_block(name)

    def set_channel(self, channel: int) -> None:
        """-1: the mean over channels."""
        self.controls.set_channel(channel)

    def images(self) -> list[np.ndarray | None]:
        return [v.image for v in self.views]

    # -- internals
    def _source_changed(self) -> None:
        self.result = self._result_key = None
        self.controls.set_source(self.source)

    def _hint(self) -> str:
        if self.source is not None and not self.source.blocks:
            return muted("This model has no residual blocks.")
        return super()._hint()

    def _submit(self) -> None:
        block, channel = self.controls.value()
        if not block:
            self._clear(self._hint())
            return
        self._requested = (self.source.key, self.uid, block)
        cached = self.result.decomposition if self._result_key == self._requested else None
        self._start(block, block_view, block, channel, cached=cached)

    def _show(self, r: BlockPlanes) -> None:
        self.result, self._result_key = r, self._requested
        d = r.decomposition
        c, h, w = d.total.shape
        which = "mean over all channels" if r.channel < 0 else f"channel {r.channel}"
        self.info.setText(f"<b>{escape(d.block)}</b> — output {c}×{h}×{w}, showing the "
                          f"{which}. " + muted("The block adds what its layers compute, F(x), "
                                               "to what the shortcut carries, x."))
        for view, image in zip(self.views, r.images):
            view.set_rgb(image)
            view.view.autoRange(padding=0.02)
        after = "then a ReLU clips it at 0 to give the block's output" if d.final_relu else \
            "this is the block's output (pre-activation: no ReLU after the sum)"
        captions = (SHORTCUT_TEXT.get(d.shortcut_kind, d.shortcut_kind),
                    "what the block's convolutions compute: the change it makes to x",
                    f"the two added together; {after}")
        for label, caption, plane in zip(self.captions, captions, r.planes):
            label.setText(f"{caption}<br>" + muted(
                f"mean {plane.mean():.3g}, std {plane.std():.3g}, range {plane.min():.3g} … "
                f"{plane.max():.3g}"))
        self.titles[0].setText(f"<b>{self.TITLES[0]}</b> "
                               + muted(f"({d.shortcut_kind.replace('_', '-')})"))
        self.legend.setText(
            f"<b style='color:{NEGATIVE}'>blue</b> negative · white 0 · "
            f"<b style='color:{POSITIVE}'>red</b> positive — one colour scale for all three, "
            f"−{r.limit:.3g} … +{r.limit:.3g}")
        ratio = r.residual_ratio
        ratio_text = f"‖F(x)‖ / ‖x‖ = <b>{ratio:.2f}</b> (all channels)" if ratio is not None \
            else "no shortcut signal"
        self.summary.setText(
            f"{ratio_text} " + muted(f"— a small ratio means the block only nudges its input. "
                                     f"Check: F(x) + x matches the block's own sum to "
                                     f"{d.max_abs_error:.1e}."))
        self.shown.emit()

    def _clear(self, message: str) -> None:
        self.result = self._result_key = None
        self.info.setText(message)
        for v in self.views:
            v.set_rgb(None)
        for c in self.captions:
            c.setText("")
        self.legend.setText("")
        self.summary.setText("")
