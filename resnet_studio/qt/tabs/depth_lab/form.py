"""The Depth Lab's grid picker: a preset, depths, variants, seeds, steps, dataset, parallel runs,
where the runs train and a name. `value()` is the GridRequest it shows, `plan()` the
ExperimentPlan that request makes (the same one `resnet-studio sweep` makes from the same
flags), `cluster()` the Ray cluster chosen under "Run on" (None: this computer)."""

from __future__ import annotations

import contextlib

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from resnet_studio.app.experiments import ExperimentPlan, GridRequest
from resnet_studio.core.experiments import (
    EXPERIMENT_PRESETS,
    STANDARD_DEPTHS,
    VARIANT_LABELS,
    VARIANTS,
    ExperimentError,
)
from resnet_studio.core.experiments.backends import ClusterOptions, cluster_missing
from resnet_studio.qt.kit.palette import ERROR, muted_style
from resnet_studio.qt.kit.settings import Settings
from resnet_studio.qt.tabs.depth_lab.estimate_row import EstimateRow

DATASETS = ("synthetic", "cifar10", "cifar100", "mnist", "fashionmnist")
VARIANT_TIPS = {"plain": "no shortcuts (the paper's plain nets)",
                "residual": "identity shortcuts, zero-padded where the width grows (option A, "
                            "Table 6)",
                "residual_b": "projection shortcuts where the shape changes (option B)",
                "preact": "pre-activation blocks (He et al. 2016)"}
CUSTOM_NOTE = "Your own grid; the schedule of the quick demo."


def _grid(widgets: list[QWidget], columns: int) -> QWidget:
    grid = QGridLayout()
    grid.setContentsMargins(0, 0, 0, 0)
    for i, w in enumerate(widgets):
        grid.addWidget(w, i // columns, i % columns)
    box = QWidget()
    box.setLayout(grid)
    return box


class ExperimentForm(QWidget):
    """Edits a GridRequest; `changed` fires on every edit (the plan may have become invalid)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._filling = False
        self._error: str | None = None
        self.preset_combo = QComboBox()
        for key, p in EXPERIMENT_PRESETS.items():
            self.preset_combo.addItem(p.title, key)
        self.preset_combo.addItem("Custom", None)
        self.preset_combo.setToolTip("Start from a preset; change anything below")
        # as wide as the column, not the longest title (the popup shows them whole)
        self.preset_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.preset_combo.setMinimumContentsLength(12)
        self.preset_note = QLabel(wordWrap=True, objectName="presetNote")
        self.preset_note.setStyleSheet(muted_style())
        self.estimate_row = EstimateRow()  # the time measured on this machine, on request

        self.depth_boxes: dict[int, QCheckBox] = {}
        for d in STANDARD_DEPTHS:
            self.depth_boxes[d] = QCheckBox(str(d))
            self.depth_boxes[d].setToolTip(f"{d} layers: 3 stages of {(d - 2) // 6} blocks")
        self.custom_depths = QLineEdit(placeholderText="more (6n+2), e.g. 8, 14")
        depths = _grid(list(self.depth_boxes.values()), 3)
        depths.layout().addWidget(self.custom_depths, 2, 0, 1, 3)
        self.variant_boxes: dict[str, QCheckBox] = {}
        for v in VARIANTS:
            self.variant_boxes[v] = QCheckBox(VARIANT_LABELS[v])
            self.variant_boxes[v].setToolTip(VARIANT_TIPS[v])
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
        self.run_on_combo = QComboBox()
        self.run_on_combo.addItem("this computer", "local")
        self.run_on_combo.addItem("Ray cluster", "ray")
        self.run_on_combo.setToolTip("Ray: each run is a task on a Ray cluster (pip install "
                                     "'resnet-studio[cluster]'); its numbers land here as usual")
        self.address_edit = QLineEdit(placeholderText="empty: a local Ray; auto; ray://host:10001")
        self.address_edit.setToolTip("The Ray cluster: empty starts a local Ray for the run, "
                                     "'auto' joins the one this machine is part of (`ray "
                                     "start`), ray://HOST:10001 a remote one")
        self.name_edit = QLineEdit(placeholderText="(named after the grid)")
        self.grid_label = QLabel(wordWrap=True)
        self.grid_label.setStyleSheet(muted_style())

        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 4, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for label, widget in (("Preset", self.preset_combo), ("", self.preset_note),
                              ("", self.estimate_row),
                              ("Depths", depths),
                              ("Variants", _grid(list(self.variant_boxes.values()), 1)),
                              ("Seeds", self.seeds_spin), ("Steps", self.steps_spin),
                              ("Dataset", self.dataset_combo),
                              ("Parallel runs", self.parallel_spin),
                              ("Run on", self.run_on_combo), ("Ray address", self.address_edit),
                              ("Name", self.name_edit),
                              ("", self.grid_label)):
            if label:
                form.addRow(label, widget)
            else:
                form.addRow(widget)  # across both columns

        self.preset_combo.currentIndexChanged.connect(self._preset_chosen)
        for box in (*self.depth_boxes.values(), *self.variant_boxes.values()):
            box.toggled.connect(self._edited)
        self.custom_depths.textChanged.connect(self._edited)
        self.seeds_spin.valueChanged.connect(self._edited)
        self.steps_spin.valueChanged.connect(self._edited)
        self.dataset_combo.currentTextChanged.connect(self._edited)
        self.run_on_combo.currentIndexChanged.connect(self._edited)
        self.apply_preset("quick")

    # -- public ---------------------------------------------------------------------------------
    @property
    def preset(self) -> str | None:
        """The preset picked (None: Custom)."""
        return self.preset_combo.currentData()

    def value(self) -> GridRequest:
        """The grid shown. Raises ExperimentError for a depth that is not a number."""
        return GridRequest(
            preset=self.preset, depths=tuple(self.depths()),
            variants=tuple(v for v, b in self.variant_boxes.items() if b.isChecked()),
            seeds=self.seeds_spin.value(), dataset=self.dataset_combo.currentText().strip(),
            steps=self.steps_spin.value(), name=self.name_edit.text().strip() or None)

    def plan(self) -> ExperimentPlan:
        """What Run would start. Raises ValueError (ExperimentError, ConfigError) or KeyError."""
        return self.value().plan()

    def set_value(self, request: GridRequest) -> None:
        """Show a request; what it leaves out comes from its preset."""
        p = EXPERIMENT_PRESETS[request.preset or "quick"]
        depths = p.depths if request.depths is None else list(request.depths)
        variants = p.variants if request.variants is None else list(request.variants)
        seeds = request.seeds if request.seeds is not None else len(p.seeds)
        self._filling = True
        try:
            self.preset_combo.setCurrentIndex(self.preset_combo.findData(request.preset))
            self.preset_note.setText(p.description if request.preset else CUSTOM_NOTE)
            for d, box in self.depth_boxes.items():
                box.setChecked(d in depths)
            self.custom_depths.setText(", ".join(str(d) for d in depths
                                                 if d not in self.depth_boxes))
            for v, box in self.variant_boxes.items():
                box.setChecked(v in variants)
            self.seeds_spin.setValue(seeds if isinstance(seeds, int) else len(seeds))
            self.steps_spin.setValue(request.steps or p.config.steps)
            self.dataset_combo.setCurrentText(request.dataset or p.config.dataset)
            self.name_edit.setText(request.name or "")
        finally:
            self._filling = False
        self._edited()

    def apply_preset(self, key: str) -> None:
        if key not in EXPERIMENT_PRESETS:
            raise KeyError(key)
        self.set_value(GridRequest(preset=key))

    def depths(self) -> list[int]:
        depths = [d for d, b in self.depth_boxes.items() if b.isChecked()]
        text = self.custom_depths.text().replace(";", ",").replace(" ", ",")
        for part in filter(None, text.split(",")):
            try:
                depths.append(int(part))
            except ValueError:
                raise ExperimentError(f"'{part}' is not a depth (6n+2: 8, 14, 20, ...)") \
                    from None
        return sorted(set(depths))

    def concurrency(self) -> int | None:
        """Runs at once; None on Ray (as many as the cluster's resources fit)."""
        return None if self.on_ray() else self.parallel_spin.value()

    def on_ray(self) -> bool:
        return self.run_on_combo.currentData() == "ray"

    def cluster(self) -> ClusterOptions | None:
        """The Ray cluster the runs go to (None: this computer)."""
        return ClusterOptions(address=self.address_edit.text().strip()) if self.on_ray() else None

    def set_cluster(self, cluster: ClusterOptions | None) -> None:
        """Run on `cluster`, or on this computer (None; the address is kept for next time)."""
        if cluster is not None:
            self.address_edit.setText(cluster.address)
        self.run_on_combo.setCurrentIndex(self.run_on_combo.findData("ray" if cluster else
                                                                     "local"))

    def is_valid(self) -> bool:
        return self._error is None

    # -- remembered (the keys of earlier versions, so an upgrade keeps them) -------------------
    def save(self, settings: Settings) -> None:
        r = self.value()
        settings.set_value("depthlab/preset", r.preset or "")
        settings.set_value("depthlab/depths", ",".join(str(d) for d in r.depths or ()))
        settings.set_value("depthlab/variants", ",".join(r.variants or ()))
        settings.set_value("depthlab/seeds", r.seeds)
        settings.set_value("depthlab/steps", r.steps)
        settings.set_value("depthlab/dataset", r.dataset)
        settings.set_value("depthlab/run_on", self.run_on_combo.currentData())
        settings.set_value("depthlab/ray_address", self.address_edit.text().strip())

    def restore(self, settings: Settings) -> None:
        self.estimate_row.remember(settings)
        self.address_edit.setText(settings.text("depthlab/ray_address"))
        on_ray = settings.text("depthlab/run_on") == "ray"
        self.set_cluster(ClusterOptions(address=self.address_edit.text()) if on_ray else None)
        key = settings.value("depthlab/preset", "quick") or None
        preset = key if key in EXPERIMENT_PRESETS or key is None else "quick"
        self.apply_preset(preset or "quick")
        if settings.value("depthlab/depths") is None:
            return
        with contextlib.suppress(ValueError, TypeError):
            self.set_value(GridRequest(
                preset=preset,
                depths=tuple(int(d) for d in settings.text("depthlab/depths").split(",") if d),
                variants=tuple(v for v in settings.text("depthlab/variants").split(",") if v),
                seeds=int(settings.value("depthlab/seeds", 1)),
                steps=int(settings.value("depthlab/steps", 400)),
                dataset=settings.text("depthlab/dataset", "synthetic")))

    # -- internals --------------------------------------------------------------------------------
    def _is_preset(self, key: str) -> bool:
        """Whether the form shows the preset as it is."""
        p = EXPERIMENT_PRESETS[key]
        try:
            r = self.value()
        except ExperimentError:
            return False
        return (list(r.depths) == p.depths and list(r.variants) == p.variants
                and r.seeds == len(p.seeds) and r.steps == p.config.steps
                and r.dataset == p.config.dataset)

    def _preset_chosen(self, index: int) -> None:
        if self._filling:
            return
        key = self.preset_combo.itemData(index)
        if key is None:
            self.preset_note.setText(CUSTOM_NOTE)
            self._edited()
        else:
            self.set_value(GridRequest(preset=key))

    def _edited(self, *_args) -> None:
        if self._filling:
            return
        for i in range(self.preset_combo.count()):  # "(modified)" on the preset picked, if so
            key = self.preset_combo.itemData(i)
            if key is not None:
                modified = i == self.preset_combo.currentIndex() and not self._is_preset(key)
                self.preset_combo.setItemText(i, EXPERIMENT_PRESETS[key].title
                                              + (" (modified)" if modified else ""))
        on_ray = self.on_ray()
        self.parallel_spin.setEnabled(not on_ray)  # on Ray: as many as the cluster fits
        self.address_edit.setEnabled(on_ray)
        try:
            plan = self.plan()
            if on_ray and cluster_missing():
                raise ExperimentError(cluster_missing())
        except (ValueError, KeyError) as e:
            self._error = str(e.args[0] if isinstance(e, KeyError) and e.args else e)
            self.grid_label.setText(f"<span style='color:{ERROR}'>{self._error}</span>")
            self.estimate_row.show_for(None)
        else:
            self._error = None
            n, c = len(plan.cells), plan.config
            self.grid_label.setText(f"{n} run{'s' if n != 1 else ''} × {c.steps:,} steps on "
                                    f"{c.dataset}, batch {c.batch_size}, lr {c.lr:g} "
                                    f"({c.schedule})")
            self.estimate_row.show_for(plan)
        self.changed.emit()
