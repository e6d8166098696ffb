"""Depth Lab: train plain and residual nets of several depths side by side and watch the
degradation problem appear (He et al. 2015, Fig. 6 and Table 6).

Left: the grid picker (presets, depths, variants, seeds, steps, dataset), Run / Cancel all, and
the stored experiments. Right: the paper-style curves, the degradation readout, the results
table (with the paper's Table 6 column) and the run queue (Cancel run, Add run).
"""

from __future__ import annotations

import contextlib
import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.experiments import describe_experiment
from resnet_studio.core.experiments import (
    EXPERIMENT_PRESETS,
    STANDARD_DEPTHS,
    VARIANT_LABELS,
    VARIANTS,
    Experiment,
    ExperimentError,
    ExperimentResults,
    RunSeries,
    compute_results,
    grid_cells,
)
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.qt.kit.tab import TabContext
from resnet_studio.qt.tabs.depth_lab.plots import DepthPlots
from resnet_studio.qt.tabs.depth_lab.session import ExperimentSession

REDRAW_MS = 200
DATASETS = ("synthetic", "cifar10", "cifar100", "mnist", "fashionmnist")
STATUS_COLOURS = {"finished": "#2e7d32", "running": "#1565c0", "failed": "#c62828",
                  "diverged": "#c62828", "cancelled": "#757575", "stopped": "#ef6c00",
                  "interrupted": "#ef6c00", "pending": "#757575"}


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(max(seconds, 0)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _pm(mean: float | None, std: float | None, runs: int) -> str:
    if mean is None:
        return "–"
    return f"{mean:.2f} ± {std:.2f}" if runs > 1 else f"{mean:.2f}"


def _item(text: str, align=Qt.AlignmentFlag.AlignRight, colour: str | None = None):
    it = QTableWidgetItem(text)
    it.setTextAlignment(align | Qt.AlignmentFlag.AlignVCenter)
    it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if colour:
        it.setForeground(QColor(colour))
    return it


class DepthLabTab(QWidget):
    title = "Depth Lab"
    statusMessage = Signal(str)
    busyChanged = Signal(bool)

    def __init__(self, context: TabContext | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context or TabContext()
        self.store_path = self.context.store_path
        self._store = None
        self.session = ExperimentSession(self)
        self.experiment: Experiment | None = None
        self.series: dict[int, RunSeries] = {}
        self.results: ExperimentResults | None = None
        self._progress: dict[int, tuple[int, int]] = {}
        self._dirty = False
        self._preset_key: str | None = "quick"
        self._applying = False
        # live numbers arrive 20 times a second; the figure and tables redraw at most 5 times
        self._redraw_timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._redraw_timer.timeout.connect(self._redraw)
        self._last_draw = 0.0

        self._build_form()
        self._build_right()
        self.splitter = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        self.splitter.addWidget(self.left)
        self.splitter.addWidget(self.right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([340, 960])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.splitter)

        s = self.session
        s.cellsChanged.connect(self._cells_changed)
        s.runStarted.connect(self._run_started)
        s.logged.connect(self._logged)
        s.evaluated.connect(self._evaluated)
        s.runFinished.connect(self._run_finished)
        s.dataProgress.connect(self._data_progress)
        s.finished.connect(self._finished)
        s.failed.connect(self._failed)
        s.runningChanged.connect(self._running_changed)
        self._restore_form()
        self._update_buttons()
        self.refresh_experiments()

    # -- layout -------------------------------------------------------------------------------------
    def _build_form(self) -> None:
        self.preset_combo = QComboBox()
        for key, p in EXPERIMENT_PRESETS.items():
            self.preset_combo.addItem(p.title, key)
        self.preset_combo.addItem("Custom", None)
        self.preset_combo.setToolTip("Start from a preset; change anything below")
        self.preset_note = QLabel(wordWrap=True, objectName="presetNote")
        self.preset_note.setStyleSheet("color: #616161;")

        self.depth_boxes: dict[int, QCheckBox] = {}
        depth_grid = QGridLayout()
        depth_grid.setContentsMargins(0, 0, 0, 0)
        for i, d in enumerate(STANDARD_DEPTHS):
            box = QCheckBox(str(d))
            box.setToolTip(f"{d} layers: 3 stages of {(d - 2) // 6} blocks")
            self.depth_boxes[d] = box
            depth_grid.addWidget(box, i // 3, i % 3)
        self.custom_depths = QLineEdit(placeholderText="more (6n+2), e.g. 8, 14")
        depth_grid.addWidget(self.custom_depths, 2, 0, 1, 3)
        self.variant_boxes: dict[str, QCheckBox] = {}
        variant_grid = QGridLayout()
        variant_grid.setContentsMargins(0, 0, 0, 0)
        tips = {"plain": "no shortcuts (the paper's plain nets)",
                "residual": "identity shortcuts, zero-padded where the width grows (option A, "
                "Table 6)",
                "residual_b": "projection shortcuts where the shape changes (option B)",
                "preact": "pre-activation blocks (He et al. 2016)"}
        for i, v in enumerate(VARIANTS):
            box = QCheckBox(VARIANT_LABELS[v])
            box.setToolTip(tips[v])
            self.variant_boxes[v] = box
            variant_grid.addWidget(box, i, 0)
        self.seeds_spin = QSpinBox(minimum=1, maximum=20, value=1)
        self.seeds_spin.setToolTip("Each net is trained this many times (seeds 0, 1, ...); the "
                                   "curves show the mean and a ±std band")
        self.steps_spin = QSpinBox(minimum=10, maximum=1_000_000, singleStep=100, value=400)
        self.steps_spin.setGroupSeparatorShown(True)
        self.dataset_combo = QComboBox(editable=True)
        self.dataset_combo.addItems(DATASETS)
        self.dataset_combo.setToolTip("synthetic[:options], cifar10, ... or imagefolder:PATH")
        self.dataset_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.dataset_combo.setMinimumContentsLength(12)
        self.parallel_spin = QSpinBox(minimum=1, maximum=8, value=1)
        self.parallel_spin.setToolTip("Train this many nets at once (threads). Worth it on a "
                                      "GPU, where one small net leaves it mostly idle; on a CPU "
                                      "keep 1")
        self.name_edit = QLineEdit(placeholderText="(named after the grid)")
        self.grid_label = QLabel(wordWrap=True)
        self.grid_label.setStyleSheet("color: #616161;")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Preset", self.preset_combo)
        form.addRow(self.preset_note)
        dw = QWidget()
        dw.setLayout(depth_grid)
        form.addRow("Depths", dw)
        vw = QWidget()
        vw.setLayout(variant_grid)
        form.addRow("Variants", vw)
        form.addRow("Seeds", self.seeds_spin)
        form.addRow("Steps", self.steps_spin)
        form.addRow("Dataset", self.dataset_combo)
        form.addRow("Parallel runs", self.parallel_spin)
        form.addRow("Name", self.name_edit)
        form.addRow(self.grid_label)

        self.run_button = QPushButton("Run experiment")
        self.run_button.setDefault(True)
        self.cancel_all_button = QPushButton("Cancel all")
        self.cancel_all_button.setToolTip("Stop the experiment; the running net writes a "
                                          "checkpoint, and Resume finishes what is missing")
        self.run_button.clicked.connect(self.run_experiment)
        self.cancel_all_button.clicked.connect(self.cancel_all)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_all_button)
        self.progress = QProgressBar(textVisible=True)
        self.progress.setFormat("idle")
        self.progress.setValue(0)
        self.message = QLabel("", wordWrap=True, objectName="depthMessage")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()

        form_page = QWidget()
        fl = QVBoxLayout(form_page)
        fl.setContentsMargins(0, 0, 4, 0)
        fl.addLayout(form)
        fl.addStretch(1)
        scroll = QScrollArea(widgetResizable=True, frameShape=QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(form_page)
        grid_box = QGroupBox("Experiment")
        gl = QVBoxLayout(grid_box)
        gl.addWidget(scroll, 1)
        gl.addLayout(buttons)
        gl.addWidget(self.progress)
        gl.addWidget(self.message)

        self.experiment_list = QListWidget()
        self.experiment_list.setWordWrap(True)
        self.experiment_list.setAlternatingRowColors(True)
        self.experiment_list.itemDoubleClicked.connect(lambda it: self.open_experiment(
            it.data(Qt.ItemDataRole.UserRole)))
        self.experiment_list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.open_button = QPushButton("Open")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Run what is missing: new, stopped, interrupted or failed "
                                      "runs (interrupted ones continue from their checkpoint)")
        self.delete_button = QPushButton("Delete")
        self.open_button.clicked.connect(lambda: self.open_experiment(self._selected_id()))
        self.resume_button.clicked.connect(lambda: self.resume_experiment(self._selected_id()))
        self.delete_button.clicked.connect(self._delete_selected)
        stored_box = QGroupBox("Stored experiments")
        sl = QVBoxLayout(stored_box)
        sl.addWidget(self.experiment_list, 1)
        row = QHBoxLayout()
        for b in (self.open_button, self.resume_button, self.delete_button):
            row.addWidget(b)
        sl.addLayout(row)

        self.left = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=False)
        self.left.addWidget(grid_box)
        self.left.addWidget(stored_box)
        self.left.setStretchFactor(0, 3)
        self.left.setStretchFactor(1, 1)
        self.left.setSizes([560, 240])

        self.preset_combo.currentIndexChanged.connect(self._preset_chosen)
        for w in (*self.depth_boxes.values(), *self.variant_boxes.values()):
            w.toggled.connect(self._form_edited)
        self.custom_depths.textChanged.connect(self._form_edited)
        self.seeds_spin.valueChanged.connect(self._form_edited)
        self.steps_spin.valueChanged.connect(self._form_edited)
        self.dataset_combo.currentTextChanged.connect(self._form_edited)

    def _build_right(self) -> None:
        self.heading = QLabel("<b>Depth Lab</b> — choose a grid and press Run, or open a stored "
                            "experiment", textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.export_figure_button = QPushButton("Export figure…")
        self.export_table_button = QPushButton("Export table…")
        self.export_figure_button.clicked.connect(self._export_figure_dialog)
        self.export_table_button.clicked.connect(self._export_table_dialog)
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.export_figure_button)
        top.addWidget(self.export_table_button)

        self.plots = DepthPlots()
        self.plots.setToolTip("One panel per family, one colour per depth. Dashed: training "
                              "error (smoothed); bold: test error. With several seeds: their "
                              "mean, and a shaded band of ±1 standard deviation.")
        self.readout = QLabel("", textFormat=Qt.TextFormat.RichText, wordWrap=True,
                              objectName="degradationReadout")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setStyleSheet("QLabel { background: #f5f5f5; border: 1px solid #e0e0e0; "
                                   "border-radius: 4px; padding: 6px; }")
        self.readout.setMinimumHeight(self.readout.fontMetrics().lineSpacing() * 3 + 16)
        self.readout.setText(
            "<b>The degradation problem</b> (He et al. 2015): a deeper <i>plain</i> net reaches "
            "a <i>higher training error</i> than a shallower one; with shortcuts it does not. "
            "Press <b>Run experiment</b> for the quick demo (plain and residual nets of depth "
            "20 and 56, a few minutes on a CPU), or open a stored experiment.")
        self.readout.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

        self.table = QTableWidget(0, 7)
        self.table.setHorizontalHeaderLabels(
            ["Model", "Runs", "Train error %", "Test error %", "Params", "Time / run",
             "Paper: CIFAR-10 test error % (Table 6)"])
        self._setup_table(self.table)

        self.queue = QTableWidget(0, 7)
        self.queue.setHorizontalHeaderLabels(["#", "Run", "Status", "Step", "Train error %",
                                              "Test error %", "Time"])
        self._setup_table(self.queue, stretch=1)
        self.queue.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.queue.itemSelectionChanged.connect(self._update_buttons)
        self.cancel_run_button = QPushButton("Cancel run")
        self.cancel_run_button.setToolTip("Cancel the selected run (the others go on)")
        self.cancel_run_button.clicked.connect(self._cancel_selected)
        self.add_depth = QSpinBox(minimum=8, maximum=1202, singleStep=6, value=32)
        self.add_depth.setPrefix("depth ")
        self.add_variant = QComboBox()
        for v in VARIANTS:
            self.add_variant.addItem(VARIANT_LABELS[v], v)
        self.add_seed = QSpinBox(minimum=0, maximum=1000, value=0)
        self.add_seed.setPrefix("seed ")
        self.add_button = QPushButton("Add run")
        self.add_button.setToolTip("Add a net to this experiment (also while it runs)")
        self.add_button.clicked.connect(lambda: self.add_run(
            self.add_depth.value(), self.add_variant.currentData(), self.add_seed.value()))
        queue_bar = QHBoxLayout()
        queue_bar.addWidget(self.cancel_run_button)
        queue_bar.addStretch(1)
        for w in (self.add_depth, self.add_variant, self.add_seed, self.add_button):
            queue_bar.addWidget(w)
        queue_page = QWidget()
        ql = QVBoxLayout(queue_page)
        ql.setContentsMargins(0, 4, 0, 0)
        ql.addWidget(self.queue, 1)
        ql.addLayout(queue_bar)

        self.tables = QTabWidget()
        self.tables.addTab(self.table, "Results")
        self.tables.addTab(queue_page, "Runs")
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.readout)
        bl.addWidget(self.tables, 1)

        split = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=False)
        split.addWidget(self.plots)
        split.addWidget(bottom)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([470, 330])
        self.right = QWidget()
        rl = QVBoxLayout(self.right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addLayout(top)
        rl.addWidget(split, 1)

    @staticmethod
    def _setup_table(table: QTableWidget, stretch: int | None = None) -> None:
        table.verticalHeader().setVisible(False)
        table.setAlternatingRowColors(True)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        if stretch is not None:
            header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)

    # -- the store --------------------------------------------------------------------------------
    @property
    def store(self):
        if self._store is None:
            from resnet_studio.core.experiments import ExperimentStore

            self._store = ExperimentStore(self.store_path)
        return self._store

    def refresh_experiments(self) -> None:
        current = self._selected_id()
        self.experiment_list.clear()
        try:
            exps = self.store.list()
        except Exception as e:  # noqa: BLE001 - an unreadable store must not break the tab
            self._show_message(f"Could not read the stored experiments: {e}", error=True)
            return
        for exp in reversed(exps):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(exp.created))
            item = QListWidgetItem(f"{exp.name}\n{when} · {describe_experiment(exp)}")
            item.setData(Qt.ItemDataRole.UserRole, exp.id)
            item.setToolTip(exp.id)
            self.experiment_list.addItem(item)
            if exp.id == current or (self.experiment and exp.id == self.experiment.id
                                     and current is None):
                self.experiment_list.setCurrentItem(item)
        self._update_buttons()

    def _selected_id(self) -> str | None:
        item = self.experiment_list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    # -- the form -----------------------------------------------------------------------------------
    def apply_preset(self, key: str) -> None:
        i = self.preset_combo.findData(key)
        if i < 0:
            raise KeyError(key)
        if self.preset_combo.currentIndex() == i:
            self._preset_chosen(i)
        else:
            self.preset_combo.setCurrentIndex(i)

    def _preset_chosen(self, index: int) -> None:
        key = self.preset_combo.itemData(index)
        if key is None:
            self._preset_key = None
            self.preset_note.setText("Your own grid; the schedule of the quick demo.")
            self._form_edited()
            return
        p = EXPERIMENT_PRESETS[key]
        self._applying = True
        try:
            for d, box in self.depth_boxes.items():
                box.setChecked(d in p.depths)
            self.custom_depths.setText(", ".join(str(d) for d in p.depths
                                                 if d not in self.depth_boxes))
            for v, box in self.variant_boxes.items():
                box.setChecked(v in p.variants)
            self.seeds_spin.setValue(len(p.seeds))
            self.steps_spin.setValue(p.config.steps)
            self.dataset_combo.setCurrentText(p.config.dataset)
        finally:
            self._applying = False
        self._preset_key = key
        self.preset_note.setText(p.description)
        self._form_edited()

    def _base_config(self) -> TrainConfig:
        key = self._preset_key or "quick"
        return EXPERIMENT_PRESETS[key].config

    def form_depths(self) -> list[int]:
        depths = [d for d, b in self.depth_boxes.items() if b.isChecked()]
        text = self.custom_depths.text().replace(";", ",").replace(" ", ",")
        for part in filter(None, text.split(",")):
            try:
                depths.append(int(part))
            except ValueError:
                raise ExperimentError(f"'{part}' is not a depth (6n+2: 8, 14, 20, ...)") \
                    from None
        return sorted(set(depths))

    def form_cells(self) -> list[tuple[int, str, int]]:
        """The grid the form describes (a preset's own cells while it is unchanged)."""
        depths = self.form_depths()
        variants = [v for v, b in self.variant_boxes.items() if b.isChecked()]
        seeds = list(range(self.seeds_spin.value()))
        if self._preset_key:
            p = EXPERIMENT_PRESETS[self._preset_key]
            if depths == p.depths and variants == p.variants and seeds == p.seeds:
                return list(p.cells)
        return grid_cells(depths, variants, seeds)

    def form_config(self) -> TrainConfig:
        base = self._base_config()
        dataset = self.dataset_combo.currentText().strip() or base.dataset
        steps = self.steps_spin.value()
        changes = {"dataset": dataset, "steps": steps}
        if base.eval_every and steps < base.steps:  # keep a handful of test points
            changes["eval_every"] = max(1, min(base.eval_every, steps // 4))
            changes["log_every"] = max(1, min(base.log_every, steps // 40 or 1))
        return base.replace(**changes)

    def _form_edited(self, *_args) -> None:
        if self._applying:
            return
        if self._preset_key:
            p = EXPERIMENT_PRESETS[self._preset_key]
            same = (self._checked_depths_or_none() == p.depths
                    and [v for v, b in self.variant_boxes.items() if b.isChecked()] == p.variants
                    and self.seeds_spin.value() == len(p.seeds)
                    and self.steps_spin.value() == p.config.steps
                    and self.dataset_combo.currentText().strip() == p.config.dataset)
            self.preset_combo.setItemText(self.preset_combo.currentIndex(),
                                          p.title + ("" if same else " (modified)"))
        try:
            cells = self.form_cells()
            config = self.form_config().validate()
        except (ValueError, KeyError) as e:
            self.grid_label.setText(f"<span style='color:#c62828'>{e}</span>")
            self._form_ok = False
        else:
            n = len(cells)
            self.grid_label.setText(f"{n} run{'s' if n != 1 else ''} × {config.steps:,} steps "
                                    f"on {config.dataset}, batch {config.batch_size}, lr "
                                    f"{config.lr:g} ({config.schedule})")
            self._form_ok = True
        self._update_buttons()

    def _checked_depths_or_none(self) -> list[int] | None:
        try:
            return self.form_depths()
        except ExperimentError:
            return None

    # -- actions ------------------------------------------------------------------------------------
    def run_experiment(self) -> str | None:
        """Create an experiment from the form and run it; returns its id."""
        if self.session.is_running():
            return None
        try:
            cells = self.form_cells()
            config = self.form_config().validate()
        except (ValueError, KeyError) as e:
            self._show_message(str(e), error=True)
            return None
        depths = sorted({c[0] for c in cells})
        variants = [v for v in VARIANTS if any(c[1] == v for c in cells)]
        name = self.name_edit.text().strip() or (
            f"{' vs '.join(VARIANT_LABELS[v] for v in variants)} · depths "
            f"{', '.join(map(str, depths))}")
        self._save_form()
        exp = self.store.create(name, cells, config, preset=self._preset_key or "")
        self._start(exp)
        return exp.id

    def resume_experiment(self, ref: str | None) -> bool:
        """Run what is missing of a stored experiment."""
        if ref is None or self.session.is_running():
            return False
        exp = self.open_experiment(ref)
        if exp is None:
            return False
        if not exp.missing():
            self._show_message("Every run of this experiment is done (or cancelled); use Add "
                               "run to train more.")
            return False
        self._start(exp)
        return True

    def _start(self, exp: Experiment) -> None:
        self._show_message("")
        self._set_experiment(exp, self.store.results(exp).series)
        self.progress.setRange(0, 0)
        self.progress.setFormat("preparing data…")
        self.session.start(exp.id, store_path=self.store_path,
                           concurrency=self.parallel_spin.value())
        self.refresh_experiments()
        self.statusMessage.emit(f"Depth Lab: running {exp.name}")

    def open_experiment(self, ref: str | None) -> Experiment | None:
        """Show a stored experiment: grid, curves, table, degradation."""
        if not ref:
            return None
        if self.session.is_running() and self.experiment and \
                self.store.resolve(ref) != self.experiment.id:
            self._show_message("An experiment is running; cancel it before opening another.",
                               error=True)
            return None
        try:
            exp = self.store.get(ref)
            results = self.store.results(exp)
        except (KeyError, ValueError) as e:
            self._show_message(str(e.args[0] if e.args else e), error=True)
            return None
        self._set_experiment(exp, results.series)
        if not self.session.is_running():
            self._form_from_experiment(exp)
        self.statusMessage.emit(f"Depth Lab: {exp.name}")
        return exp

    def _form_from_experiment(self, exp: Experiment) -> None:
        """The grid picker shows the opened experiment (a starting point for the next one)."""
        self.apply_preset(exp.preset if exp.preset in EXPERIMENT_PRESETS else "quick")
        if exp.preset not in EXPERIMENT_PRESETS:
            self.preset_combo.setCurrentIndex(self.preset_combo.findData(None))
        self._applying = True
        try:
            for d, box in self.depth_boxes.items():
                box.setChecked(d in exp.depths)
            self.custom_depths.setText(", ".join(str(d) for d in exp.depths
                                                 if d not in self.depth_boxes))
            for v, box in self.variant_boxes.items():
                box.setChecked(v in exp.variants)
            self.seeds_spin.setValue(len(exp.seeds))
            self.steps_spin.setValue(exp.config.steps)
            self.dataset_combo.setCurrentText(exp.config.dataset)
        finally:
            self._applying = False
        self._form_edited()

    def cancel_run(self, index: int) -> bool:
        """Cancel one run of the running experiment (or a pending one of a stored one)."""
        if self.experiment is None:
            return False
        self.store.set_cancelled(self.experiment.id, index, True)
        if self.session.is_running():
            self.session.cancel_run(index)  # stops it if it is the one training
        self._reload_experiment()
        return True

    def cancel_all(self) -> None:
        if self.session.is_running():
            self.session.stop()
            self.progress.setFormat("stopping (the running net writes a checkpoint)…")

    def add_run(self, depth: int, variant: str, seed: int = 0) -> bool:
        if self.experiment is None:
            self._show_message("Open or run an experiment first.", error=True)
            return False
        try:
            # through the store: a running experiment picks the new cell up from there
            self.store.add_cell(self.experiment.id, depth, variant, seed)
            self._reload_experiment()
            if not self.session.is_running():
                self._show_message("Run added; press Resume to train it.")
        except (ValueError, KeyError) as e:
            self._show_message(str(e), error=True)
            return False
        return True

    def is_running(self) -> bool:
        return self.session.is_running()

    def model_changed(self, summary) -> None:
        pass  # the Depth Lab trains its own grid of CIFAR nets

    def shutdown(self, timeout_ms: int = 120_000) -> bool:
        """Stop cleanly (the running net writes a checkpoint) and wait (window close)."""
        self.cancel_all()
        done = self.session.wait(timeout_ms)
        if self._store is not None and done:
            self._store.close()
            self._store = None
        return done

    def confirm_close(self, parent: QWidget) -> bool:
        if not self.session.is_running():
            return True
        answer = QMessageBox.question(
            parent, "Experiment in progress",
            "A depth experiment is running. Stop it (the running net writes a checkpoint; "
            "Resume finishes the rest later) and quit?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    # -- exports --------------------------------------------------------------------------------------
    def export_figure(self, path: str) -> None:
        self.plots.export(path)

    def export_table(self, path: str) -> None:
        from pathlib import Path

        from resnet_studio.core.common.files import write_text_atomic

        if self.results is None:
            raise ValueError("no results to export")
        write_text_atomic(Path(path), self.results.to_csv())

    def _export_figure_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export figure", "depth_lab.png",
                                              "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            try:
                self.export_figure(path)
                self.statusMessage.emit(f"Saved {path}")
            except Exception as e:  # noqa: BLE001
                self._show_message(f"Could not save {path}: {e}", error=True)

    def _export_table_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export table", "depth_lab.csv",
                                              "CSV (*.csv)")
        if path:
            try:
                self.export_table(path)
                self.statusMessage.emit(f"Saved {path}")
            except (OSError, ValueError) as e:
                self._show_message(f"Could not save {path}: {e}", error=True)

    def _delete_selected(self) -> None:
        exp_id = self._selected_id()
        if exp_id is None:
            return
        if self.session.is_running() and self.experiment and self.experiment.id == exp_id:
            return
        answer = QMessageBox.question(
            self, "Delete experiment", "Delete this experiment and its runs (with their "
            "checkpoints)?", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            self.store.delete(exp_id, delete_runs=True)
        except (ValueError, KeyError) as e:
            self._show_message(str(e), error=True)
        if self.experiment and self.experiment.id == exp_id:
            self.experiment = None
        self.refresh_experiments()

    def _cancel_selected(self) -> None:
        rows = self.queue.selectionModel().selectedRows()
        if rows:
            index = self.queue.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)
            self.cancel_run(int(index))

    # -- drawing ------------------------------------------------------------------------------------
    def _set_experiment(self, exp: Experiment, series: dict[int, RunSeries]) -> None:
        self.experiment = exp
        self.series = dict(series)
        self._progress = {}
        self.heading.setText(f"<b>{exp.name}</b> · {exp.config.dataset} · "
                           f"{exp.config.steps:,} steps · batch {exp.config.batch_size} · "
                           f"<span style='color:#757575'>{exp.id}</span>")
        self._redraw()
        self._update_buttons()
        if not self.session.is_running():
            done, total = exp.progress
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(done)
            self.progress.setFormat(f"{exp.status} · {done} / {total} runs done")

    def _reload_experiment(self) -> None:
        if self.experiment is not None:
            self.experiment = self.store.get(self.experiment.id)
            self._redraw()
            self._update_buttons()

    def _schedule_redraw(self) -> None:
        """Redraw now if the last redraw is old enough, otherwise once the interval is up."""
        if time.monotonic() - self._last_draw >= REDRAW_MS / 1000:
            self._redraw()
        elif not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def _redraw(self) -> None:
        self._redraw_timer.stop()
        self._last_draw = time.monotonic()
        exp = self.experiment
        if exp is None:
            return
        self.results = compute_results(exp, self.series)
        self.plots.show_results(self.results)
        self._fill_table(self.results)
        self._fill_queue(self.results)
        self._fill_readout(self.results)

    def _fill_table(self, results: ExperimentResults) -> None:
        t = self.table
        t.setRowCount(len(results.summary))
        for row, s in enumerate(results.summary):
            paper = "–" if s.paper_error is None else f"{s.paper_error:.2f}"
            values = [s.model, str(s.runs), _pm(s.train_error, s.train_error_std, s.runs),
                      _pm(s.val_error, s.val_error_std, s.runs), f"{s.params / 1e6:.3f} M",
                      _duration(s.seconds), paper]
            for col, text in enumerate(values):
                align = Qt.AlignmentFlag.AlignLeft if col == 0 else Qt.AlignmentFlag.AlignRight
                t.setItem(row, col, _item(text, align))
        if results.experiment.config.dataset.split(":")[0] != "cifar10":
            t.horizontalHeaderItem(6).setToolTip("He et al. 2015 Table 6 is CIFAR-10 after 64k "
                                                 "iterations: a reference, not a target for "
                                                 "this dataset and schedule")
        else:
            t.horizontalHeaderItem(6).setToolTip("He et al. 2015, Table 6 (CIFAR-10)")

    def _fill_queue(self, results: ExperimentResults) -> None:
        q = self.queue
        selected = self._selected_cell()
        q.setRowCount(len(results.runs))
        for row, r in enumerate(results.runs):
            step, total = self._progress.get(r.index, (r.step, r.total_steps))
            status = r.status
            pct = lambda v: "–" if v is None else f"{100 * v:.2f}"
            values = [str(r.index + 1), f"{r.model} seed {r.seed}", status,
                      f"{step:,} / {total:,}", pct(r.train_error), pct(r.val_error),
                      _duration(r.seconds)]
            for col, text in enumerate(values):
                align = Qt.AlignmentFlag.AlignLeft if col in (1, 2) else Qt.AlignmentFlag.AlignRight
                it = _item(text, align, STATUS_COLOURS.get(status) if col == 2 else None)
                if col == 0:
                    it.setData(Qt.ItemDataRole.UserRole, r.index)
                q.setItem(row, col, it)
            if r.index == selected:
                q.selectRow(row)

    def _selected_cell(self) -> int | None:
        rows = self.queue.selectionModel().selectedRows()
        if not rows:
            return None
        it = self.queue.item(rows[0].row(), 0)
        return None if it is None else it.data(Qt.ItemDataRole.UserRole)

    def _fill_readout(self, results: ExperimentResults) -> None:
        lines = []
        for d in results.degradation:
            colour = "#c62828" if d.degrades else "#2e7d32"
            lines.append(f"<span style='color:{colour}'>■</span> {d.line()}")
        if not lines:
            lines.append("<span style='color:#757575'>Degradation readout: appears when two "
                         "depths of a family have finished (deep minus shallow training error, "
                         "paired by seed).</span>")
        else:
            lines.insert(0, "<b>Degradation</b> (final training error, deep − shallow):")
        self.readout.setText("<br>".join(lines))

    # -- session events -----------------------------------------------------------------------------
    def _cells_changed(self, exp: Experiment) -> None:
        self.experiment = exp
        self._redraw()
        self._update_buttons()

    def _run_started(self, cell, run_id: str, resumed: bool) -> None:
        if resumed:  # its curve so far comes from the store
            self.series[cell.index] = RunSeries.from_metrics(self.store.runs.metrics(run_id))
        else:
            self.series[cell.index] = RunSeries()
        self.experiment = self.store.get(self.experiment.id)
        self._redraw()
        self._update_progress()
        how = "resumed" if resumed else "training"
        self.statusMessage.emit(f"Depth Lab: {how} {cell.label}")

    def _logged(self, items: list) -> None:
        for index, log in items:
            self.series.setdefault(index, RunSeries()).add_log(log)
            self._progress[index] = (log.step, log.total_steps)
        self._schedule_redraw()
        self._update_progress()

    def _evaluated(self, items: list) -> None:
        for index, result in items:
            self.series.setdefault(index, RunSeries()).add_eval(result)
        self._schedule_redraw()

    def _run_finished(self, cell, result, message: str) -> None:
        # the stored numbers are the record: draw exactly what a re-open will draw
        self.experiment = self.store.get(self.experiment.id)
        if cell.run_id and self.store.runs.exists(cell.run_id):
            self.series[cell.index] = RunSeries.from_metrics(
                self.store.runs.metrics(cell.run_id))
        self._progress.pop(cell.index, None)
        self._redraw()
        self._update_progress()
        self.refresh_experiments()
        if result is None or result.status in ("failed", "diverged"):
            self._show_message(f"{cell.label}: {message or 'failed'}", error=True)

    def _data_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        else:
            self.progress.setRange(0, 0)
        self.progress.setFormat(message or "loading data…")

    def _update_progress(self) -> None:
        exp = self.experiment
        if exp is None:
            return
        total_steps = max(1, exp.config.steps) * len([c for c in exp.cells if not c.cancelled])
        done_steps = 0
        for c in exp.cells:
            if c.cancelled:
                continue
            if c.status in ("finished", "diverged"):
                done_steps += exp.config.steps
            else:
                done_steps += self._progress.get(c.index, (c.step, 0))[0]
        done, total = exp.progress
        self.progress.setRange(0, total_steps)
        self.progress.setValue(min(done_steps, total_steps))
        self.progress.setFormat(f"{done} / {total} runs · %p%")

    def _finished(self, exp: Experiment) -> None:
        self.experiment = exp
        self.series = dict(self.store.results(exp).series)
        self._redraw()
        self._update_progress()
        done, total = exp.progress
        if exp.status == "finished":
            self.progress.setFormat(f"finished · {total} runs")
            self._show_message(f"Finished: {total} runs.")
        else:
            self.progress.setFormat(f"{exp.status} · {done} / {total} runs")
            self._show_message(exp.message or exp.status, error=exp.status != "stopped")
        self.statusMessage.emit(f"Depth Lab: {exp.name} {exp.status}")
        self.refresh_experiments()

    def _failed(self, message: str) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("could not run")
        self._show_message(message, error=True)
        self.statusMessage.emit("Depth Lab: the experiment could not run")
        with contextlib.suppress(Exception):
            self._reload_experiment()
        self.refresh_experiments()

    def _running_changed(self, running: bool) -> None:
        self.busyChanged.emit(running)
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.session.is_running()
        ok = getattr(self, "_form_ok", True)
        self.run_button.setEnabled(not running and ok)
        self.cancel_all_button.setEnabled(running)
        has_exp = self.experiment is not None
        self.cancel_run_button.setEnabled(has_exp and self._selected_cell() is not None)
        self.add_button.setEnabled(has_exp)
        selected = self._selected_id() is not None
        self.open_button.setEnabled(selected)
        self.resume_button.setEnabled(selected and not running)
        self.delete_button.setEnabled(selected and not (
            running and self.experiment is not None and self._selected_id() == self.experiment.id))
        self.export_figure_button.setEnabled(has_exp)
        self.export_table_button.setEnabled(has_exp)
        for w in (self.preset_combo, *self.depth_boxes.values(), self.custom_depths,
                  *self.variant_boxes.values(), self.seeds_spin, self.steps_spin,
                  self.dataset_combo, self.parallel_spin, self.name_edit):
            w.setEnabled(not running)

    def _show_message(self, text: str, error: bool = False) -> None:
        self.message.setVisible(bool(text))
        self.message.setText(text)
        self.message.setStyleSheet("color: #c62828;" if error else "color: #2e7d32;")

    # -- remembered settings --------------------------------------------------------------------------
    def _save_form(self) -> None:
        s = self.context.settings
        s.set_value("depthlab/preset", self._preset_key or "")
        s.set_value("depthlab/depths", ",".join(str(d) for d in self.form_depths()))
        s.set_value("depthlab/variants", ",".join(v for v, b in self.variant_boxes.items()
                                                 if b.isChecked()))
        s.set_value("depthlab/seeds", self.seeds_spin.value())
        s.set_value("depthlab/steps", self.steps_spin.value())
        s.set_value("depthlab/dataset", self.dataset_combo.currentText())

    def _restore_form(self) -> None:
        s = self.context.settings
        key = s.value("depthlab/preset", "quick") or None
        self.apply_preset(key if key in EXPERIMENT_PRESETS else "quick")
        if s.value("depthlab/depths") is None:
            return
        with contextlib.suppress(ValueError, TypeError):
            depths = [int(d) for d in str(s.value("depthlab/depths")).split(",") if d]
            variants = [v for v in str(s.value("depthlab/variants")).split(",") if v]
            self._applying = True
            try:
                for d, box in self.depth_boxes.items():
                    box.setChecked(d in depths)
                self.custom_depths.setText(", ".join(str(d) for d in depths
                                                     if d not in self.depth_boxes))
                for v, box in self.variant_boxes.items():
                    box.setChecked(v in variants)
                self.seeds_spin.setValue(int(s.value("depthlab/seeds", 1)))
                self.steps_spin.setValue(int(s.value("depthlab/steps", 400)))
                self.dataset_combo.setCurrentText(str(s.value("depthlab/dataset", "synthetic")))
            finally:
                self._applying = False
            if key is None:
                self.preset_combo.setCurrentIndex(self.preset_combo.findData(None))
            self._form_edited()


__all__ = ["DepthLabTab"]
