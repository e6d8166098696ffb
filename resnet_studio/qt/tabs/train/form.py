"""The training settings form: dataset, optimiser, schedule, speed options, with presets."""

from __future__ import annotations

from dataclasses import fields, replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from resnet_studio.core.training.config import PRESETS, TrainConfig
from resnet_studio.qt.kit.palette import message_style

PRESET_LABELS = {"quick_cpu": "Quick (CPU, a few minutes)",
                 "he2015_cifar": "He et al. 2015 CIFAR-10 (GPU, 64k steps)"}
DATASETS = ["synthetic", "cifar10", "cifar100", "mnist", "fashionmnist"]


def _spin(lo: int, hi: int, step: int = 1) -> QSpinBox:
    box = QSpinBox(minimum=lo, maximum=hi, singleStep=step)
    box.setGroupSeparatorShown(True)
    return box


def _dspin(lo: float, hi: float, decimals: int, step: float) -> QDoubleSpinBox:
    return QDoubleSpinBox(minimum=lo, maximum=hi, decimals=decimals, singleStep=step)


def _compact(box: QComboBox, chars: int = 10) -> QComboBox:
    """A combo whose width follows its column, not its longest item (the popup shows all)."""
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(chars)
    return box


def _auto_on_off(tip: str) -> QComboBox:
    """A setting the app may choose (None), or the user forces on or off."""
    box = QComboBox(toolTip=tip)
    for text, value in (("auto", None), ("on", True), ("off", False)):
        box.addItem(text, value)
    return box


class TrainForm(QWidget):
    """Edits a TrainConfig: `value()` returns it, `set_value()` shows one; `valueChanged` fires
    on every edit. Settings the form has no field for keep the last value set (or preset)."""

    valueChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._filling = False
        self.preset = QComboBox()
        for key, label in PRESET_LABELS.items():
            self.preset.addItem(label, key)
        self.preset.addItem("Custom", "")
        self.preset.activated.connect(self._preset_chosen)

        self.dataset = QComboBox(editable=True)
        self.dataset.addItems(DATASETS)
        self.dataset.setToolTip("synthetic (built in, offline), torchvision datasets (downloaded "
                                "on first use), or imagefolder:PATH (one folder per class)")
        browse = QPushButton("Folder…")
        browse.setToolTip("Train on your own images: one sub-folder per class")
        browse.clicked.connect(self._browse_folder)
        data_row = QHBoxLayout()
        data_row.setContentsMargins(0, 0, 0, 0)
        data_row.addWidget(self.dataset, 1)
        data_row.addWidget(browse)
        data_box = QWidget()
        data_box.setLayout(data_row)

        self.steps = _spin(1, 10_000_000, 100)
        self.batch_size = _spin(1, 65_536, 16)
        self.optimizer = QComboBox()
        self.optimizer.addItems(["sgd", "adamw"])
        self.lr = _dspin(1e-6, 10.0, 5, 0.01)
        self.momentum = _dspin(0.0, 0.999, 3, 0.05)
        self.nesterov = QCheckBox("Nesterov")
        self.weight_decay = _dspin(0.0, 1.0, 6, 1e-4)
        self.schedule = QComboBox()
        self.schedule.addItems(["multistep", "cosine", "constant"])
        self.schedule.setToolTip("multistep: ÷10 at 50% and 75% of the steps (the paper's "
                                 "32k/48k of 64k); cosine: smooth decay")
        self.warmup = _spin(0, 1_000_000, 100)
        self.seed = _spin(0, 2**31 - 1)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda", "mps"])
        self.amp = _auto_on_off("bfloat16 autocast. Auto: on for GPUs that support it, off on "
                                "the CPU")
        self.channels_last = _auto_on_off("NHWC memory layout. Auto: on for GPUs; on the CPU "
                                          "whichever trains faster, measured once per model "
                                          "family on this machine")
        self.threads = _spin(0, 512)
        self.threads.setSpecialValueText("auto")
        self.threads.setToolTip("CPU threads for the run. Auto: measured with the memory layout "
                                "(on a busy machine one thread can be much faster)")
        self.compile = QCheckBox("torch.compile")
        # not part of the config: whether the run is refused up front when the model, batch and
        # dataset look larger than the free memory (TrainRequest.memory_check); on each start
        self.memory_check = QCheckBox("Check memory first", checked=True)
        self.memory_check.setToolTip("Refuse a run whose estimated memory (model, gradients, "
                                     "optimizer, activations, dataset) exceeds what is free")
        # not part of the config either: how many processes train the run (torchrun; >1: no
        # pause, the curves follow the run store); remembered by the tab
        self.processes = _spin(1, 64)
        self.processes.setToolTip("Processes training this one model (torchrun): one per GPU, "
                                  "or sharing the CPU cores. The batch size is split across "
                                  "them; 1: in this window's own process")
        self.eval_every = _spin(0, 1_000_000, 50)
        self.checkpoint_every = _spin(0, 1_000_000, 500)
        self.error = QLabel(wordWrap=True)
        self.error.setStyleSheet(message_style(error=True))
        self.error.hide()

        for box in (self.preset, self.dataset):
            _compact(box)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 4, 0)  # clear of the scroll bar
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for label, widget in [
                ("Preset", self.preset), ("Dataset", data_box), ("Steps", self.steps),
                ("Batch size", self.batch_size), ("Optimiser", self.optimizer),
                ("Learning rate", self.lr), ("Momentum", self.momentum), ("", self.nesterov),
                ("Weight decay", self.weight_decay), ("Schedule", self.schedule),
                ("Warm-up steps", self.warmup), ("Seed", self.seed), ("Device", self.device),
                ("Mixed precision", self.amp), ("channels_last", self.channels_last),
                ("CPU threads", self.threads), ("Processes", self.processes),
                ("", self.compile), ("", self.memory_check),
                ("Validate every", self.eval_every),
                ("Checkpoint every", self.checkpoint_every)]:
            form.addRow(label, widget)
        form.addRow(self.error)

        self._base = PRESETS["quick_cpu"]
        for w in self._numbers().values():
            w.valueChanged.connect(self._edited)
        for w in (self.optimizer, self.schedule, self.device, self.amp, self.channels_last):
            w.currentIndexChanged.connect(self._edited)
        for w in (self.nesterov, self.compile):
            w.toggled.connect(self._edited)
        self.dataset.currentTextChanged.connect(self._edited)
        self.set_value(self._base)

    # -- public -------------------------------------------------------------------------------
    def set_value(self, config: TrainConfig) -> None:
        self._filling = True
        try:
            self._base = config
            self.dataset.setCurrentText(config.dataset)
            for name, box in self._numbers().items():
                box.setValue(getattr(config, name))
            self.optimizer.setCurrentText(config.optimizer)
            self.nesterov.setChecked(config.nesterov)
            self.schedule.setCurrentText(config.schedule)
            self.device.setCurrentText(config.device)
            self.amp.setCurrentIndex(self.amp.findData(config.amp))
            self.channels_last.setCurrentIndex(self.channels_last.findData(config.channels_last))
            self.compile.setChecked(config.compile)
        finally:
            self._filling = False
        self._sync_preset()
        self._edited()

    def value(self) -> TrainConfig:
        return replace(
            self._base, dataset=self.dataset.currentText().strip(),
            optimizer=self.optimizer.currentText(), nesterov=self.nesterov.isChecked(),
            schedule=self.schedule.currentText(), device=self.device.currentText(),
            amp=self.amp.currentData(), channels_last=self.channels_last.currentData(),
            compile=self.compile.isChecked(),
            **{name: box.value() for name, box in self._numbers().items()})

    def is_valid(self) -> bool:
        return not self.value().errors()

    # -- internals ------------------------------------------------------------------------------
    def _numbers(self) -> dict[str, QSpinBox | QDoubleSpinBox]:
        """The config's numeric settings and the spin box of each."""
        return {"steps": self.steps, "batch_size": self.batch_size, "lr": self.lr,
                "momentum": self.momentum, "weight_decay": self.weight_decay,
                "warmup_steps": self.warmup, "seed": self.seed, "threads": self.threads,
                "eval_every": self.eval_every, "checkpoint_every": self.checkpoint_every}

    def _preset_chosen(self, index: int) -> None:
        key = self.preset.itemData(index)
        if key:
            self.set_value(PRESETS[key])

    def _sync_preset(self) -> None:
        config = self.value()
        match = next((k for k, p in PRESETS.items() if _same(p, config)), "")
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(self.preset.findData(match))
        self.preset.blockSignals(False)

    def _browse_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Image folder (one sub-folder per class)")
        if path:
            self.dataset.setCurrentText(f"imagefolder:{path}")

    def _edited(self, *_args) -> None:
        if self._filling:
            return
        config = self.value()
        errs = config.errors()
        self.error.setVisible(bool(errs))
        self.error.setText("\n".join(str(e) for e in errs))
        self._sync_preset()
        self.valueChanged.emit(config)


def _same(a: TrainConfig, b: TrainConfig) -> bool:
    return all(getattr(a, f.name) == getattr(b, f.name) for f in fields(TrainConfig))
