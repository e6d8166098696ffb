"""The Landscape tab's form: the run (and an optional second run, e.g. its plain twin), the
slice's settings and the view. `value()` / `set_value()` are what the tab remembers."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.landscape import MAX_BATCHES, MAX_GRID, LandscapeSettings
from resnet_studio.app.trained_models import trained_models
from resnet_studio.qt.tabs.landscape.surface_view import VIEWS

DEFAULTS = LandscapeSettings()
NONE = ""  # the second run's "none" item


def _spin(lo: int, hi: int, value: int, tip: str, step: int = 1) -> QSpinBox:
    s = QSpinBox(minimum=lo, maximum=hi, value=value, singleStep=step, toolTip=tip)
    s.setKeyboardTracking(False)
    return s


class LandscapeForm(QWidget):
    """`changed` fires when the runs or the settings change (not the view)."""

    changed = Signal()

    def __init__(self, store_path: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.store_path = store_path
        self.run_combo = QComboBox(toolTip="A stored run with a checkpoint: its trained weights")
        self.twin_combo = QComboBox(toolTip="A second run drawn beside it on the same colour "
                                            "scale (its plain twin is chosen when there is one)")
        self.refresh_button = QPushButton("↻", toolTip="Read the run list again", maximumWidth=32)
        self.grid_spin = _spin(3, MAX_GRID, DEFAULTS.grid, "Points a side (odd: the trained "
                               "weights are the centre)", step=2)
        self.span_spin = QDoubleSpinBox(minimum=0.05, maximum=100.0, value=DEFAULTS.span,
                                        singleStep=0.25, decimals=2, keyboardTracking=False,
                                        toolTip="The grid covers -span..span along each "
                                                "filter-normalised direction")
        self.batches_spin = _spin(1, MAX_BATCHES, DEFAULTS.batches,
                                  "Training batches the loss is averaged over")
        self.seed_spin = _spin(0, 2**31 - 1, DEFAULTS.seed, "Seed of the random directions")
        self.line_check = QCheckBox("Line from initialisation", checked=True,
                                    toolTip="Also the loss from the initial weights (rebuilt "
                                            "from the run's seed) to the trained ones")
        for combo in (self.run_combo, self.twin_combo):  # long run names must not widen the tab
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(24)
        self.view_combo = QComboBox(toolTip="Filled log-loss contours, or a smooth heat map")
        self.view_combo.addItems(VIEWS)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        runs, settings = QHBoxLayout(), QHBoxLayout()
        for label, w in (("Run:", self.run_combo), ("beside:", self.twin_combo)):
            runs.addWidget(QLabel(label))
            runs.addWidget(w, 1)
        runs.addWidget(self.refresh_button)
        for label, w in (("Grid:", self.grid_spin), ("Span ±", self.span_spin),
                         ("Batches:", self.batches_spin), ("Seed:", self.seed_spin)):
            settings.addWidget(QLabel(label))
            settings.addWidget(w)
            settings.addSpacing(8)
        settings.addWidget(self.line_check)
        settings.addStretch(1)
        settings.addWidget(QLabel("View:"))
        settings.addWidget(self.view_combo)
        layout.addLayout(runs)
        layout.addLayout(settings)
        self.refresh_runs()
        self.refresh_button.clicked.connect(self.refresh_runs)
        self.run_combo.currentIndexChanged.connect(self._run_chosen)
        self.twin_combo.currentIndexChanged.connect(self.changed)
        for spin in (self.grid_spin, self.span_spin, self.batches_spin, self.seed_spin):
            spin.valueChanged.connect(self.changed)
        self.line_check.toggled.connect(self.changed)

    # -- the runs --------------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        """The stored runs that have a checkpoint, newest first, then the shipped trained nets
        (`app.trained_models`)."""
        chosen, twin = self.run_combo.currentData(), self.twin_combo.currentData()
        try:
            models = trained_models(self.store_path)
        except (OSError, ValueError):
            models = []
        self._twins = {m.key: m.twin_key for m in models}
        for combo in (self.run_combo, self.twin_combo):
            combo.blockSignals(True)
            combo.clear()
        self.twin_combo.addItem("(none)", NONE)
        for m in models:
            text = m.label if m.shipped else f"{m.label}, {m.status} ({m.key[:8]})"
            self.run_combo.addItem(text, m.key)
            self.twin_combo.addItem(text, m.key)
        # first time: the newest residual run (its plain twin goes beside it)
        first = next((m.key for m in models if not m.plain), None)
        for combo, value in ((self.run_combo, chosen or first), (self.twin_combo, twin)):
            combo.setCurrentIndex(max(combo.findData(value), 0))
            combo.blockSignals(False)
        if self.run_combo.count() and chosen is None:
            self._run_chosen()

    def _run_chosen(self) -> None:
        """Offer the chosen run's trained plain twin beside it (same experiment, depth and seed
        for a Depth Lab net; else the newest run of its plain twin on the same data)."""
        index = self.twin_combo.findData(self._twins.get(self.run_combo.currentData()))
        if index > 0:
            self.twin_combo.blockSignals(True)
            self.twin_combo.setCurrentIndex(index)
            self.twin_combo.blockSignals(False)
        self.changed.emit()

    def use_run(self, run_id: str, twin_run_id: str | None = None) -> None:
        """Choose this run and its twin's (read the list again first: it may be new)."""
        self.refresh_runs()
        for combo, value in ((self.run_combo, run_id), (self.twin_combo, twin_run_id or NONE)):
            combo.blockSignals(True)
            combo.setCurrentIndex(max(combo.findData(value), 0))
            combo.blockSignals(False)
        self.changed.emit()

    def runs(self) -> tuple[str, ...]:
        first, second = self.run_combo.currentData(), self.twin_combo.currentData()
        return tuple(r for r in (first, second) if r) if first else ()

    # -- settings ----------------------------------------------------------------------------------
    def settings(self) -> LandscapeSettings:
        return LandscapeSettings(grid=self.grid_spin.value(), span=self.span_spin.value(),
                                 batches=self.batches_spin.value(), seed=self.seed_spin.value(),
                                 line_from_init=self.line_check.isChecked())

    def view_mode(self) -> str:
        return self.view_combo.currentText()

    def value(self) -> dict[str, Any]:
        s = self.settings()
        return {"run": self.run_combo.currentData() or NONE,
                "twin": self.twin_combo.currentData() or NONE, "grid": s.grid, "span": s.span,
                "batches": s.batches, "seed": s.seed, "line_from_init": s.line_from_init,
                "view": self.view_mode()}

    def set_value(self, value: dict[str, Any]) -> None:
        """A remembered form; unknown keys and values that no longer fit are ignored."""
        for key, combo in (("run", self.run_combo), ("twin", self.twin_combo)):
            index = combo.findData(value.get(key))
            if index >= 0:
                combo.setCurrentIndex(index)
        for key, spin in (("grid", self.grid_spin), ("span", self.span_spin),
                          ("batches", self.batches_spin), ("seed", self.seed_spin)):
            if isinstance(value.get(key), int | float) and not isinstance(value[key], bool):
                spin.setValue(value[key])
        if isinstance(value.get("line_from_init"), bool):
            self.line_check.setChecked(value["line_from_init"])
        if value.get("view") in VIEWS:
            self.view_combo.setCurrentText(value["view"])
