"""At initialisation: one forward + backward of a residual net and its plain twin (the same
weights, the same batch), with a verdict card for each, the three depth plots and what they
mean. Nothing is measured merely because the tab was opened: the first measurement starts on
Measure, and after it, off the GUI thread, whenever a control changes; results are cached by
request, so going back to a depth is instant. The shortcut-strength slider (α) measures a
residual net through an `AlphaDial`: the model and batch are kept, so a new α costs one
forward + backward and only α changes between two curves.

Threading: `measure_with_dial` (with the view's `AlphaDial`) runs in the thread pool through a
`LatestJob` (a newer request supersedes a running one, so a drag computes only the
newest α); its signals, and so every write to the state, arrive on the GUI thread.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.gradients import (
    IMAGENET_BATCH,
    InitMeasurement,
    InitRequest,
    report_title,
    title_of,
)
from resnet_studio.app.shortcut_strength import AlphaDial, measure_with_dial
from resnet_studio.qt.kit.job import LatestJob
from resnet_studio.qt.kit.palette import ERROR, MUTED, PLAIN, RESIDUAL, muted_style
from resnet_studio.qt.tabs.gradients.alpha_slider import AlphaSlider
from resnet_studio.qt.tabs.gradients.depth_plots import DepthPlots
from resnet_studio.qt.tabs.gradients.model_picker import spin
from resnet_studio.qt.tabs.gradients.verdict_card import VerdictCard
from resnet_studio.qt.tabs.gradients.view import GradientsView

if TYPE_CHECKING:
    from resnet_studio.app.gradients import GradientsState
    from resnet_studio.core.analysis.gradients import GradientReport
    from resnet_studio.qt.tabs.gradients.model_picker import ModelPicker

CACHE_SIZE = 24
BN_NOTES = {
    True: "BatchNorm on, in training mode (batch statistics) as at the first step: it rescales "
          "every layer's output, so the plain stack's gradients explode towards the input "
          "instead of vanishing.",
    False: "BatchNorm off: nothing rescales the signal, so the residual net's responses add up "
           "and grow with depth while the plain net's shrink -- and every weight gradient "
           "carries that scale (He et al.'s Fig. 7 regime).",
}
NOT_MEASURED = ("Press Measure: one forward + backward pass of the chosen net and its plain twin "
                "at initialisation (a few seconds of the processor). After that, changing a "
                "setting measures again.")
FIG7_HINT = ("With BatchNorm in batch-statistics mode every branch response has std ≈ 1 at "
             "initialisation by construction: switch BatchNorm off to see the Fig. 7 contrast.")


class InitView(GradientsView):
    """Controls (batch, BatchNorm), two verdict cards and the depth plots."""

    def __init__(self, picker: ModelPicker, state: GradientsState,
                 parent: QWidget | None = None):
        super().__init__(state, parent)
        self.picker = picker
        self.batch_spin = spin(2, 1024, 128, "Random N(0,1) images in the one batch measured "
                                             f"(ImageNet-size models use at most {IMAGENET_BATCH})")
        self.bn_check = QCheckBox("BatchNorm", checked=True,
                                  toolTip="Off: the same nets with every BatchNorm removed")
        self.bn_note = QLabel(wordWrap=True)
        self.bn_note.setStyleSheet(muted_style())
        self.busy_bar = QProgressBar(maximumWidth=160, maximumHeight=12, textVisible=False)
        self.busy_bar.setRange(0, 0)
        self.busy_bar.hide()
        self.busy_label = QLabel()
        self.busy_label.setStyleSheet(muted_style())
        self.measure_button = QPushButton("Measure", toolTip="Measure the chosen net and its "
                                                             "plain twin at initialisation")
        self.measure_button.clicked.connect(self.measure)
        row = QHBoxLayout()
        row.addWidget(self.measure_button)
        row.addWidget(QLabel("Batch:"))
        row.addWidget(self.batch_spin)
        row.addSpacing(12)
        row.addWidget(self.bn_check)
        row.addWidget(self.bn_note, 1)
        row.addWidget(self.busy_bar)
        row.addWidget(self.busy_label)
        self.alpha_slider = AlphaSlider()
        alpha_note = QLabel("y = F(x) + α·shortcut(x), the same weights and batch at every α: "
                            "0 gives the plain twin's gradients, 1 the residual net's",
                            wordWrap=True)
        alpha_note.setStyleSheet(muted_style())
        alpha_row = QHBoxLayout()
        alpha_row.addWidget(self.alpha_slider, 3)
        alpha_row.addSpacing(12)
        alpha_row.addWidget(alpha_note, 2)

        self.residual_card = VerdictCard(RESIDUAL)
        self.plain_card = VerdictCard(PLAIN)
        self.residual_card.hide()
        self.plain_card.hide()
        cards = QHBoxLayout()
        cards.addWidget(self.residual_card, 1)
        cards.addWidget(self.plain_card, 1)
        self.compare_label = QLabel(wordWrap=True)
        self.message = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.message.setText(f"<span style='color:{MUTED}'>{NOT_MEASURED}</span>")
        self.depth_plots = self.figure = DepthPlots()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 6, 4, 4)
        layout.addLayout(row)
        layout.addLayout(alpha_row)
        layout.addLayout(cards)
        layout.addWidget(self.compare_label)
        layout.addWidget(self.message)
        layout.addWidget(self.depth_plots, 1)

        self._cache: OrderedDict[InitRequest, GradientReport] = OrderedDict()
        self._shown: InitRequest | None = None  # the request whose report is on screen
        self._wanted: InitRequest | None = None  # the newest request asked for
        self._submitted: InitRequest | None = None  # the newest request handed to the job
        self._dial: AlphaDial | None = None  # the residual net measured at any α
        self._asked = False  # Measure was pressed: from then on a changed control measures
        self.job = LatestJob(self, heavy=True)
        self.job.succeeded.connect(self._measured)
        self.job.failed.connect(self._failed)
        self.job.runningChanged.connect(self._running)
        self.jobs = (self.job,)
        self._debounce = QTimer(self, singleShot=True, interval=200)
        self._debounce.timeout.connect(self.recompute)
        picker.changed.connect(self.schedule)
        self.batch_spin.valueChanged.connect(self.schedule)
        self.alpha_slider.changed.connect(self.recompute)  # the slider debounces itself
        self.bn_check.toggled.connect(self._bn_toggled)
        self._bn_toggled(self.bn_check.isChecked())

    # -- the form ------------------------------------------------------------------------------
    def request(self) -> InitRequest | None:
        """What the controls ask for (None until the sidebar names a chosen current model)."""
        spec = self.picker.spec()
        if spec is None:
            return None
        self.alpha_slider.setEnabled(not spec.plain)
        if not spec.plain:
            spec = replace(spec, shortcut_scale=self.alpha_slider.value())
        batch = self.batch_spin.value()
        if spec.stem != "cifar":
            batch = min(batch, IMAGENET_BATCH)
        return InitRequest(spec=spec, batch_norm=self.bn_check.isChecked(), batch_size=batch,
                           seed=self.picker.seed(), compare_plain=not spec.plain)

    def set_value(self, request: InitRequest) -> None:
        """Set the view's own controls (batch, BatchNorm) from a request."""
        if request.batch_size is not None:
            self.batch_spin.setValue(request.batch_size)
        self.bn_check.setChecked(request.batch_norm)

    def _bn_toggled(self, on: bool) -> None:
        self.bn_note.setText(BN_NOTES[bool(on)])
        self.schedule()

    # -- measuring -----------------------------------------------------------------------------
    def measure(self) -> None:
        """Measure now, and again whenever a control changes from now on."""
        self._asked = True
        self.recompute()

    def schedule(self) -> None:
        if self._asked:
            self._debounce.start()

    def stop(self) -> None:
        self._debounce.stop()
        super().stop()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().showEvent(event)
        self.schedule()

    def recompute(self) -> None:
        """Measure the chosen model now (or show the cached result), once Measure was pressed."""
        self._debounce.stop()
        if not self._asked or not self.isVisible():
            return  # measured when the view is shown
        request = self.request()
        if request is None or request == self._shown:
            return
        self._wanted = request
        if request in self._cache:
            self._cache.move_to_end(request)
            self._show(self._cache[request], request, when="cached")
            return
        if request == self._submitted and self.job.is_running():
            return
        self._submitted = request
        self.busy_label.setText(f"measuring {title_of(request.spec.name, request)}, batch "
                                f"{request.batch_size}…")
        if not request.spec.plain and (self._dial is None or not self._dial.answers(request)):
            self._dial = AlphaDial(request)  # this net at any α: built once, in the worker
        self.job.title = f"Gradients: measuring {title_of(request.spec.name, request)} at " \
                         "initialisation"
        self.job.start(measure_with_dial, request, dial=self._dial)

    def _running(self, on: bool) -> None:
        self.busy_bar.setVisible(on)
        if not on:
            self.busy_label.setText("")
        self._set_running("init", on)

    def _measured(self, result: InitMeasurement) -> None:
        self._cache[result.request] = result.report
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        if result.request == self._wanted:
            self._show(result.report, result.request, when=f"{result.seconds:.1f} s")

    def _failed(self, text: str) -> None:
        self._shown = None
        self.state.report, self.state.init_error = None, text
        self.residual_card.hide()
        self.plain_card.hide()
        self.compare_label.hide()
        self.depth_plots.clear()
        self.message.setText(f"<span style='color:{ERROR}'>Could not measure: {text}</span>")
        self.message.show()
        self.statusMessage.emit(f"Gradients: could not measure ({text})")

    def _show(self, report: GradientReport, request: InitRequest, *, when: str) -> None:
        self.state.report, self.state.init_error = report, ""
        self._shown = request
        net, plain = report.net, report.plain
        self.residual_card.show_net(net, "plain network" if net.plain else "with shortcuts")
        if plain is not None:
            self.plain_card.show_net(plain, "plain twin: same weights, no shortcuts")
        else:
            self.plain_card.hide()
        together = report.verdicts[2:]
        self.compare_label.setText(("Together: " + "; ".join(together)) if together else
                                   ("The sidebar's model is already plain: choose its residual "
                                    "version to compare." if net.plain else ""))
        self.compare_label.setVisible(bool(self.compare_label.text()))
        hint = FIG7_HINT if net.norm == "batch" and not net.preact else ""
        self.message.setText(f"<span style='color:{MUTED}'>{hint}</span>")
        self.message.setVisible(bool(hint))
        caption = ("one forward + backward at initialisation, BatchNorm "
                   + ("on (batch statistics)" if net.norm == "batch" else "off")
                   + f" · {report.batch_source}"
                   + (" · the twin has the same weights" if plain is not None else ""))
        self.depth_plots.show_report(report, caption)
        self.statusMessage.emit(f"Gradients at initialisation: {report_title(report)} ({when}) "
                                f"-- {net.status}" + (f" vs {plain.status}" if plain else ""))

    def verdict_texts(self) -> list[str]:
        """The verdicts on the cards shown: the residual net's, then its twin's."""
        return [c.plain_text() for c in (self.residual_card, self.plain_card) if not c.isHidden()]
