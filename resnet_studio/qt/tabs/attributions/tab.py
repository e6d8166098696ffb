"""The Attributions tab: which pixels a prediction depends on, method by method.

One image; methods picked with check boxes; the target is the predicted class or a class
picked by name. Results form a grid of overlays (one row per model, one column per method): the
model, and beside it, optionally, its plain twin (same stack, no shortcuts, random weights) or a
second checkpoint, with the same settings. Display settings (signed or |values|, colour map,
opacity, percentile clipping) redraw the stored maps without recomputing. Each map can be
exported as PNG (the overlay) and .npy (the raw C x H x W array).

All work runs in one background job (models loaded, then every attribution); progress comes
per internal batch and Cancel stops it there (`core.analysis.attribution.Cancelled`). A
cancelled or failed run keeps the maps made so far and leaves the tab usable.

Main-window API: `set_model(spec)`, `set_weights(weights)`, `set_image(path)` / `add_paths`,
signals `statusMessage(str)` and `busyChanged(bool)`.
"""

from __future__ import annotations

import contextlib
import html
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.core.analysis.attribution_names import COLORMAPS, METHOD_LABELS, METHODS
from resnet_studio.qt.kit.tab import TabContext
from resnet_studio.qt.workers import run_in_background

CELL = 224  # shown size of one overlay


@dataclass
class _Model:
    """A loaded model for one row of the grid."""

    row: str  # "model", "plain twin", "checkpoint"
    title: str
    source: Any  # core.weights.ModelSource


@dataclass
class Cell:
    row: str
    title: str  # the row's model description
    method: str
    result: Any  # core.analysis.attribution.AttributionResult
    image: np.ndarray  # the uint8 picture the model saw
    target_label: str


@dataclass
class _Job:
    id: int
    stop: threading.Event = field(default_factory=threading.Event)


class _Relay(QObject):
    progress = Signal(object)  # (job id, done, total, message)
    cell = Signal(object)  # (job id, Cell)


def _safe(emit: Callable) -> Callable:
    def call(*args):
        with contextlib.suppress(RuntimeError):  # the tab was deleted while the worker ran
            emit(*args)
    return call


def _model_key(model) -> str:
    if model is None:
        return ""
    return model if isinstance(model, str) else f"spec:{model.to_json()}" \
        if hasattr(model, "to_json") else repr(model)


def _load(model, weights, cache: dict, lock: threading.Lock):
    from resnet_studio.core.weights import load_model_source

    key = (_model_key(model), str(weights))
    with lock:
        if key in cache:
            return cache[key]
    source = load_model_source(model, weights)
    with lock:
        cache[key] = source
        while len(cache) > 4:  # keep the last few models (the model, its twin, a checkpoint)
            cache.pop(next(iter(cache)))
    return source


def _compute(model, weights, compare, image_path: str, methods: Sequence[str],
             target: int | None, noise_tunnel: str | None, params: dict, cache: dict,
             lock: threading.Lock, emit_cell: Callable, progress: Callable,
             should_stop: Callable[[], bool]) -> int:
    """Worker: load the image and the models, then every (model, method) attribution."""
    from resnet_studio.core.analysis.attribution import (
        DEFAULT_PARAMS,
        NOISE_TUNNEL_DEFAULTS,
        Cancelled,
        attribute,
        preprocessed_image,
    )
    from resnet_studio.core.images import load_image
    from resnet_studio.core.weights import resolve_spec

    warnings.filterwarnings("ignore", category=UserWarning, module=r"captum\.")
    loaded = load_image(image_path)
    progress(0, 0, "Loading the model…")
    rows = [_Model("model", "", _load(model, weights, cache, lock))]
    rows[0].title = rows[0].source.describe()
    if compare == "plain":
        spec = resolve_spec(rows[0].source.spec).plain_twin()
        src = _load(spec, "random", cache, lock)
        rows.append(_Model("plain twin", f"{spec.name}: plain twin, random weights", src))
    elif compare:
        src = _load(None if Path(str(compare)).is_dir() or str(compare).endswith(".json")
                    else model, compare, cache, lock)
        rows.append(_Model("checkpoint", f"{src.spec.name}: {Path(str(compare)).name}", src))
    if should_stop():
        raise Cancelled("cancelled")
    jobs = [(r, m) for r in rows for m in methods]
    for i, (r, method) in enumerate(jobs):
        src = r.source
        pre = src.preprocess
        x = pre(loaded)
        allowed = set(DEFAULT_PARAMS[method]) | \
            (set(NOISE_TUNNEL_DEFAULTS) if noise_tunnel and method not in
             ("occlusion", "gradient_shap") else set())
        kw = {k: v for k, v in params.items() if k in allowed}
        if kw.get("layer") and kw["layer"] not in dict(src.model.named_modules()):
            kw["layer"] = None  # a second checkpoint of another architecture: its last block
        nt = noise_tunnel if method not in ("occlusion", "gradient_shap") else None
        tgt = target if target is None or target < src.num_classes else None
        label = f"{METHOD_LABELS[method]} ({r.row}, {i + 1} of {len(jobs)})"

        def step(d, t, _msg, label=label, i=i):
            progress(i * 1000 + int(1000 * d / max(1, t)), len(jobs) * 1000, label)

        result = attribute(src.model, x, method, target=tgt, noise_tunnel=nt, mean=pre.mean,
                           std=pre.std, progress=step, should_stop=should_stop, **kw)
        cats = src.categories
        name = cats[result.target] if result.target < len(cats) else f"class {result.target}"
        emit_cell(Cell(row=r.row, title=r.title, method=method, result=result,
                       image=preprocessed_image(pre, loaded), target_label=name))
    return len(jobs)


def _sanity(model, weights, image_path: str, method: str, target: int | None,
            noise_tunnel: str | None, params: dict, cache: dict, lock: threading.Lock,
            progress: Callable, should_stop: Callable[[], bool]):
    """Worker: the cascading randomisation check for one method on the model."""
    from resnet_studio.core.analysis.attribution import (
        DEFAULT_PARAMS,
        NOISE_TUNNEL_DEFAULTS,
        cascading_randomization,
    )
    from resnet_studio.core.images import load_image

    warnings.filterwarnings("ignore", category=UserWarning, module=r"captum\.")
    loaded = load_image(image_path)
    progress(0, 0, "Loading the model…")
    src = _load(model, weights, cache, lock)
    nt = noise_tunnel if method not in ("occlusion", "gradient_shap") else None
    allowed = set(DEFAULT_PARAMS[method]) | (set(NOISE_TUNNEL_DEFAULTS) if nt else set())
    kw = {k: v for k, v in params.items() if k in allowed}
    pre = src.preprocess
    tgt = target if target is None or target < src.num_classes else None
    return cascading_randomization(
        src.model, pre(loaded), method, target=tgt, noise_tunnel=nt, mean=pre.mean,
        std=pre.std, progress=lambda d, t, m: progress(d, t, f"Sanity check: {m}"),
        should_stop=should_stop, **kw)


def _categories(model) -> tuple[tuple[str, ...], list[str]]:
    """Class names and Grad-CAM layers (blocks, last first, then convs) of a model."""
    from torch import nn

    from resnet_studio.core.analysis.features import block_names
    from resnet_studio.core.models.builder import build_model
    from resnet_studio.core.weights import default_categories, resolve_spec

    spec = resolve_spec(model)
    net = build_model(spec, "meta")
    layers = block_names(net)[::-1] + [n for n, m in net.named_modules()
                                       if isinstance(m, nn.Conv2d)][::-1]
    return default_categories(spec), layers


def _qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class _CellView(QWidget):
    exportRequested = Signal(object)  # Cell

    def __init__(self, cell: Cell, parent: QWidget | None = None):
        super().__init__(parent)
        self.cell = cell
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.picture = QLabel()
        self.picture.setFixedSize(CELL, CELL)
        self.picture.setScaledContents(True)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the overlay as PNG and the raw map as .npy")
        self.export_button.clicked.connect(lambda: self.exportRequested.emit(self.cell))
        lay.addWidget(self.caption)
        lay.addWidget(self.picture)
        lay.addWidget(self.export_button)
        r = cell.result
        text = f"<b>{html.escape(r.label)}</b><br>class {r.target} ({html.escape(cell.target_label)})" \
               f" · {r.seconds:.2f} s"
        if r.delta is not None:
            text += f"<br>convergence δ = {r.delta:.3g}"
        self.caption.setText(text)

    def render(self, rgb: np.ndarray) -> None:
        self.picture.setPixmap(QPixmap.fromImage(_qimage(rgb)))


class AttributionsTab(QWidget):
    statusMessage = Signal(str)
    busyChanged = Signal(bool)
    runFinished = Signal(str)  # "done" | "cancelled" | "failed"
    cellAdded = Signal(object)  # Cell
    categoriesChanged = Signal(int)  # how many class names the target combo offers

    title = "Attributions"

    def __init__(self, context: TabContext | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context or TabContext()
        self._model: Any = None
        self._weights: str = "imagenet"
        self._compare: str | None = None
        self._image: str | None = None
        self._categories: tuple[str, ...] = ()
        self._categories_for: tuple | None = None
        self._cache: dict = {}
        self._cache_lock = threading.Lock()
        self._job: _Job | None = None
        self._next_id = 0
        self._cells: dict[tuple[str, str], _CellView] = {}
        self._rows: list[str] = []
        self._relay = _Relay(self)
        self._relay.progress.connect(self._on_progress)
        self._relay.cell.connect(self._on_cell)
        self._build()
        self._update_buttons()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QHBoxLayout(self)
        side = QVBoxLayout()
        outer.addLayout(side, 0)

        box = QGroupBox("Input")
        form = QFormLayout(box)
        self.image_label = QLabel("no image")
        self.image_label.setWordWrap(True)
        open_button = QPushButton("Open image…")
        open_button.clicked.connect(self.open_dialog)
        form.addRow(self.image_label)
        form.addRow(open_button)
        self.model_label = QLabel("no model")
        self.model_label.setWordWrap(True)
        form.addRow("Model", self.model_label)
        self.weights_combo = QComboBox()
        self.weights_combo.addItems(["imagenet", "random"])
        self.weights_combo.currentTextChanged.connect(self._weights_picked)
        form.addRow("Weights", self.weights_combo)
        self.compare_combo = QComboBox()
        self.compare_combo.addItem("Nothing", None)
        self.compare_combo.addItem("Plain twin (no shortcuts)", "plain")
        self.compare_combo.addItem("Second checkpoint…", "pick")
        self.compare_combo.activated.connect(self._compare_picked)
        form.addRow("Compare with", self.compare_combo)
        self.target_combo = QComboBox()
        self.target_combo.addItem("Predicted class", None)
        form.addRow("Target", self.target_combo)
        side.addWidget(box)

        box = QGroupBox("Methods")
        grid = QGridLayout(box)
        self.method_boxes: dict[str, QCheckBox] = {}
        for i, m in enumerate(METHODS):
            cb = QCheckBox(METHOD_LABELS[m])
            cb.setChecked(m in ("integrated_gradients", "saliency", "layer_gradcam"))
            self.method_boxes[m] = cb
            grid.addWidget(cb, i // 2, i % 2)
        side.addWidget(box)

        box = QGroupBox("Parameters")
        form = QFormLayout(box)
        self.noise_combo = QComboBox()
        self.noise_combo.addItem("None", None)
        self.noise_combo.addItem("SmoothGrad", "smoothgrad")
        self.noise_combo.addItem("VarGrad", "vargrad")
        form.addRow("Noise tunnel", self.noise_combo)
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(2, 1000)
        self.steps_spin.setValue(50)
        form.addRow("IG steps", self.steps_spin)
        self.baseline_combo = QComboBox()
        self.baseline_combo.addItems(["black", "blurred", "noise"])
        form.addRow("Baseline", self.baseline_combo)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 512)
        self.batch_spin.setValue(16)
        self.batch_spin.setToolTip("Internal batch size: bounds memory; Cancel acts per batch")
        form.addRow("Internal batch", self.batch_spin)
        self.samples_spin = QSpinBox()
        self.samples_spin.setRange(1, 500)
        self.samples_spin.setValue(10)
        form.addRow("Samples (SHAP / noise)", self.samples_spin)
        self.window_spin = QSpinBox()
        self.window_spin.setRange(1, 224)
        self.window_spin.setValue(8)
        form.addRow("Occlusion window", self.window_spin)
        self.stride_spin = QSpinBox()
        self.stride_spin.setRange(1, 224)
        self.stride_spin.setValue(4)
        form.addRow("Occlusion stride", self.stride_spin)
        self.layer_combo = QComboBox()
        self.layer_combo.addItem("last block", None)
        self.layer_combo.setToolTip("The block or conv layer Grad-CAM looks at")
        form.addRow("Grad-CAM layer", self.layer_combo)
        side.addWidget(box)

        box = QGroupBox("Display")
        form = QFormLayout(box)
        self.signed_check = QCheckBox("Signed (blue −, red +)")
        self.signed_check.toggled.connect(self._signed_toggled)
        form.addRow(self.signed_check)
        self.colormap_combo = QComboBox()
        self.colormap_combo.addItems(COLORMAPS)
        self.colormap_combo.currentTextChanged.connect(lambda _t: self._redraw())
        form.addRow("Colour map", self.colormap_combo)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(60)
        self.opacity_slider.valueChanged.connect(lambda _v: self._redraw())
        form.addRow("Opacity", self.opacity_slider)
        self.clip_spin = QDoubleSpinBox()
        self.clip_spin.setRange(50.0, 100.0)
        self.clip_spin.setDecimals(1)
        self.clip_spin.setValue(99.0)
        self.clip_spin.setSuffix(" %")
        self.clip_spin.valueChanged.connect(lambda _v: self._redraw())
        form.addRow("Clip at percentile", self.clip_spin)
        side.addWidget(box)

        buttons = QHBoxLayout()
        self.run_button = QPushButton("Compute")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        self.sanity_button = QPushButton("Sanity check")
        self.sanity_button.setToolTip(
            "Randomise the network from the head down (fc, last stage, ...) and see whether the "
            "first ticked method's map changes (Adebayo et al. 2018)")
        self.sanity_button.clicked.connect(self.run_sanity)
        buttons.addWidget(self.sanity_button)
        side.addLayout(buttons)
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(False)
        side.addWidget(self.progress_bar)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        side.addWidget(self.status_label)
        self.sanity_label = QLabel("")
        self.sanity_label.setWordWrap(True)
        self.sanity_label.setTextFormat(Qt.TextFormat.RichText)
        side.addWidget(self.sanity_label)
        side.addStretch(1)

        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.placeholder = QLabel("Open an image, pick methods and press Compute.")
        self.grid.addWidget(self.placeholder, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.grid_host)
        outer.addWidget(scroll, 1)

    # -- public API --------------------------------------------------------------------------
    def set_model(self, model) -> None:
        """A preset name or an ArchSpec (from the sidebar)."""
        self._model = model
        name = model if isinstance(model, str) else getattr(model, "name", str(model))
        self.model_label.setText(str(name))
        self._load_categories()
        self._update_buttons()

    def set_weights(self, weights: str | Path) -> None:
        """"imagenet", "random", or a checkpoint / state_dict path."""
        self._weights = str(weights)
        if self.weights_combo.findText(self._weights) < 0:
            self.weights_combo.addItem(self._weights)
        self.weights_combo.blockSignals(True)
        self.weights_combo.setCurrentText(self._weights)
        self.weights_combo.blockSignals(False)
        self._load_categories()

    def set_compare(self, compare: str | Path | None) -> None:
        """None, "plain" (the plain twin, random weights) or a second checkpoint path."""
        self._compare = None if compare in (None, "", "none") else str(compare)
        if self._compare not in (None, "plain") and self.compare_combo.findData(
                self._compare) < 0:
            self.compare_combo.insertItem(self.compare_combo.count() - 1,
                                          Path(self._compare).name, self._compare)
        self.compare_combo.setCurrentIndex(max(0, self.compare_combo.findData(self._compare)))

    def set_image(self, path: str | Path) -> None:
        self._image = str(path)
        self.image_label.setText(Path(self._image).name)
        self.image_label.setToolTip(self._image)
        self._update_buttons()

    def add_paths(self, paths: Sequence[str | Path]) -> None:
        """The first of `paths` becomes the image."""
        paths = [p for p in paths if str(p)]
        if paths:
            self.set_image(paths[0])

    def set_methods(self, methods: Sequence[str]) -> None:
        for m, cb in self.method_boxes.items():
            cb.setChecked(m in methods)

    def methods(self) -> list[str]:
        return [m for m, cb in self.method_boxes.items() if cb.isChecked()]

    def set_target(self, target: int | None) -> None:
        """None: the predicted class; else a class index."""
        i = self.target_combo.findData(target)
        if i < 0 and target is not None:
            self.target_combo.addItem(f"class {target}", target)
            i = self.target_combo.count() - 1
        self.target_combo.setCurrentIndex(max(0, i))

    def params(self) -> dict:
        """Method parameters from the form (each method takes those it knows)."""
        return {"steps": self.steps_spin.value(), "baseline": self.baseline_combo.currentText(),
                "internal_batch_size": self.batch_spin.value(),
                "perturbations_per_eval": self.batch_spin.value(),
                "nt_batch_size": self.batch_spin.value(),
                "samples": self.samples_spin.value(), "nt_samples": self.samples_spin.value(),
                "window": self.window_spin.value(), "stride": self.stride_spin.value(),
                "layer": self.layer_combo.currentData()}

    def is_busy(self) -> bool:
        return self._job is not None

    def cells(self) -> dict[tuple[str, str], Cell]:
        """(row, method) -> Cell, for what the grid shows."""
        return {k: v.cell for k, v in self._cells.items()}

    def cell_pixmap(self, row: str, method: str) -> QPixmap:
        return self._cells[(row, method)].picture.pixmap()

    def status_text(self) -> str:
        return self.status_label.text()

    def run(self) -> None:
        """Compute every checked method for the model (and the comparison), in a worker."""
        if self._job is not None:
            return
        methods = self.methods()
        if self._image is None or self._model is None and self._weights in ("imagenet",
                                                                              "random"):
            self._status("Open an image and choose a model first.")
            return
        if not methods:
            self._status("Tick at least one method.")
            return
        self._clear_grid()
        job = self._start("Computing attributions…")
        emit_cell = _safe(lambda c: self._relay.cell.emit((job.id, c)))
        run_in_background(_compute, self._model, self._effective_weights(), self._compare,
                          self._image, methods, self.target_combo.currentData(),
                          self.noise_combo.currentData(), self.params(), self._cache,
                          self._cache_lock, emit_cell, self._emitter(job), job.stop.is_set,
                          on_result=lambda n: self._finished(job, n, None),
                          on_error=lambda e: self._finished(job, None, e))

    def run_sanity(self) -> None:
        """The cascading randomisation check for the first ticked method, in a worker."""
        if self._job is not None:
            return
        methods = self.methods()
        if self._image is None or self._model is None or not methods:
            self._status("Open an image, choose a model and tick a method first.")
            return
        self.sanity_label.setText("")
        job = self._start(f"Sanity check of {METHOD_LABELS[methods[0]]}…")
        run_in_background(_sanity, self._model, self._effective_weights(), self._image,
                          methods[0], self.target_combo.currentData(),
                          self.noise_combo.currentData(), self.params(), self._cache,
                          self._cache_lock, self._emitter(job), job.stop.is_set,
                          on_result=lambda r: self._finished(job, r, None),
                          on_error=lambda e: self._finished(job, None, e))

    def sanity_text(self) -> str:
        return self.sanity_label.text()

    def _start(self, message: str) -> _Job:
        self._next_id += 1
        job = self._job = _Job(self._next_id)
        self.busyChanged.emit(True)
        self._update_buttons()
        self.progress_bar.setRange(0, 0)
        self._status(message)
        return job

    def _emitter(self, job: _Job) -> Callable:
        return _safe(lambda d, t, m: self._relay.progress.emit((job.id, d, t, m)))

    def _effective_weights(self) -> str:
        weights = self._weights
        if self._model is not None and weights == "imagenet":
            from resnet_studio.core.weights import default_weights

            with contextlib.suppress(Exception):
                if default_weights(self._model) is None:
                    weights = "random"
        return weights

    def model_changed(self, summary) -> None:
        self.set_model(summary.spec)

    def confirm_close(self, parent: QWidget) -> bool:
        return True

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        from resnet_studio.qt.kit.job import wait_for_background_work

        self.cancel()
        return wait_for_background_work(timeout_ms)

    def cancel(self) -> None:
        if self._job is not None:
            self._job.stop.set()
            self._status("Cancelling…")
            self.cancel_button.setEnabled(False)

    def export(self, row: str, method: str, path: str | Path) -> tuple[Path, Path]:
        """Write the overlay as PNG at `path` and the raw map beside it as .npy."""
        view = self._cells[(row, method)]
        png = Path(path).with_suffix(".png")
        npy = png.with_suffix(".npy")
        from PIL import Image

        Image.fromarray(self._overlay(view.cell)).save(png)
        with open(npy, "wb") as f:
            np.save(f, view.cell.result.attribution)
        self._status(f"Saved {png.name} and {npy.name}")
        return png, npy

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "",
                                              "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif "
                                              "*.tiff *.webp);;All files (*)")
        if path:
            self.set_image(path)

    # -- internals ---------------------------------------------------------------------------
    def _status(self, text: str) -> None:
        self.status_label.setText(text)
        self.statusMessage.emit(text)

    def _update_buttons(self) -> None:
        busy = self._job is not None
        self.run_button.setEnabled(not busy)
        self.sanity_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy and not self._job.stop.is_set())

    def _weights_picked(self, text: str) -> None:
        self._weights = text
        self._load_categories()

    def _compare_picked(self, _index: int) -> None:
        data = self.compare_combo.currentData()
        if data == "pick":
            path, _ = QFileDialog.getOpenFileName(
                self, "Second checkpoint", "",
                "Weights (*.json *.safetensors *.pt *.pth);;All files (*)")
            self.set_compare(path or self._compare)
        else:
            self._compare = data

    def _load_categories(self) -> None:
        """Class names for the target combo, worked out in a worker (the first call imports
        torch). Checkpoints may name their classes differently: each result shows the name
        its own source gives."""
        model, weights = self._model, self._weights
        if model is None:
            return
        self._categories_for = (_model_key(model), weights)

        def done(result):
            cats, layers = result
            if self._categories_for == (_model_key(model), weights):
                self._set_layers(layers)
                self._set_categories(tuple(cats))

        run_in_background(_categories, model, on_result=_safe(done),
                          on_error=lambda _e: None)

    def _set_layers(self, layers: list[str]) -> None:
        current = self.layer_combo.currentData()
        self.layer_combo.clear()
        self.layer_combo.addItem("last block", None)
        for name in layers:
            self.layer_combo.addItem(name, name)
        self.layer_combo.setCurrentIndex(max(0, self.layer_combo.findData(current)))

    def _set_categories(self, cats: tuple[str, ...]) -> None:
        if cats == self._categories:
            return
        self._categories = cats
        current = self.target_combo.currentData()
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        self.target_combo.addItem("Predicted class", None)
        for i, name in enumerate(cats):
            self.target_combo.addItem(f"{i}: {name}", i)
        self.target_combo.setCurrentIndex(max(0, self.target_combo.findData(current)))
        self.target_combo.blockSignals(False)
        self.categoriesChanged.emit(len(cats))

    def _clear_grid(self) -> None:
        for view in self._cells.values():
            self.grid.removeWidget(view)
            view.deleteLater()
        self._cells.clear()
        self._rows.clear()
        for i in reversed(range(self.grid.count())):
            w = self.grid.itemAt(i).widget()
            if w is not None and w is not self.placeholder:
                self.grid.removeWidget(w)
                w.deleteLater()
        self.placeholder.hide()

    def _on_progress(self, payload) -> None:
        job_id, done, total, message = payload
        if self._job is None or job_id != self._job.id:
            return
        if total:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(done)
        if not self._job.stop.is_set():
            self.status_label.setText(message)

    def _on_cell(self, payload) -> None:
        job_id, cell = payload
        if job_id != self._next_id:  # a cell of an older run (the latest may have finished:
            return  # its result and its last cell travel through different queues)
        if cell.row not in self._rows:
            self._rows.append(cell.row)
            header = QLabel(f"<b>{html.escape(cell.row)}</b><br>{html.escape(cell.title)}")
            header.setWordWrap(True)
            header.setMaximumWidth(160)
            self.grid.addWidget(header, self._rows.index(cell.row), 0)
        view = _CellView(cell)
        view.exportRequested.connect(self._export_dialog)
        self._cells[(cell.row, cell.method)] = view
        self._relayout()
        view.render(self._overlay(cell))
        self.cellAdded.emit(cell)

    def _relayout(self) -> None:
        cols = sorted({m for _, m in self._cells}, key=METHODS.index)
        for (row, method), view in self._cells.items():
            self.grid.addWidget(view, self._rows.index(row), 1 + cols.index(method))

    def _finished(self, job: _Job, count, error: BaseException | None) -> None:
        if self._job is not job:
            return
        self._job = None
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(1 if error is None else 0)
        from resnet_studio.core.analysis.attribution import Cancelled

        if error is None and not isinstance(count, int):  # a SanityReport
            outcome = "done"
            self._show_sanity(count)
        elif error is None:
            outcome = "done"
            self._status(f"{count} attribution map(s) computed.")
        elif isinstance(error, Cancelled) or job.stop.is_set():
            outcome = "cancelled"
            self._status(f"Cancelled; {len(self._cells)} map(s) kept.")
        else:
            outcome = "failed"
            msg = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
            self._status(f"Failed: {msg}")
        self._update_buttons()
        self.busyChanged.emit(False)
        self.runFinished.emit(outcome)

    def _show_sanity(self, report) -> None:
        rows = "".join(f"<tr><td>{html.escape(st.randomized)}</td>"
                       f"<td align='right'>{st.spearman_abs:+.2f}</td></tr>"
                       for st in report.steps)
        verdict = ("<b style='color:#c62828'>flagged</b>: the map barely changes when the "
                   "weights are random" if report.flagged else
                   "<b>passed</b>: the map depends on the weights")
        label = METHOD_LABELS.get(report.method, report.method)
        self.sanity_label.setText(
            f"<b>Sanity check, {html.escape(label)}</b> (Spearman of |map| with the original, "
            f"randomised from the head down)<table>{rows}</table>{verdict}")
        self._status(f"Sanity check of {label}: {'flagged' if report.flagged else 'passed'}.")

    def _signed_toggled(self, signed: bool) -> None:
        cmap = self.colormap_combo.currentText()
        if signed and cmap == "viridis":
            self.colormap_combo.setCurrentText("bwr")  # redraws
        elif not signed and cmap == "bwr":
            self.colormap_combo.setCurrentText("viridis")
        else:
            self._redraw()

    def _overlay(self, cell: Cell) -> np.ndarray:
        from resnet_studio.core.analysis.attribution import heatmap, overlay

        signed = self.signed_check.isChecked()
        heat = heatmap(cell.result.attribution, signed=signed,
                       clip_percentile=self.clip_spin.value())
        img = cell.image if cell.image.shape[:2] == heat.shape else None
        return overlay(img, heat, colormap=self.colormap_combo.currentText(), signed=signed,
                       opacity=self.opacity_slider.value() / 100.0)

    def _redraw(self) -> None:
        for view in self._cells.values():
            view.render(self._overlay(view.cell))

    def _export_dialog(self, cell: Cell) -> None:
        default = f"{cell.method}_{cell.row.replace(' ', '_')}.png"
        path, _ = QFileDialog.getSaveFileName(self, "Export attribution", default,
                                              "PNG image (*.png)")
        if path:
            try:
                self.export(cell.row, cell.method, path)
            except OSError as e:
                self._status(f"Could not save: {e}")


__all__ = ["AttributionsTab", "Cell"]
