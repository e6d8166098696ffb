"""The Attributions tab: which pixels a prediction depends on, method by method.

One image (any opened this session, here or in the Images tab: `context.images`); methods
picked with check boxes; the target is the model's predicted class or a class picked by name,
and the second model explains the same class (or, if the user asks, its own prediction).
Results form a grid of overlays (one row per model, one column per method): the model, and
beside it its plain twin (same stack, no shortcuts; trained where the model is the shipped
ResNet-20 or a checkpoint the window chose with its twin, else random weights) or a second
checkpoint, with the same settings. The weights start "automatic": ImageNet weights where they
are on this machine, else the shipped ResNet-20 and plain-20 trained on the built-in glyphs,
with a sample glyph as the image. The sanity check's cascade has its own page of maps.
Display settings redraw the stored maps without recomputing. Each map can be exported as PNG
(the overlay) and .npy (the raw C x H x W array).

The work is `app.attribution.compute_attributions` (the `attribute` command's job too) in one
`Job`; the models come from the window's shared cache (`context.models`). Progress comes per
internal batch and Cancel stops there. Maps appear as they are done, so a cancelled or failed
run keeps those made so far and leaves the tab usable. What the tab shows lives in
`app.attribution_state.AttributionsState` (`self.state`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.app.attribution import (
    AttributionCell,
    compute_attributions,
    resolve_inputs,
    sanity_cascade,
)
from resnet_studio.app.attribution_export import render, write_map
from resnet_studio.app.attribution_state import LOADING, MAPS, SANITY, AttributionsState
from resnet_studio.app.samples import sample_paths
from resnet_studio.core.common.progress import Cancelled
from resnet_studio.qt.kit.job import Job, LatestJob, wait_for_background_work
from resnet_studio.qt.kit.stale import Stale
from resnet_studio.qt.kit.tab import TabContext, TabWidget
from resnet_studio.qt.tabs.attributions.display import DisplayControls
from resnet_studio.qt.tabs.attributions.form import AttributionForm
from resnet_studio.qt.tabs.attributions.grid import AttributionGrid
from resnet_studio.qt.tabs.attributions.inputs import InputsBox
from resnet_studio.qt.tabs.attributions.sanity_view import SanityView


class AttributionsTab(TabWidget):
    runFinished = Signal(str)  # "done" | "cancelled" | "failed"
    cellAdded = Signal(object)  # AttributionCell
    # emitted on the job's worker thread; reaches the GUI thread queued, before the result
    _cellComputed = Signal(object)

    title = "Attributions"

    def __init__(self, context: TabContext | None = None, parent: QWidget | None = None):
        super().__init__(context, parent)
        self.state = AttributionsState()
        self.job = Job(self, title="Attributions: computing maps", heavy=True)
        self.choices_job = LatestJob(self)
        self._after_loading: str | None = None  # MAPS or SANITY, asked for while loading
        self.inputs = InputsBox()
        self.form = AttributionForm()
        self.display = DisplayControls()
        self.grid = AttributionGrid()
        self.sanity_view = SanityView()

        self.run_button = QPushButton("Compute")
        self.cancel_button = QPushButton("Cancel")
        self.sanity_button = QPushButton("Sanity check")
        self.sanity_button.setToolTip(
            "Randomise the network from the head down (fc, last stage, ...) and see whether the "
            "first ticked method's map changes (Adebayo et al. 2018)")
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.sanity_button.clicked.connect(self.run_sanity)
        self.progress_bar = QProgressBar(textVisible=False)
        self.status_label = QLabel("", wordWrap=True)

        buttons = QHBoxLayout()
        for b in (self.run_button, self.cancel_button, self.sanity_button):
            buttons.addWidget(b)
        settings = QWidget()
        side = QVBoxLayout(settings)
        side.setContentsMargins(0, 0, 4, 0)
        for w in (self.inputs, self.form, self.display):
            side.addWidget(w)
        side.addStretch(1)
        # the settings scroll at small window heights; the buttons and progress stay in view
        scroll = QScrollArea(widgetResizable=True, frameShape=QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(settings)
        scroll.setMinimumWidth(settings.sizeHint().width() + 16)
        column = QVBoxLayout()
        column.addWidget(scroll, 1)
        column.addLayout(buttons)
        column.addWidget(self.progress_bar)
        column.addWidget(self.status_label)
        self.pages = QTabWidget(documentMode=True)
        self.pages.addTab(self.grid, "Maps")
        self.pages.addTab(self.sanity_view, "Sanity check")
        outer = QHBoxLayout(self)
        outer.addLayout(column, 0)
        outer.addWidget(self.pages, 1)
        self.stale = Stale(self.pages, "computing… (maps fill in as they are done)")
        self.stale.follow(self.job)

        self.inputs.imagePicked.connect(self.set_image)
        self.inputs.weightsPicked.connect(self.set_weights)
        self.inputs.comparePicked.connect(self.set_compare)
        self.display.changed.connect(self._display_changed)
        self.grid.exportRequested.connect(self._export_chosen)
        self._cellComputed.connect(self._add_cell)
        self.job.bind(progressed=self._progressed, succeeded=self._succeeded, failed=self._failed,
                      cancelled=self._cancelled, runningChanged=self._running_changed)
        self.choices_job.succeeded.connect(self._choices_loaded)
        self.choices_job.finished.connect(self._loading_ended)
        self._update_buttons()
        # the session's images (opened here or in the Images tab) are offered in the picker
        self.context.images.subscribe(self.inputs.add_images)
        self.inputs.add_images(self.context.images.paths())
        self._resolve_inputs()

    # -- inputs ----------------------------------------------------------------------------------
    def set_model(self, model) -> None:
        """A preset name or an ArchSpec (from the sidebar)."""
        if self.state.choose_model(model):
            self._resolve_inputs()

    def model_changed(self, summary) -> None:
        self.set_model(summary.spec)

    def set_weights(self, weights: str | Path) -> None:
        """"auto" (ImageNet weights if they are on this machine, else the shipped trained
        ResNet-20 and plain-20), "shipped", "imagenet" (where torchvision has them, else
        random), "random", or a checkpoint / state_dict path."""
        self.state.choose_weights(str(weights))
        self._resolve_inputs()

    def use_checkpoint(self, path: str | Path, twin: str | Path | None = None) -> None:
        """This app's checkpoint (`.safetensors` beside its `.json`, a run's checkpoint) as the
        model, whatever the sidebar shows; `twin` (its plain twin's checkpoint) is shown beside
        it, explained for the same class. Kept until other weights or another model are
        chosen."""
        self.state.choose_checkpoint(str(path), None if twin is None else str(twin))
        self._resolve_inputs()

    def _resolve_inputs(self) -> None:
        """Show the inputs; what they stand for (the model's name, class names and layers)
        comes from a job: the first call imports torch, off the GUI thread; a failure leaves
        the pickers as they were."""
        s = self.state
        s.resolved = None
        self.inputs.show_weights(s.weights)
        self.inputs.show_compare(s.compare)
        self.inputs.show_model(s.model_text())
        s.resolving = s.model is not None or s.weights not in ("imagenet", "random")
        if s.resolving:
            self.choices_job.start(resolve_inputs, None if s.pinned else s.model, s.weights,
                                   models=self.context.models)

    def set_compare(self, compare: str | Path | None) -> None:
        """None, "plain" (the plain twin, random weights) or a second checkpoint path."""
        self.state.compare = None if compare in (None, "", "none") else str(compare)
        self.inputs.show_compare(self.state.compare)

    def set_image(self, path: str | Path) -> None:
        """The image the maps explain; it joins the session's images (the Images tab's too)."""
        self.state.image = str(Path(path).expanduser().resolve())
        self.context.images.add([self.state.image])
        self.inputs.show_image(self.state.image)

    def add_paths(self, paths: Sequence[str | Path]) -> None:
        """The first of `paths` becomes the image."""
        paths = [p for p in paths if str(p)]
        if paths:
            self.set_image(paths[0])

    def set_methods(self, methods: Sequence[str]) -> None:
        for m, box in self.form.method_boxes.items():
            box.setChecked(m in methods)

    def set_target(self, target: int | None) -> None:
        """None: the predicted class; else a class index."""
        self.form.set_target(target)

    # -- jobs ------------------------------------------------------------------------------------
    def run(self) -> None:
        """Compute every checked method for the model (and the comparison), in a worker."""
        self._start(MAPS, compute_attributions, on_cell=self._cell_from_worker)

    def run_sanity(self) -> None:
        """The cascading randomisation check for the first ticked method, in a worker; its
        maps on the Sanity check page."""
        self._start(SANITY, sanity_cascade)

    def _start(self, kind: str, func, **kwargs) -> None:
        if self.job.is_running():
            return
        settings = self.form.value()
        problem = self.state.missing(settings, kind)
        self._after_loading = kind if problem == LOADING else None
        if problem:
            self._status(problem)
            return
        request = self.state.request(settings, kind)
        self.state.start(kind, settings)
        if kind == MAPS:
            self.grid.clear()
            self.pages.setCurrentWidget(self.grid)
        else:
            self.sanity_view.show_cascade(None)
            self.pages.setCurrentWidget(self.sanity_view)
        self.progress_bar.setRange(0, 0)
        self._status(self.state.status)
        self.job.start(func, request, models=self.context.models, **kwargs)

    def cancel(self) -> None:
        if self.job.is_running():
            self.job.cancel()
            self.state.cancel()
            self._status(self.state.status)
            self._update_buttons()

    def is_busy(self) -> bool:
        return self.job.is_running()

    def _cell_from_worker(self, cell: AttributionCell) -> None:
        """Runs on the job's worker thread: hands the cell to the GUI thread."""
        try:
            self._cellComputed.emit(cell)
        except RuntimeError:  # the tab was deleted while the job ran: nobody waits for it
            raise Cancelled() from None

    def _add_cell(self, cell: AttributionCell) -> None:
        self.state.add_cell(cell)
        self.grid.add(cell, render(cell, self.state.display))
        self.cellAdded.emit(cell)

    def _progressed(self, done: int, total: int, text: str) -> None:
        if total:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(done)
        self.state.progressed(text)
        self.status_label.setText(self.state.status)

    def _succeeded(self, result) -> None:
        self.state.succeeded(result)
        if self.state.running == SANITY:
            self.sanity_view.show_cascade(result, self.state.display)
        self._status(self.state.status)

    def _failed(self, message: str) -> None:
        self.state.failed(message)
        self._status(self.state.status)

    def _cancelled(self) -> None:
        self.state.cancelled()
        self._status(self.state.status)

    def _running_changed(self, running: bool) -> None:
        if not running:
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(1 if self.state.outcome == "done" else 0)
            self.state.finished()
        self._update_buttons()
        self.busyChanged.emit(running)
        if not running:
            self.runFinished.emit(self.state.outcome or "cancelled")

    # -- display and export ----------------------------------------------------------------------
    def _display_changed(self, display) -> None:
        self.state.display = display
        self.grid.redraw(lambda cell: render(cell, display))
        self.sanity_view.redraw(display)

    def cells(self) -> dict[tuple[str, str], AttributionCell]:
        """(row, method) -> cell, for what the grid shows."""
        return dict(self.state.cells)

    def cell_pixmap(self, row: str, method: str) -> QPixmap:
        return self.grid.pixmap(row, method)

    def status_text(self) -> str:
        return self.state.status

    def export(self, row: str, method: str, path: str | Path) -> tuple[Path, Path]:
        """Write the overlay as PNG at `path` and the raw map beside it as .npy."""
        png = Path(path).with_suffix(".png")
        png, npy = write_map(self.state.cells[(row, method)], png, self.state.display,
                             png.with_suffix(".npy"))
        self._status(f"Saved {png.name} and {npy.name}")
        return png, npy

    def _export_chosen(self, cell: AttributionCell, path: str) -> None:
        try:
            self.export(cell.row, cell.method, path)
        except OSError as e:
            self._status(f"Could not save: {e}")

    # -- the rest --------------------------------------------------------------------------------
    def _choices_loaded(self, resolved) -> None:
        self.state.resolved, self.state.choices = resolved, resolved.choices
        self.form.set_choices(resolved.choices)
        self.inputs.show_model(resolved.label)
        if self.state.image is None and resolved.shipped and (samples := sample_paths()):
            self.set_image(samples[0])  # a glyph of the data the shipped nets learnt

    def _loading_ended(self) -> None:
        """The model is loaded (or could not be): run what Compute asked for meanwhile."""
        self.state.resolving = False
        kind, self._after_loading = self._after_loading, None
        if kind is not None:
            (self.run if kind == MAPS else self.run_sanity)()

    def _status(self, text: str) -> None:
        self.state.status = text
        self.status_label.setText(text)
        self.statusMessage.emit(text)

    def _update_buttons(self) -> None:
        busy = self.job.is_running()
        self.run_button.setEnabled(not busy)
        self.sanity_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy and not self.state.cancelling)

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        self._after_loading = None
        self.cancel()
        self.choices_job.cancel()
        return wait_for_background_work(timeout_ms)


__all__ = ["AttributionsTab"]
