"""Gradients tab: how gradients travel through depth, with and without shortcuts.

Three views of one question:

* Initialisation -- one forward + backward of a residual net and its plain twin (same weights,
  same batch) at initialisation: the conv weight-gradient norms, ‖∂L/∂x‖ at each block input and
  the response std over depth, the plain ÷ residual ratio, and a verdict in words for each
  ("gradients grow 3,278× from the last to the first layer: exploding"). Recomputed off the GUI
  thread whenever a control changes; results are cached, so going back to a depth is instant.
* During training -- the `grad/<block>` metrics a `GradientLogger` wrote into the run store, as
  a block × step heatmap (log10) per run, two runs side by side on one colour scale, and lines
  for chosen blocks; refreshed on a timer while a shown run is running.
* Lesion study (Veit et al. 2016) -- a residual net and its plain twin trained briefly on a
  built-in task, then each block deleted in turn at test time: the accuracy drop per block.

The module imports no torch; the worker functions import core themselves.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.core.common.files import write_text_atomic
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.training.gradlog import GradientHistory, gradient_series
from resnet_studio.core.zoo import get_spec
from resnet_studio.qt.kit.tab import TabContext
from resnet_studio.qt.tabs.gradients.plots import (
    PLAIN,
    RESIDUAL,
    DepthPlots,
    GradientHeatmaps,
    LesionBars,
)
from resnet_studio.qt.workers import LatestOnly, run_in_background

if TYPE_CHECKING:
    from resnet_studio.core.analysis.gradients import GradientReport, NetGradients
    from resnet_studio.core.analysis.lesion import LesionReport
    from resnet_studio.core.training.store import RunRecord

CIFAR_DEPTHS = (20, 32, 44, 56, 110)
CURRENT = "current"
IMAGENET_BATCH = 16  # ImageNet-size inputs: a smaller batch keeps one pass to a few seconds
CACHE_SIZE = 24
REFRESH_MS = 2000
MUTED = "#546e7a"
ERROR = "#b91c1c"
STATUS_COLOURS = {"healthy": "#2e7d32", "growing": "#b26a00", "shrinking": "#b26a00",
                  "exploding": "#c62828", "vanishing": "#c62828", "non-finite": "#c62828"}
BN_NOTES = {
    True: "BatchNorm on, in training mode (batch statistics) as at the first step: it rescales "
          "every layer's output, so the plain stack's gradients explode towards the input "
          "instead of vanishing.",
    False: "BatchNorm off: nothing rescales the signal, so the residual net's responses add up "
           "and grow with depth while the plain net's shrink -- and every weight gradient "
           "carries that scale (He et al.'s Fig. 7 regime).",
}
LESION_TASKS = {  # as `resnet-studio lesion --data ...` does it
    "templates": dict(steps=100, size=8, train=2048, val=512,
                      text="templates (easy: 10 noisy fixed images, ~100 steps)"),
    "synthetic": dict(steps=1000, size=16, train=4000, val=1000,
                      text="synthetic (the built-in dataset: hard, 1000+ steps)"),
}
LESION_LR = 0.1
LESION_BATCH = 64
DATA_FILTER = "JSON (*.json);;CSV (*.csv)"


class Cancelled(Exception):
    pass


# -- worker functions (run in the thread pool; torch is imported there) ------------------------

@dataclass
class InitResult:
    key: tuple
    report: GradientReport
    seconds: float


def measure_at_init(spec: ArchSpec, *, batch_norm: bool, batch_size: int, seed: int,
                    key: tuple = ()) -> InitResult:
    """The residual net and its plain twin (unless `spec` is plain) at initialisation."""
    from resnet_studio.core.analysis.gradients import analyze_gradients, without_bn

    t = time.perf_counter()
    if not batch_norm:
        spec = without_bn(spec)
    report = analyze_gradients(spec, compare_plain=not spec.plain, seed=seed,
                               batch_size=batch_size)
    return InitResult(key=key, report=report, seconds=time.perf_counter() - t)


@dataclass
class RunGradients:
    record: RunRecord
    history: GradientHistory


def list_runs(store_path: str | None) -> list[tuple[RunRecord, bool]]:
    """Every run of the store, newest first, with whether it has gradient metrics."""
    from resnet_studio.core.training.store import RunStore

    store = RunStore(store_path, check_interrupted=False)
    try:
        out = []
        for rec in reversed(store.list_runs()):
            out.append((rec, _has_gradients(store, rec.id)))
        return out
    finally:
        store.close()


def _has_gradients(store, run_id: str) -> bool:
    # one indexed probe per run (metrics_run is on run_id, name, step); RunStore has no public
    # "metric names of a run" query, so fall back to reading the metrics if this ever breaks
    try:
        row = store._tx("SELECT 1 FROM metrics WHERE run_id=? AND name>=? AND name<? LIMIT 1",
                        (run_id, "grad/", "grad0")).fetchone()
        return row is not None
    except Exception:
        return any(k.startswith("grad/") for k in store.metrics(run_id))


def load_runs(store_path: str | None, run_ids: list[str]) -> list[RunGradients]:
    from resnet_studio.core.training.store import RunStore

    store = RunStore(store_path, check_interrupted=False)
    try:
        return [RunGradients(store.get(rid), gradient_series(store.metrics(rid)))
                for rid in run_ids]
    finally:
        store.close()


def run_lesion(spec: ArchSpec, *, task: str, steps: int, seed: int, progress,
               cancelled: threading.Event) -> list[LesionReport]:
    """Train the residual net and its plain twin briefly (same initial weights, same batches),
    then lesion each. progress(done, total, text); raises Cancelled when `cancelled` is set."""
    from resnet_studio.core.analysis.gradients import build_seeded, plain_twin_of
    from resnet_studio.core.analysis.lesion import (
        lesion_study,
        synthetic_task,
        template_task,
        train_briefly,
    )
    from resnet_studio.core.zoo import with_io

    opts = LESION_TASKS[task]
    spec = with_io(spec, in_channels=3, num_classes=10)
    size = max(opts["size"], spec.min_input_side)
    make = synthetic_task if task == "synthetic" else template_task
    progress(0, 1, f"making the {task} data")
    tx, ty, vx, vy, dataset = make(size=size, train=opts["train"], val=opts["val"], classes=10,
                                   seed=seed)
    model = build_seeded(spec, seed)
    models = [model] if spec.plain else [model, plain_twin_of(model)[0]]
    n_blocks = sum(len(getattr(model, s)) for s in model.stage_names)
    total = len(models) * (steps + n_blocks)
    done = 0
    reports = []

    def check():
        if cancelled.is_set():
            raise Cancelled()

    for m in models:
        check()
        name = m.spec.name
        base = done
        if steps:
            train_briefly(m, tx, ty, steps=steps, batch_size=LESION_BATCH, lr=LESION_LR,
                          seed=seed,
                          progress=lambda s, n, loss, base=base, name=name: (
                              check(), progress(base + s, total,
                                                f"training {name}: step {s}/{n}, "
                                                f"loss {loss:.3f}")))
            how = f"trained {steps} steps (SGD, batch {LESION_BATCH}, lr {LESION_LR} cosine)"
        else:
            how = "untrained"
        done = base + steps
        check()
        lesion_base = done
        report = lesion_study(
            m, vx, vy, source=f"{how} on {dataset}; evaluated on {len(vy)} held-out images",
            progress=lambda k, n, bid, lb=lesion_base, name=name: (
                check(), progress(lb + k, total, f"lesioning {name}: {bid} deleted")))
        done = lesion_base + n_blocks
        reports.append(report)
    return reports


# -- small widgets -----------------------------------------------------------------------------

class VerdictCard(QFrame):
    """One network's verdict, big: name, a coloured status word, the sentence, the detail."""

    def __init__(self, colour: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.colour = colour
        self.text = ""
        self.setObjectName("verdictCard")
        self.setStyleSheet(f"#verdictCard {{ border-left: 5px solid {colour}; "
                           "background: #f7f9fb; border-radius: 3px; }")
        self.title = QLabel(textFormat=Qt.TextFormat.RichText)
        self.verdict = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail = QLabel(wordWrap=True)
        self.detail.setStyleSheet(f"color: {MUTED};")
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
        colour = STATUS_COLOURS.get(net.status, MUTED)
        self.title.setText(f"<span style='color:{self.colour};font-weight:700'>{net.label}"
                           f"</span> <span style='color:{MUTED}'>· {role} · {net.layers} "
                           f"layers</span>")
        self.text = net.verdict
        head, sep, status = net.verdict.partition(": ")
        word, _, rest = status.partition(" ")
        text = html.escape(net.verdict)
        if sep and word == net.status:
            text = (f"{html.escape(head)}: <b style='color:{colour}'>{word}</b>"
                    + (f" <span style='font-size:small;color:{MUTED}'>{html.escape(rest)}</span>"
                       if rest else ""))
        self.verdict.setText(text)
        self.detail.setText(net.detail)
        self.show()

    def plain_text(self) -> str:
        return self.text


class _Relay(QObject):
    """Carries progress from a worker thread to the GUI thread (queued connection)."""

    progress = Signal(int, int, str)


def _spin(lo: int, hi: int, value: int, tip: str) -> QSpinBox:
    s = QSpinBox(minimum=lo, maximum=hi, value=value, toolTip=tip)
    s.setKeyboardTracking(False)  # recompute when the edit is done, not per digit
    return s


def _muted(text: str = "") -> QLabel:
    label = QLabel(text, wordWrap=True)
    label.setStyleSheet(f"color: {MUTED};")
    return label


# -- the tab -----------------------------------------------------------------------------------

class GradientsTab(QWidget):
    title = "Gradients"
    statusMessage = Signal(str)
    busyChanged = Signal(bool)

    def __init__(self, context: TabContext | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context or TabContext()
        self.store_path = self.context.store_path
        self.current_spec: ArchSpec | None = None
        self.report: GradientReport | None = None
        self.lesion_reports: list[LesionReport] = []
        self.runs_shown: list[RunGradients] = []
        self._cache: OrderedDict[tuple, GradientReport] = OrderedDict()
        self._shown_key: tuple | None = None
        self._wanted_key: tuple | None = None
        self._busy = {"init": False, "runs": False, "lesion": False}
        self._lesion_worker = None
        self._lesion_cancel: threading.Event | None = None
        self._run_rows: list[tuple[RunRecord, bool]] = []
        self._listing = False
        self._loading_runs = False
        self._submitted_key: tuple | None = None

        # top bar: the model and seed (shared by the initialisation and lesion views), busy, export
        self.model_combo = QComboBox(toolTip="The CIFAR ResNets of He et al. 2015 (6n+2 layers), "
                                             "or the model chosen in the sidebar")
        for d in CIFAR_DEPTHS:
            self.model_combo.addItem(f"ResNet-{d} vs plain-{d}", d)
        self.model_combo.addItem("Current model (none chosen)", CURRENT)
        self._current_item_enabled(False)
        self.seed_spin = _spin(0, 2**31 - 1, 0, "Seed of the initial weights and the batch")
        self.busy_bar = QProgressBar(maximumWidth=160, textVisible=False)
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumHeight(12)
        self.busy_label = _muted()
        self.busy_bar.hide()
        self.export_png_button = QPushButton("Export PNG…", toolTip="Save the figure shown")
        self.export_data_button = QPushButton("Export data…",
                                              toolTip="Save the numbers shown (JSON or CSV)")
        self.export_png_button.clicked.connect(self._export_png_dialog)
        self.export_data_button.clicked.connect(self._export_data_dialog)
        top = QHBoxLayout()
        top.addWidget(QLabel("Model:"))
        top.addWidget(self.model_combo)
        top.addSpacing(12)
        top.addWidget(QLabel("Seed:"))
        top.addWidget(self.seed_spin)
        top.addSpacing(12)
        top.addWidget(self.busy_bar)
        top.addWidget(self.busy_label, 1)
        top.addWidget(self.export_png_button)
        top.addWidget(self.export_data_button)

        self.sections = QTabWidget(documentMode=True)
        self.sections.addTab(self._build_init(), "Initialisation")
        self.sections.addTab(self._build_training(), "During training")
        self.sections.addTab(self._build_lesion(), "Lesion study")
        self.sections.currentChanged.connect(self._section_changed)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.sections, 1)

        self.init_jobs = LatestOnly(self)
        self.init_jobs.result.connect(self._init_done)
        self.init_jobs.error.connect(self._init_failed)
        self.init_jobs.busy.connect(lambda b: self._set_busy("init", b))
        self.run_jobs = LatestOnly(self)
        self.run_jobs.result.connect(self._runs_loaded)
        self.run_jobs.error.connect(self._runs_failed)
        self.run_jobs.busy.connect(self._run_jobs_busy)
        self._relay = _Relay(self)
        self._relay.progress.connect(self._lesion_progress)

        self._debounce = QTimer(self, singleShot=True, interval=200)
        self._debounce.timeout.connect(self.recompute)
        self.refresh_timer = QTimer(self, interval=REFRESH_MS)
        self.refresh_timer.timeout.connect(self._load_selected_runs)
        self.model_combo.currentIndexChanged.connect(self._model_changed)
        self.seed_spin.valueChanged.connect(self._schedule)
        self.batch_spin.valueChanged.connect(self._schedule)
        self.bn_check.toggled.connect(self._bn_toggled)
        self._bn_toggled(self.bn_check.isChecked())

    # -- construction ------------------------------------------------------------------------
    def _build_init(self) -> QWidget:
        page = QWidget()
        self.batch_spin = _spin(2, 1024, 128, "Random N(0,1) images in the one batch measured "
                                              "(ImageNet-size models use at most 16)")
        self.bn_check = QCheckBox("BatchNorm", checked=True,
                                  toolTip="Off: the same nets with every BatchNorm removed")
        self.bn_note = _muted()
        row = QHBoxLayout()
        row.addWidget(QLabel("Batch:"))
        row.addWidget(self.batch_spin)
        row.addSpacing(12)
        row.addWidget(self.bn_check)
        row.addWidget(self.bn_note, 1)

        self.residual_card = VerdictCard(RESIDUAL)
        self.plain_card = VerdictCard(PLAIN)
        self.compare_label = QLabel(wordWrap=True)
        self.init_message = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.init_message.setText(f"<span style='color:{MUTED}'>One forward + backward pass at "
                                  "initialisation; the measurement starts when this tab is "
                                  "shown.</span>")
        cards = QHBoxLayout()
        cards.addWidget(self.residual_card, 1)
        cards.addWidget(self.plain_card, 1)
        self.residual_card.hide()
        self.plain_card.hide()
        self.depth_plots = DepthPlots()

        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 6, 4, 4)
        layout.addLayout(row)
        layout.addLayout(cards)
        layout.addWidget(self.compare_label)
        layout.addWidget(self.init_message)
        layout.addWidget(self.depth_plots, 1)
        return page

    def _build_training(self) -> QWidget:
        page = QWidget()
        self.run_a = QComboBox(minimumContentsLength=28,
                               toolTip="A run recorded with gradient logging")
        self.run_b = QComboBox(minimumContentsLength=28,
                               toolTip="A second run beside the first, on the same colour scale")
        self.run_a.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.run_b.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.refresh_button = QPushButton("Refresh", toolTip="Read the run list and the "
                                                             "chosen runs again")
        self.refresh_button.clicked.connect(self.refresh_runs)
        self.run_a.currentIndexChanged.connect(self._runs_chosen)
        self.run_b.currentIndexChanged.connect(self._runs_chosen)
        row = QHBoxLayout()
        row.addWidget(QLabel("Run:"))
        row.addWidget(self.run_a, 1)
        row.addWidget(QLabel("beside:"))
        row.addWidget(self.run_b, 1)
        row.addWidget(self.refresh_button)
        self.runs_message = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.heatmaps = GradientHeatmaps()
        self.block_list = QListWidget(toolTip="Blocks drawn as lines under the heatmaps")
        self.block_list.itemChanged.connect(self._blocks_chosen)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(QLabel("Lines for:"))
        side_layout.addWidget(self.block_list, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.heatmaps)
        split.addWidget(side)
        split.setStretchFactor(0, 1)
        split.setSizes([1000, 150])
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 6, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.runs_message)
        layout.addWidget(split, 1)
        return page

    def _build_lesion(self) -> QWidget:
        page = QWidget()
        self.task_combo = QComboBox()
        for key, opts in LESION_TASKS.items():
            self.task_combo.addItem(opts["text"], key)
        self.task_combo.currentIndexChanged.connect(
            lambda: self.steps_spin.setValue(LESION_TASKS[self.task_combo.currentData()]["steps"]))
        self.steps_spin = QSpinBox(minimum=0, maximum=100_000, value=100, singleStep=50,
                                   toolTip="SGD steps before the lesion study (0: untrained)")
        self.lesion_button = QPushButton("Run lesion study")
        self.lesion_cancel_button = QPushButton("Cancel", enabled=False)
        self.lesion_button.clicked.connect(self.start_lesion)
        self.lesion_cancel_button.clicked.connect(self.cancel_lesion)
        self.lesion_progress = QProgressBar(textVisible=True)
        self.lesion_progress.setFormat("idle")
        self.lesion_progress.setValue(0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Train on:"))
        row.addWidget(self.task_combo)
        row.addWidget(QLabel("Steps:"))
        row.addWidget(self.steps_spin)
        row.addWidget(self.lesion_button)
        row.addWidget(self.lesion_cancel_button)
        row.addWidget(self.lesion_progress, 1)
        self.lesion_message = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.lesion_message.setText(
            f"<span style='color:{MUTED}'>Veit et al. 2016: train the residual net and its plain "
            "twin briefly (same initial weights, same batches), then delete one block at a time "
            "at test time. A residual block leaves its identity path behind; a plain block "
            "leaves nothing, so every image's only path breaks.</span>")
        self.lesion_bars = LesionBars()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 6, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.lesion_message)
        layout.addWidget(self.lesion_bars, 1)
        return page

    # -- the sidebar's model -----------------------------------------------------------------
    def model_changed(self, summary) -> None:
        self.set_spec(summary.spec)

    def confirm_close(self, parent: QWidget) -> bool:
        return True

    def set_spec(self, spec: ArchSpec) -> None:
        self.current_spec = spec
        i = self.model_combo.findData(CURRENT)
        self.model_combo.setItemText(i, f"Current model: {spec.name}")
        self._current_item_enabled(True)
        if self.model_combo.currentData() == CURRENT:
            self._schedule()

    def _current_item_enabled(self, on: bool) -> None:
        item = self.model_combo.model().item(self.model_combo.findData(CURRENT))
        if item is not None:
            item.setEnabled(on)

    def selected_spec(self) -> ArchSpec | None:
        data = self.model_combo.currentData()
        if data == CURRENT:
            return self.current_spec
        return get_spec(f"resnet{data}")

    # -- initialisation view -----------------------------------------------------------------
    def _bn_toggled(self, on: bool) -> None:
        self.bn_note.setText(BN_NOTES[bool(on)])
        self._schedule()

    def _model_changed(self) -> None:
        self._schedule()

    def _schedule(self) -> None:
        self._debounce.start()

    def _section_changed(self, index: int) -> None:
        if index == 1:
            self.refresh_runs()
        else:
            self.refresh_timer.stop()
        if index == 0:
            self._schedule()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().showEvent(event)
        if self.sections.currentIndex() == 0:
            self._schedule()
        elif self.sections.currentIndex() == 1:
            self.refresh_runs()

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().hideEvent(event)
        self.refresh_timer.stop()  # nobody is looking; showing the tab reads the runs again

    def measurement_settings(self) -> tuple[ArchSpec | None, int, int, bool]:
        spec = self.selected_spec()
        batch = self.batch_spin.value()
        if spec is not None and spec.stem != "cifar":
            batch = min(batch, IMAGENET_BATCH)
        return spec, batch, self.seed_spin.value(), self.bn_check.isChecked()

    def recompute(self) -> None:
        """Measure the selected model now (or show the cached result)."""
        self._debounce.stop()
        if not self.isVisible() or self.sections.currentIndex() != 0:
            return  # measured when the view is shown
        spec, batch, seed, bn = self.measurement_settings()
        if spec is None:
            return
        key = (json.dumps(spec.to_dict(), sort_keys=True), batch, seed, bn)
        if key == self._shown_key:
            return
        self._wanted_key = key
        if key in self._cache:
            self._cache.move_to_end(key)
            self._show_report(self._cache[key], key, cached=True)
            return
        if key == self._submitted_key and self._busy["init"]:
            return
        self._submitted_key = key
        name = spec.name if bn else f"{spec.name} (no BN)"
        self.busy_label.setText(f"measuring {name}" + ("" if spec.plain else " and its plain "
                                                       "twin") + f", batch {batch}…")
        self.init_jobs.submit(measure_at_init, spec, batch_norm=bn, batch_size=batch, seed=seed,
                              key=key)

    def _init_done(self, result: InitResult) -> None:
        self._cache[result.key] = result.report
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        if result.key != self._wanted_key:
            return
        self._show_report(result.report, result.key, seconds=result.seconds)

    def _init_failed(self, exc: BaseException) -> None:
        self._shown_key = None
        self.report = None
        self.residual_card.hide()
        self.plain_card.hide()
        self.compare_label.hide()
        self.depth_plots.clear()
        self.busy_label.setText("")
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        self.init_message.setText(f"<span style='color:{ERROR}'>Could not measure: {text}</span>")
        self.init_message.show()
        self.statusMessage.emit(f"Gradients: could not measure ({text})")

    def _show_report(self, report: GradientReport, key: tuple, *, cached: bool = False,
                     seconds: float | None = None) -> None:
        self.report = report
        self._shown_key = key
        net, plain = report.net, report.plain
        self.residual_card.show_net(net, "plain network" if net.plain else "with shortcuts")
        if plain is not None:
            self.plain_card.show_net(plain, "plain twin: same weights, no shortcuts")
        else:
            self.plain_card.hide()
        extra = [v for v in report.verdicts[2:]]
        self.compare_label.setText(("Together: " + "; ".join(extra)) if extra else
                                   ("The sidebar's model is already plain: choose its residual "
                                    "version to compare." if net.plain else ""))
        self.compare_label.setVisible(bool(self.compare_label.text()))
        hints = []
        if net.norm == "batch" and not net.preact:
            hints.append("With BatchNorm in batch-statistics mode every branch response has std "
                         "≈ 1 at initialisation by construction: switch BatchNorm off to see the "
                         "Fig. 7 contrast.")
        self.init_message.setText(f"<span style='color:{MUTED}'>{' '.join(hints)}</span>")
        self.init_message.setVisible(bool(hints))
        title = net.label + (f" vs {plain.label}" if plain is not None else "")
        caption = ("one forward + backward at initialisation, BatchNorm "
                   + ("on (batch statistics)" if net.norm == "batch" else "off")
                   + f" · {report.batch_source}"
                   + (" · the twin has the same weights" if plain is not None else ""))
        self.depth_plots.show_report(report, caption)
        when = "cached" if cached else (f"{seconds:.1f} s" if seconds is not None else "")
        self.busy_label.setText("")
        self.statusMessage.emit(f"Gradients at initialisation: {title} ({when}) -- "
                                f"{net.status}" + (f" vs {plain.status}" if plain else ""))

    def verdict_texts(self) -> list[str]:
        cards = [self.residual_card] + ([self.plain_card] if not self.plain_card.isHidden()
                                        else [])
        return [c.plain_text() for c in cards if not c.isHidden()]

    # -- during training ---------------------------------------------------------------------
    def refresh_runs(self) -> None:
        """Read the run list again (in the background), then the chosen runs."""
        if self._listing:
            return
        self._listing = True
        self._set_busy("runs", True)
        run_in_background(list_runs, self.store_path, on_result=self._runs_listed,
                          on_error=self._runs_failed, on_finished=self._listing_done)

    def _listing_done(self) -> None:
        self._listing = False
        self._set_busy("runs", self._loading_runs)

    def _run_jobs_busy(self, on: bool) -> None:
        self._loading_runs = on
        self._set_busy("runs", on or self._listing)

    def _runs_listed(self, rows: list[tuple[RunRecord, bool]]) -> None:
        self._run_rows = rows
        keep_a, keep_b = self.run_a.currentData(), self.run_b.currentData()
        for combo in (self.run_a, self.run_b):
            combo.blockSignals(True)
            combo.clear()
        self.run_b.addItem("(none)", None)
        for rec, has in rows:
            label = f"{rec.name} · {rec.status} · step {rec.step:,}/{rec.total_steps:,}"
            if not has:
                label += " · no gradients logged"
            for combo in (self.run_a, self.run_b):
                combo.addItem(label, rec.id)
        if not rows:
            self.run_a.addItem("(no runs yet)", None)
        with_grads = [rec.id for rec, has in rows if has]
        ia = self.run_a.findData(keep_a) if keep_a else -1
        if ia < 0 and with_grads:
            ia = self.run_a.findData(with_grads[0])
        self.run_a.setCurrentIndex(max(ia, 0))
        ib = self.run_b.findData(keep_b) if keep_b else -1
        self.run_b.setCurrentIndex(max(ib, 0))
        for combo in (self.run_a, self.run_b):
            combo.blockSignals(False)
        self._load_selected_runs()

    def _runs_chosen(self) -> None:
        self._load_selected_runs()

    def chosen_run_ids(self) -> list[str]:
        ids = [self.run_a.currentData(), self.run_b.currentData()]
        out = []
        for rid in ids:
            if rid and rid not in out:
                out.append(rid)
        return out

    def _load_selected_runs(self) -> None:
        ids = self.chosen_run_ids()
        if not ids:
            self.refresh_timer.stop()
            self.runs_shown = []
            self.heatmaps.show_runs([], [])
            self.runs_message.setText(
                f"<span style='color:{MUTED}'>No runs in the store yet. Train a model (Train "
                "tab) with gradient logging to see its per-block gradient norms here.</span>")
            return
        self.run_jobs.submit(load_runs, self.store_path, ids)

    def _runs_failed(self, exc: BaseException) -> None:
        self.refresh_timer.stop()
        self.runs_message.setText(f"<span style='color:{ERROR}'>Could not read the run store: "
                                  f"{exc}</span>")
        self.statusMessage.emit(f"Gradients: could not read the run store ({exc})")

    def _runs_loaded(self, runs: list[RunGradients]) -> None:
        self.runs_shown = runs
        names: list[str] = []
        for r in runs:
            for n in r.history.block_names:
                if n not in names:
                    names.append(n)
        self._fill_block_list(names)
        shown = [(f"{r.record.name} ({r.record.status})", r.history if len(r.history) else None)
                 for r in runs]
        self.heatmaps.show_runs(shown, self.selected_blocks(),
                                caption="log10 of each block's gradient norm, every record; "
                                        "both runs on one colour scale")
        notes = []
        for r in runs:
            n = len(r.history)
            if n:
                notes.append(f"<b>{r.record.name}</b>: {len(r.history.block_names)} blocks × "
                             f"{n:,} records (steps {int(r.history.steps[0]):,}–"
                             f"{int(r.history.steps[-1]):,}), {r.record.status}")
            else:
                notes.append(f"<b>{r.record.name}</b>: no gradient norms recorded (it was "
                             "trained without gradient logging)")
        self.runs_message.setText(" · ".join(notes))
        if any(r.record.status == "running" for r in runs):
            if not self.refresh_timer.isActive():
                self.refresh_timer.start()
        else:
            self.refresh_timer.stop()

    def _fill_block_list(self, names: list[str]) -> None:
        current = [self.block_list.item(i).text() for i in range(self.block_list.count())]
        if current == names:
            return
        checked = set(self.selected_blocks())
        if not checked & set(names):
            blocks = [n for n in names if n not in ("stem", "head")]
            checked = {blocks[0], blocks[-1]} if blocks else set(names[:1])
        self.block_list.blockSignals(True)
        self.block_list.clear()
        for n in names:
            item = QListWidgetItem(n)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if n in checked else Qt.CheckState.Unchecked)
            self.block_list.addItem(item)
        self.block_list.blockSignals(False)

    def selected_blocks(self) -> list[str]:
        return [self.block_list.item(i).text() for i in range(self.block_list.count())
                if self.block_list.item(i).checkState() == Qt.CheckState.Checked]

    def _blocks_chosen(self) -> None:
        self.heatmaps._draw_lines(self.selected_blocks())

    # -- lesion study --------------------------------------------------------------------------
    def lesion_running(self) -> bool:
        return self._lesion_worker is not None

    def start_lesion(self) -> bool:
        if self.lesion_running():
            return False
        spec = self.selected_spec()
        if spec is None:
            return False
        task = self.task_combo.currentData()
        steps = self.steps_spin.value()
        seed = self.seed_spin.value()
        self._lesion_cancel = threading.Event()
        self.lesion_button.setEnabled(False)
        self.lesion_cancel_button.setEnabled(True)
        self.lesion_progress.setRange(0, 1000)
        self.lesion_progress.setValue(0)
        self.lesion_progress.setFormat("starting…")
        self._set_busy("lesion", True)
        self._lesion_spec_name = spec.name
        relay = self._relay
        self._lesion_worker = run_in_background(
            run_lesion, spec, task=task, steps=steps, seed=seed,
            progress=lambda d, t, text: relay.progress.emit(d, t, text),
            cancelled=self._lesion_cancel, on_result=self._lesion_done,
            on_error=self._lesion_failed, on_finished=self._lesion_finished)
        self.statusMessage.emit(f"Lesion study: training {spec.name} and its plain twin "
                                f"({steps} steps each)")
        return True

    def cancel_lesion(self) -> None:
        if self._lesion_cancel is not None:
            self._lesion_cancel.set()
            self.lesion_progress.setFormat("cancelling…")

    def _lesion_progress(self, done: int, total: int, text: str) -> None:
        if self._lesion_worker is None:
            return
        self.lesion_progress.setValue(int(1000 * done / max(total, 1)))
        self.lesion_progress.setFormat(f"{text} (%p%)")

    def _lesion_done(self, reports: list[LesionReport]) -> None:
        from resnet_studio.core.analysis.lesion import near_chance, summarize_lesion

        self.lesion_reports = reports
        lines = [summarize_lesion(r) for r in reports]
        if any(near_chance(r) for r in reports):
            lines.append("Train longer (more steps) or use the easy task to get a model well "
                         "above chance.")
        self.lesion_message.setText("<br>".join(lines))
        caption = reports[0].source if reports else ""
        self.lesion_bars.show_reports(reports, caption)
        self.lesion_progress.setValue(1000)
        self.lesion_progress.setFormat("done")
        self.statusMessage.emit("Lesion study: " + "; ".join(
            f"{r.model} mean drop {100 * r.mean_drop:.1f} points" for r in reports
            if math.isfinite(r.mean_drop)))

    def _lesion_failed(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled):
            self.lesion_progress.setFormat("cancelled")
            self.statusMessage.emit("Lesion study cancelled")
            return
        self.lesion_progress.setFormat("failed")
        self.lesion_message.setText(f"<span style='color:{ERROR}'>The lesion study failed: "
                                    f"{type(exc).__name__}: {exc}</span>")
        self.statusMessage.emit(f"Lesion study failed: {exc}")

    def _lesion_finished(self) -> None:
        self._lesion_worker = None
        self._lesion_cancel = None
        self.lesion_button.setEnabled(True)
        self.lesion_cancel_button.setEnabled(False)
        self._set_busy("lesion", False)

    # -- busy ------------------------------------------------------------------------------------
    def _set_busy(self, what: str, on: bool) -> None:
        before = any(self._busy.values())
        self._busy[what] = bool(on)
        now = any(self._busy.values())
        self.busy_bar.setVisible(self._busy["init"] or self._busy["lesion"])
        if not self._busy["init"] and not self._busy["lesion"]:
            self.busy_label.setText("")
        if now != before:
            self.busyChanged.emit(now)

    def is_busy(self) -> bool:
        return any(self._busy.values())

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Stop timers, cancel the lesion study, wait for background work (window close)."""
        from resnet_studio.qt.kit.job import wait_for_background_work

        self._debounce.stop()
        self.refresh_timer.stop()
        self.cancel_lesion()
        return wait_for_background_work(timeout_ms)

    # -- export ----------------------------------------------------------------------------------
    def current_view(self):
        return (self.depth_plots, self.heatmaps, self.lesion_bars)[self.sections.currentIndex()]

    def export_png(self, path: str | Path) -> Path:
        """The figure of the current view as a PNG (written atomically)."""
        import os
        import tempfile

        import pyqtgraph.exporters as exporters

        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        view = self.current_view().view
        exporter = exporters.ImageExporter(view.scene())
        width = max(1200, int(view.width()))
        exporter.parameters()["width"] = width
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".png", dir=path.parent)
        os.close(fd)
        try:
            exporter.export(tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def export_data(self, path: str | Path) -> Path:
        """The numbers of the current view: JSON (everything) or CSV (a table), by suffix."""
        path = Path(path)
        as_csv = path.suffix.lower() == ".csv"
        if not as_csv and path.suffix.lower() != ".json":
            path = path.with_suffix(".json")
        index = self.sections.currentIndex()
        if index == 0:
            if self.report is None:
                raise ValueError("nothing measured yet")
            text = _report_csv(self.report) if as_csv else json.dumps(self.report.to_dict(),
                                                                      indent=1)
        elif index == 1:
            if not self.runs_shown:
                raise ValueError("no run shown")
            text = _runs_csv(self.runs_shown) if as_csv else json.dumps(
                {"runs": [_run_dict(r) for r in self.runs_shown]}, indent=1)
        else:
            if not self.lesion_reports:
                raise ValueError("no lesion study run yet")
            text = _lesion_csv(self.lesion_reports) if as_csv else json.dumps(
                {"reports": [r.to_dict() for r in self.lesion_reports]}, indent=1)
        write_text_atomic(path, text)
        return path

    def _default_name(self) -> str:
        index = self.sections.currentIndex()
        if index == 0 and self.report is not None:
            net = self.report.net
            return f"gradients-{net.model}{'' if net.norm == 'batch' else '-nobn'}"
        if index == 1 and self.runs_shown:
            return f"gradients-run-{self.runs_shown[0].record.id}"
        if index == 2 and self.lesion_reports:
            return f"lesion-{self.lesion_reports[0].model}"
        return "gradients"

    def _export_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export figure", self._default_name() +
                                              ".png", "PNG image (*.png)")
        if path:
            self._try(lambda: self.export_png(path), "figure")

    def _export_data_dialog(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(self, "Export numbers",
                                                   self._default_name() + ".json", DATA_FILTER)
        if path:
            if chosen.startswith("CSV") and not path.lower().endswith((".csv", ".json")):
                path += ".csv"
            self._try(lambda: self.export_data(path), "numbers")

    def _try(self, action, what: str) -> None:
        try:
            written = action()
        except (OSError, ValueError) as e:
            QMessageBox.warning(self, "Export failed", f"Could not save the {what}: {e}")
            return
        self.statusMessage.emit(f"Saved {written}")


# -- export helpers ------------------------------------------------------------------------------

def _csv(rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for row in rows:
        w.writerow(["" if isinstance(v, float) and not math.isfinite(v) else
                    (repr(v) if isinstance(v, float) else v) for v in row])
    return buf.getvalue()


def _report_csv(report: GradientReport) -> str:
    """One row per conv and per block, residual and plain side by side."""
    net, plain = report.net, report.plain
    rows: list[list[Any]] = [["kind", "name", "block", "depth", "shortcut_conv",
                              f"{net.label}", f"{plain.label}" if plain else "plain",
                              "plain_over_residual"]]
    plain_convs = {c.name: c for c in plain.convs} if plain else {}
    for c in net.convs:
        q = plain_convs.get(c.name)
        ratio = q.weight_grad_norm / c.weight_grad_norm if q and c.weight_grad_norm else ""
        rows.append(["conv_weight_grad_norm", c.name, c.block, c.depth, c.shortcut,
                     c.weight_grad_norm, q.weight_grad_norm if q else "", ratio])
    plain_blocks = {b.id: b for b in plain.blocks} if plain else {}
    for field_name, kind in (("input_grad_norm", "block_input_grad_norm"),
                             ("response_std", "block_response_std")):
        for b in net.blocks:
            q = plain_blocks.get(b.id)
            a = getattr(b, field_name)
            p = getattr(q, field_name) if q else ""
            ratio = p / a if q and a else ""
            rows.append([kind, b.id, b.id, b.depth, "", a, p, ratio])
    return _csv(rows)


def _run_dict(r: RunGradients) -> dict[str, Any]:
    h = r.history
    return {"run_id": r.record.id, "name": r.record.name, "model": r.record.model,
            "status": r.record.status, "blocks": h.block_names,
            "steps": h.steps.tolist(),
            "norms": [[v if math.isfinite(v) else None for v in row]
                      for row in h.blocks.tolist()]}


def _runs_csv(runs: list[RunGradients]) -> str:
    rows: list[list[Any]] = [["run_id", "run", "step", "block", "grad_norm"]]
    for r in runs:
        h = r.history
        blocks = h.blocks
        for i, step in enumerate(h.steps.tolist()):
            for j, name in enumerate(h.block_names):
                rows.append([r.record.id, r.record.name, step, name, float(blocks[i, j])])
    return _csv(rows)


def _lesion_csv(reports: list[LesionReport]) -> str:
    rows: list[list[Any]] = [["model", "plain", "deleted_block", "deleted_as", "accuracy",
                              "drop", "intact_accuracy"]]
    for r in reports:
        for b in r.blocks:
            rows.append([r.model, r.plain, b.id, b.deleted_as, b.accuracy, b.drop,
                         r.intact_accuracy])
    return _csv(rows)


__all__ = ["CIFAR_DEPTHS", "GradientsTab", "InitResult", "RunGradients", "list_runs",
           "load_runs", "measure_at_init", "run_lesion"]
