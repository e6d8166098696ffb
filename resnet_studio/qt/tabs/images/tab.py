"""Images tab: classify your own images with the chosen model, and look inside it.

Top: where the weights come from and, always visible, what the predictions come from
(`SourceBar`). Then the actions and the progress line, the thumbnail strip (and the files that
were skipped, with reasons), the selected image with its top-k bars, and the model views:
feature-map mosaics and a residual block taken apart.

What is shown and what runs is an `ImagesState` (app layer, no Qt), fed by `ImagesWork`
(three Jobs: the model source, image loading, classification); the model stays in the shared
`ModelSourceCache` (`context.models`), where the jobs and the model views lease it.
The module imports no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QMessageBox, QSplitter, QTabWidget, QVBoxLayout, QWidget

from resnet_studio.app.classify import write_predictions_csv
from resnet_studio.app.images import SourceInfo
from resnet_studio.app.images_state import ImageEntry, ImagesState
from resnet_studio.app.samples import sample_paths
from resnet_studio.core.images import IMAGE_EXTENSIONS
from resnet_studio.core.spec import ArchSpec
from resnet_studio.qt.kit.job import wait_for_background_work
from resnet_studio.qt.kit.tab import TabContext, TabWidget
from resnet_studio.qt.tabs.images.block_view import ResidualBlockView
from resnet_studio.qt.tabs.images.feature_view import FeatureMapView
from resnet_studio.qt.tabs.images.image_strip import ImageStrip, SkippedList, qimage_to_pil
from resnet_studio.qt.tabs.images.preview import ImagePanel
from resnet_studio.qt.tabs.images.source_bar import SourceBar
from resnet_studio.qt.tabs.images.toolbar import ImagesToolbar
from resnet_studio.qt.tabs.images.work import ImagesWork

IMAGE_FILTER = f"Images ({' '.join('*' + e for e in IMAGE_EXTENSIONS)});;All files (*)"
PLACEHOLDER = ("Open images…, paste one (Ctrl+V) or drop files and folders here.\n\nEach image "
               "is classified with the model and weights shown above.")


class ImagesTab(TabWidget):
    sourceReady = Signal(object)  # SourceInfo: a model source was loaded and is in use
    sourceFailed = Signal(str)  # the message shown for a source that could not be loaded

    title = "Images"

    def __init__(self, context: TabContext | None = None, parent: QWidget | None = None):
        super().__init__(context, parent)
        self.state = ImagesState()
        self.work = ImagesWork(self.state, self.context.models, self)
        self._pending_layer: str | None = None
        self._busy = self._window_watched = self._samples_shown = False
        self._asked: set[str] = set()  # files and folders asked for since the last Clear
        self._build()
        self._connect()
        self.setAcceptDrops(True)
        self._refresh()
        # images opened in the Attributions tab are here too, and ours there
        self.context.images.subscribe(self._shared_images_added)
        self._shared_images_added(self.context.images.paths())

    def _build(self) -> None:
        self.source_bar = SourceBar()
        self.toolbar = ImagesToolbar()
        self.strip, self.skipped = ImageStrip(), SkippedList()
        strips = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        strips.addWidget(self.strip)
        strips.addWidget(self.skipped)
        strips.setStretchFactor(0, 3)
        strips.setStretchFactor(1, 1)
        strips.setSizes([800, 300])
        strips.setFixedHeight(self.strip.height())
        self.panel = ImagePanel(PLACEHOLDER)
        self.features = FeatureMapView(self.context.models)
        self.residual = ResidualBlockView(self.context.models)
        self.views = QTabWidget(documentMode=True)
        self.views.addTab(self.features, "Feature maps")
        self.views.addTab(self.residual, "Residual block")
        self.splitter = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        self.splitter.addWidget(self.panel)
        self.splitter.addWidget(self.views)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([420, 680])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        for w in (self.source_bar, self.toolbar, strips):
            layout.addWidget(w)
        layout.addWidget(self.splitter, 1)
        # the parts tests and the window reach for
        self.source_combo, self.use_random_button = self.source_bar.combo, \
            self.source_bar.use_random_button
        self.bars = self.panel.bars
        for name in ("export_button", "resume_button", "cancel_button", "progress_label"):
            setattr(self, name, getattr(self.toolbar, name))

    def _connect(self) -> None:
        t = self.toolbar
        t.open_button.clicked.connect(self.open_dialog)
        t.paste_button.clicked.connect(self.paste)
        t.clear_button.clicked.connect(self.clear)
        t.export_button.clicked.connect(self.export_dialog)
        t.resume_button.clicked.connect(self.classify_remaining)
        t.cancel_button.clicked.connect(self.cancel)
        self.source_bar.weightsChosen.connect(self.set_weights)
        self.strip.currentUidChanged.connect(self._current_changed)
        w = self.work
        w.changed.connect(self._refresh)
        w.statusMessage.connect(self.statusMessage)
        w.sourceLoading.connect(lambda: self._hint_views("Waiting for the model…"))
        w.sourceReady.connect(self._source_ready)
        w.sourceFailed.connect(self._source_failed)
        w.imagesLoaded.connect(self._images_loaded)
        w.entriesChanged.connect(self._show_entries)
        w.classifyFailed.connect(lambda m: self.source_bar.show_banner(
            f"<b>Classification failed:</b> {escape(m)}"))
        for view in (self.features, self.residual):
            view.busyChanged.connect(lambda _busy: self._refresh())
        paste = QShortcut(QKeySequence.StandardKey.Paste, self)
        paste.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        paste.activated.connect(self.paste)

    # -- public API ----------------------------------------------------------------------------
    def set_model(self, model: str | ArchSpec) -> None:
        """The model chosen in the sidebar (a preset name or a spec). A weights file picked for
        the previous model is dropped; ImageNet weights are used where torchvision has them."""
        if self.state.choose_model(model):
            self.source_bar.hide_banner()
            self.work.ensure_source(needed=self.isVisible())
            self._refresh()

    def model_changed(self, summary) -> None:
        self.set_model(summary.spec)

    def set_weights(self, weights: str | Path) -> None:
        """"auto" (ImageNet weights if they are on this machine, else the shipped trained
        ResNet-20), "imagenet", "shipped", "random", or a checkpoint / state_dict file for the
        current model."""
        self.state.choose_weights(str(weights))
        self.source_bar.hide_banner()
        self.work.ensure_source(force=True)
        self._refresh()

    def use_checkpoint(self, path: str | Path, twin: str | Path | None = None) -> None:
        """This app's checkpoint (`.safetensors` beside its `.json`, a run's checkpoint) as the
        model, whatever the sidebar shows, until other weights or another model are chosen.
        `twin` is not used: the tab shows one model."""
        self.state.choose_checkpoint(str(path))
        self.source_bar.hide_banner()
        self.work.ensure_source(force=True)
        self._refresh()

    def load_weights_file(self, path: str | Path) -> None:
        self.set_weights(str(path))

    def add_paths(self, paths: Sequence[str | Path]) -> None:
        """Files and folders (searched recursively): loaded in the background, then classified."""
        paths = [str(p) for p in paths if str(p)]
        if paths:
            self._asked.update(str(Path(p).expanduser().resolve()) for p in paths)
            self.work.add_paths(paths)

    def add_pil_image(self, image, name: str | None = None) -> None:
        """An image from memory (the clipboard)."""
        self.work.add_image(image, name)

    def select_layer(self, name: str) -> None:
        """A block id ("layer2.0", "stem") or a layer name from the architecture view."""
        self._pending_layer = name
        self._apply_pending_layer()

    def cancel(self) -> None:
        """Stop loading, classifying and model loading; what is done so far stays."""
        self.work.cancel()

    def clear(self) -> None:
        self._asked.clear()
        self.work.clear()
        self.strip.clear_images()
        self.skipped.clear()

    def classify_remaining(self) -> None:
        self.work.classify_remaining()

    def is_busy(self) -> bool:
        return self.work.is_running() or self.features.is_busy() or self.residual.is_busy()

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        self.cancel()
        return wait_for_background_work(timeout_ms)

    @property
    def source(self) -> SourceInfo | None:
        return self.state.source

    @property
    def batch_size(self) -> int:
        return self.work.batch_size

    @batch_size.setter
    def batch_size(self, n: int) -> None:
        self.work.batch_size = n

    @property
    def topk(self) -> int:
        return self.work.topk

    def source_text(self) -> str:
        return self.source_bar.label.text()

    def banner_text(self) -> str:
        return self.source_bar.banner_text()

    def image_count(self) -> int:
        return len(self.state.entries)

    def predictions(self) -> list:
        """The predictions shown, in image order (core.classify.Prediction)."""
        return self.state.predictions()

    def skipped_texts(self) -> list[str]:
        return self.skipped.texts()

    def select_image(self, index: int) -> None:
        if 0 <= index < len(self.state.entries):
            self.strip.select_uid(self.state.entries[index].uid)

    def export_csv(self, path: str | Path) -> int:
        """One row per image × rank; returns the number of images written."""
        predictions = self.predictions()
        write_predictions_csv(path, predictions)
        self.statusMessage.emit(f"Wrote {len(predictions)} × {self.topk} predictions to {path}")
        return len(predictions)

    # -- dialogs, clipboard, drops ---------------------------------------------------------------
    def open_dialog(self) -> None:
        bar = self.source_bar
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images", bar.last_dir, IMAGE_FILTER)
        if paths:
            bar.last_dir = str(Path(paths[0]).parent)
            self.add_paths(paths)

    def export_dialog(self) -> None:
        if not self.predictions():
            return
        name = self.state.source.name if self.state.source else self.state.model_name()
        default = str(Path(self.source_bar.last_dir) / f"predictions-{name}.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Export predictions", default, "CSV (*.csv)")
        try:
            if path:
                self.export_csv(path)
        except OSError as e:
            QMessageBox.warning(self, "Export failed", f"{path}\n\n{e}")

    def paste(self) -> None:
        clipboard = QGuiApplication.clipboard()
        mime = clipboard.mimeData()
        if mime is not None and mime.hasImage() and not clipboard.image().isNull():
            self.add_pil_image(qimage_to_pil(clipboard.image()))
        elif mime is not None and (files := [u.toLocalFile() for u in mime.urls()
                                             if u.isLocalFile()]):
            self.add_paths(files)
        else:
            self.statusMessage.emit("The clipboard holds no image")

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.add_paths(paths)
            event.acceptProposedAction()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._window_watched and self.window() is not self:
            # cancel long work when the window closes, so closing does not wait for it
            self.window().installEventFilter(self)
            self._window_watched = True
        self.work.ensure_source(needed=True)
        self._refresh()

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Close and obj is self.window():
            self.cancel()
        return False

    # -- what the work reports -----------------------------------------------------------------------
    def _hint_views(self, text: str) -> None:
        for view in (self.features, self.residual):
            view.set_hint(text)

    def _source_ready(self, info: SourceInfo) -> None:
        for view in (self.features, self.residual):
            view.set_source(info)
        self._apply_pending_layer()
        self.sourceReady.emit(info)
        samples = [str(p) for p in sample_paths()]
        if info.shipped and not self._samples_shown and self._asked <= set(samples):
            # something true to look at on first launch: the data the shipped net learnt (the
            # Attributions tab may have shown one of them already)
            self._samples_shown = True
            self.add_paths([p for p in samples if p not in self._asked])

    def _shared_images_added(self, paths: list[str]) -> None:
        known = self._asked | {str(Path(e.record.image.path).resolve())
                               for e in self.state.entries if e.record.image.path is not None}
        if new := [p for p in paths if p not in known]:
            self.add_paths(new)

    def _source_failed(self, error: str) -> None:
        self.source_bar.show_problem(self.state.problem, self.state.model_name(),
                                     self.state.source)
        if self.state.source is None:
            self._hint_views("No model weights loaded: see the message above.")
        self.sourceFailed.emit(error)

    def _images_loaded(self, new: list[ImageEntry], failures: list) -> None:
        self.context.images.add(e.record.image.path for e in new
                                if not e.record.pasted and e.record.image.path is not None)
        for e in new:
            self.strip.add_image(e.uid, e.name, e.record.thumbnail)
        self._show_entries(new)
        self.skipped.add_failures(failures)
        if new and self.strip.current_uid() < 0:
            self.strip.select_uid(new[0].uid)

    # -- showing ---------------------------------------------------------------------------------------
    def _show_entries(self, entries: Sequence[ImageEntry]) -> None:
        current = self.strip.current_uid()
        for e in entries:
            self.strip.set_caption(e.uid, e.name, e.caption(), e.tooltip())
            if e.uid == current:
                self.panel.show_entry(e, self.state.message_for(e))
        self._refresh()

    def _current_changed(self, uid: int) -> None:
        entry = self.state.entry(uid)
        self.panel.show_entry(entry, self.state.message_for(entry) if entry else "")
        for view in (self.features, self.residual):
            view.set_image(uid, entry.record.image if entry is not None else None)

    def _refresh(self) -> None:
        """Progress line, actions, source label and busy state from `state`."""
        s = self.state
        working = self.work.is_running()
        if not working:
            s.idle()
        self.toolbar.show_progress(s.progress() if working else None,
                                   can_cancel=not s.cancelling)
        self.toolbar.show_actions(predictions=bool(s.predictions()),
                                  content=bool(s.entries or s.skipped), remaining=s.remaining())
        self.source_bar.show_state(s)
        busy = self.is_busy()
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)

    def _apply_pending_layer(self) -> None:
        name, source = self._pending_layer, self.state.source
        if not name or source is None:
            return
        self._pending_layer = None
        found = source.find(name)
        if found is None:
            self.statusMessage.emit(f"No feature maps for '{name}' (pick a layer or a block)")
            return
        kind, name = found
        self.features.select_layer(name)
        if kind == "block":
            self.residual.select_block(name)
        if kind == "layer" or self.views.currentWidget() is not self.residual:
            self.views.setCurrentWidget(self.features)
