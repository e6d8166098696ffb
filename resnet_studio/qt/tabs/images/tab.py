"""Images tab: classify your own images with the chosen model, and look inside it.

Top: where the weights come from (ImageNet / a checkpoint / random) and, always visible, what
the predictions come from. Then the thumbnail strip (and the files that were skipped, with
reasons), the selected image with its top-k bars, and the model views: feature-map mosaics and
a residual block taken apart.

Everything slow runs in the thread pool: loading the model source (a download included),
loading image files, classifying (batch by batch, streamed back, with progress and Cancel) and
the feature views. The module imports no torch; the worker functions import core themselves.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication, QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.zoo import PRESETS
from resnet_studio.qt.kit.tab import TabContext
from resnet_studio.qt.tabs.images.feature_view import (
    FeatureMapView,
    ResidualBlockView,
    SourceHandle,
    load_source_handle,
)
from resnet_studio.qt.tabs.images.image_strip import ImagePreview, ImageStrip, SkippedList, TopKBars
from resnet_studio.qt.workers import run_in_background

MUTED = "#64748b"
WARNING = "#b45309"
ERROR = "#b91c1c"
IMAGE_FILTER = ("Images (*.png *.jpg *.jpeg *.jpe *.jfif *.bmp *.gif *.tif *.tiff *.webp *.ppm "
                "*.pgm *.pbm *.pnm *.tga *.ico);;All files (*)")
WEIGHTS_FILTER = ("Weights (*.safetensors *.json *.pt *.pth *.bin *.ckpt);;All files (*)")
SOURCE_CHOICES = (("ImageNet weights (torchvision)", "imagenet"),
                  ("Checkpoint / state_dict file…", "file"),
                  ("Random weights (untrained)", "random"))
LOAD_CHUNK = 8  # files per streamed batch of thumbnails
THUMB_SIDE = 128
_JOB_IDS = itertools.count(1)


# -- worker functions (run in the thread pool; import core lazily) --------------------------------

def _thumbnail(loaded) -> np.ndarray:
    small = loaded.image.copy()
    small.thumbnail((THUMB_SIDE, THUMB_SIDE))
    return np.asarray(small.convert("RGB"), dtype=np.uint8)


def _load_files(paths: list[str], max_side: int, emit: Callable, progress=None,
                should_stop=None) -> tuple[int, int]:
    """Expand folders, load files a few at a time, `emit(items, failures)` after each chunk."""
    from resnet_studio.core.images import expand_image_paths, load_images

    files, failures = expand_image_paths(paths)
    if failures:
        emit([], failures)
    total, done = len(files), 0
    for start in range(0, total, LOAD_CHUNK):
        if should_stop is not None and should_stop():
            break
        chunk = files[start:start + LOAD_CHUNK]
        loaded, failed = load_images(chunk, max_side=max_side)
        emit([(im, _thumbnail(im)) for im in loaded], failed)
        done += len(chunk)
        if progress is not None:
            progress(done, total, f"Loading images: {done} of {total}")
    return done, total


def _load_pil(image, name: str, max_side: int, emit: Callable) -> None:
    from resnet_studio.core.images import ImageLoadError, from_pil

    try:
        loaded = from_pil(image, path=name, max_side=max_side)
    except ImageLoadError as e:
        emit([], [e.to_failure()])
        return
    emit([(loaded, _thumbnail(loaded))], [])


def _classify_images(handle: SourceHandle, images: list, batch_size: int, topk: int,
                     emit: Callable, progress=None, should_stop=None) -> int:
    """Batch by batch, holding the model lock per batch (the feature views get a turn
    between batches); `emit(start, predictions)` after each."""
    from resnet_studio.core.classify import classify

    n, done = len(images), 0
    for start in range(0, n, batch_size):
        if should_stop is not None and should_stop():
            break
        chunk = images[start:start + batch_size]
        with handle.lock:
            predictions = classify(handle.source, chunk, topk=topk, batch_size=batch_size)
        emit(start, predictions)
        done += len(chunk)
        if progress is not None:
            progress(done, n, f"Classifying: {done} of {n} images")
    return done


# -- state -------------------------------------------------------------------------------------------

@dataclass
class _Entry:
    uid: int
    image: Any  # core.images.LoadedImage
    thumb: np.ndarray
    name: str
    pasted: bool = False
    state: str = "pending"  # pending | running | done | cancelled | error
    prediction: Any = None  # core.classify.Prediction


@dataclass
class _Job:
    kind: str  # source | load | classify
    epoch: int
    id: int = field(default_factory=lambda: next(_JOB_IDS))
    stop: threading.Event = field(default_factory=threading.Event)
    key: tuple = ()  # source jobs: what they load
    uids: list[int] = field(default_factory=list)  # classify jobs
    source_serial: int = 0  # classify jobs
    pasted: bool = False  # load jobs: images from memory
    progress: tuple[int, int, str] | None = None
    user_cancelled: bool = False
    error: BaseException | None = None


class _Relay(QObject):
    """Carries worker-thread calls to the GUI thread (queued: the relay lives here)."""

    progress = Signal(object)  # (job id, done, total, message)
    images = Signal(object)  # (job id, [(LoadedImage, thumb)], [LoadFailure])
    predictions = Signal(object)  # (job id, start, [Prediction])


def _safe(emit: Callable) -> Callable:
    def call(*args):
        with contextlib.suppress(RuntimeError):  # the tab was deleted while the worker ran
            emit(*args)
    return call


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _for_gui(message: str) -> str:
    """Core's messages name command-line options; say what to do in the window instead."""
    message = re.sub(r"Use --model (\S+?)\.(?=\s|$)", r"Choose \1 in the Model sidebar.", message)
    return message.replace(" Pass allow_partial (--partial) to load what fits.", "")


def _model_key(model: str | ArchSpec) -> str:
    return model if isinstance(model, str) else model.to_json(indent=None)


def _model_name(model: str | ArchSpec | None) -> str:
    if model is None:
        return "no model"
    return model if isinstance(model, str) else model.name


def _has_imagenet(model: str | ArchSpec) -> bool:
    if isinstance(model, str):
        preset = PRESETS.get(model)
        return preset is not None and bool(preset.torchvision)
    preset = PRESETS.get(model.name)
    return preset is not None and bool(preset.torchvision) and preset.spec == model


def _display_array(loaded, side: int = 1024) -> np.ndarray:
    image = loaded.image
    if max(image.size) > side:
        image = image.copy()
        image.thumbnail((side, side))
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def qimage_to_pil(qimage: QImage):
    from PIL import Image

    q = qimage.convertToFormat(QImage.Format.Format_RGBA8888)
    w, h, stride = q.width(), q.height(), q.bytesPerLine()
    buf = np.frombuffer(q.constBits(), np.uint8, count=q.sizeInBytes()).reshape(h, stride)
    return Image.fromarray(buf[:, :w * 4].reshape(h, w, 4).copy(), "RGBA")


# -- the tab -----------------------------------------------------------------------------------------

class ImagesTab(QWidget):
    statusMessage = Signal(str)
    busyChanged = Signal(bool)
    sourceReady = Signal(object)  # SourceHandle: a model source was loaded and is in use
    sourceFailed = Signal(str)  # the message shown for a source that could not be loaded
    imagesAdded = Signal(int)  # how many images a load added
    predictionsChanged = Signal()  # a batch of predictions arrived
    classifyFinished = Signal(int, int)  # (classified, asked) of one classification run

    title = "Images"

    def __init__(self, context: TabContext | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context or TabContext()
        self.batch_size = 32
        self.topk = 5
        self.max_side = 1024  # images are kept at most this large (memory); the model sees 224
        self._model: str | ArchSpec | None = None
        self._weights = "imagenet"  # imagenet | random | a file path
        self._handle: SourceHandle | None = None
        self._failed_key: tuple | None = None
        self._entries: list[_Entry] = []
        self._by_uid: dict[int, _Entry] = {}
        self._uids = itertools.count(1)
        self._pasted = 0
        self._epoch = 0
        self._jobs: dict[int, _Job] = {}
        self._run_done = self._run_total = 0  # images classified / asked since last idle
        self._source_job: _Job | None = None
        self._classify_job: _Job | None = None
        self._pending_layer: str | None = None
        self._busy = False
        self._window_watched = False
        self._last_dir = str(Path.home())
        self._relay = _Relay(self)
        self._relay.progress.connect(self._progress)
        self._relay.images.connect(self._images_arrived)
        self._relay.predictions.connect(self._predictions_arrived)
        self._build()
        self.setAcceptDrops(True)
        self._update_source_label()
        self._update_buttons()
        self._update_progress()

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        self.source_combo = QComboBox()
        for text, data in SOURCE_CHOICES:
            self.source_combo.addItem(text, data)
        self.source_combo.setToolTip("Where the model's weights come from")
        self.source_combo.activated.connect(self._source_activated)
        self.source_label = QLabel(textFormat=Qt.TextFormat.RichText)
        self.source_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top = QHBoxLayout()
        top.addWidget(QLabel("Weights"))
        top.addWidget(self.source_combo)
        top.addSpacing(8)
        top.addWidget(self.source_label, 1)

        self.banner = QFrame(objectName="imagesBanner")
        self.banner_label = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.banner_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.use_random_button = QPushButton("Use random weights")
        self.use_random_button.clicked.connect(lambda: self.set_weights("random"))
        dismiss = QPushButton("Dismiss")
        dismiss.clicked.connect(lambda: self.banner.hide())
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.setContentsMargins(8, 6, 8, 6)
        banner_layout.addWidget(self.banner_label, 1)
        banner_layout.addWidget(self.use_random_button, 0, Qt.AlignmentFlag.AlignTop)
        banner_layout.addWidget(dismiss, 0, Qt.AlignmentFlag.AlignTop)
        self.banner.hide()

        self.open_button = QPushButton("Open images…")
        self.open_button.setToolTip("Add image files (or drop files and folders on this tab)")
        self.open_button.clicked.connect(self.open_dialog)
        self.paste_button = QPushButton("Paste")
        self.paste_button.setToolTip("Add the image on the clipboard (Ctrl+V)")
        self.paste_button.clicked.connect(self.paste)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove all images and the skipped list")
        self.clear_button.clicked.connect(self.clear)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("One row per image and rank: image, path, rank, class, "
                                      "label, probability")
        self.export_button.clicked.connect(self.export_dialog)
        self.resume_button = QPushButton("Classify remaining")
        self.resume_button.setToolTip("Classify the images a cancelled run left out")
        self.resume_button.clicked.connect(self.classify_remaining)
        self.progress_label = QLabel()
        self.progress_label.setStyleSheet(f"color:{MUTED}")
        self.progress_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.progress_label.setMinimumWidth(320)  # no jitter (or clipping) as the numbers grow
        self.progress_bar = QProgressBar(maximumWidth=220, textVisible=False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        for b in (self.open_button, self.paste_button, self.clear_button, self.export_button,
                  self.resume_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.progress_label)
        buttons.addWidget(self.progress_bar)
        buttons.addWidget(self.cancel_button)

        self.strip = ImageStrip()
        self.strip.currentUidChanged.connect(self._current_changed)
        self.skipped = SkippedList()
        self.strip_splitter = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        self.strip_splitter.addWidget(self.strip)
        self.strip_splitter.addWidget(self.skipped)
        self.strip_splitter.setStretchFactor(0, 3)
        self.strip_splitter.setStretchFactor(1, 1)
        self.strip_splitter.setSizes([800, 300])
        self.strip_splitter.setFixedHeight(self.strip.height())

        self.preview_title = QLabel(textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.preview = ImagePreview("Open images…, paste one (Ctrl+V) or drop files and "
                                    "folders here.\n\nEach image is classified with the model "
                                    "and weights shown above.")
        self.preview_details = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.preview_details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bars = TopKBars()
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 4, 0)
        left_layout.addWidget(self.preview_title)
        left_layout.addWidget(self.preview, 1)
        left_layout.addWidget(self.preview_details)
        left_layout.addWidget(self.bars)

        self.features = FeatureMapView()
        self.residual = ResidualBlockView()
        self.views = QTabWidget(documentMode=True)
        self.views.addTab(self.features, "Feature maps")
        self.views.addTab(self.residual, "Residual block")
        for view in (self.features, self.residual):
            view.busyChanged.connect(lambda _b: self._update_busy())

        self.splitter = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.views)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([420, 680])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.banner)
        layout.addLayout(buttons)
        layout.addWidget(self.strip_splitter)
        layout.addWidget(self.splitter, 1)

        paste = QShortcut(QKeySequence.StandardKey.Paste, self)
        paste.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        paste.activated.connect(self.paste)
        self._show_entry(None)

    # -- public API ----------------------------------------------------------------------------
    def set_model(self, model: str | ArchSpec) -> None:
        """The model chosen in the sidebar (a preset name or a spec). A weights file picked for
        the previous model is dropped; ImageNet weights are used where torchvision has them."""
        if self._model is not None and _model_key(model) == _model_key(self._model):
            return
        self._model = model
        if self._weights not in ("imagenet", "random"):
            self._weights = "imagenet"
        self._failed_key = None
        self.banner.hide()
        self._sync_source_combo()
        self._update_source_label()
        self._ensure_source()

    def set_weights(self, weights: str | Path) -> None:
        """"imagenet", "random", or a checkpoint / state_dict file for the current model."""
        self._weights = str(weights)
        self._failed_key = None
        self.banner.hide()
        self._sync_source_combo()
        self._update_source_label()
        self._ensure_source(force=True)

    def load_weights_file(self, path: str | Path) -> None:
        self.set_weights(str(path))

    def add_paths(self, paths: Sequence[str | Path]) -> None:
        """Files and folders (searched recursively): loaded in a worker, then classified."""
        paths = [str(p) for p in paths if str(p)]
        if not paths:
            return
        job = self._start_job("load")
        emit = _safe(lambda items, failures: self._relay.images.emit((job.id, items, failures)))
        run_in_background(_load_files, paths, self.max_side, emit,
                          progress=self._progress_callback(job), should_stop=job.stop.is_set,
                          on_result=self._alive(self._load_done, job),
                          on_error=self._alive(self._job_failed, job),
                          on_finished=self._alive(self._job_finished, job))
        self._ensure_source(needed=True)

    def add_pil_image(self, image, name: str | None = None) -> None:
        """An image from memory (the clipboard)."""
        self._pasted += 1
        name = name or f"Pasted image {self._pasted}"
        job = self._start_job("load")
        job.pasted = True
        emit = _safe(lambda items, failures: self._relay.images.emit((job.id, items, failures)))
        run_in_background(_load_pil, image, name, self.max_side, emit,
                          on_error=self._alive(self._job_failed, job),
                          on_finished=self._alive(self._job_finished, job))
        self._ensure_source(needed=True)

    def select_layer(self, name: str) -> None:
        """A block id ("layer2.0", "stem") or a layer name from the architecture view."""
        self._pending_layer = name
        self._apply_pending_layer()

    def model_changed(self, summary) -> None:
        self.set_model(summary.spec)

    def confirm_close(self, parent: QWidget) -> bool:
        return True

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        from resnet_studio.qt.kit.job import wait_for_background_work

        self.cancel()
        return wait_for_background_work(timeout_ms)

    def cancel(self) -> None:
        """Stop loading, classifying and model loading; what is done so far stays."""
        running = [j for j in self._jobs.values() if not j.stop.is_set()]
        for job in running:
            job.user_cancelled = True
            job.stop.set()
        for e in self._entries:  # loaded but not yet handed to a classification run
            if e.state == "pending":
                e.state = "cancelled"
                self._update_caption(e)
        self._update_buttons()
        if running:
            self.progress_label.setText("Cancelling…")
            self.cancel_button.setEnabled(False)

    def clear(self) -> None:
        for job in self._jobs.values():
            if job.kind != "source":
                job.stop.set()
        self._epoch += 1
        self._run_done = self._run_total = 0
        self._entries.clear()
        self._by_uid.clear()
        self.strip.clear_images()
        self.skipped.clear()
        self._show_entry(None)
        self._update_buttons()

    def classify_remaining(self) -> None:
        for e in self._entries:
            if e.state in ("cancelled", "error"):
                e.state = "pending"
                self._update_caption(e)
        self._update_buttons()
        self._schedule_classify()

    def is_busy(self) -> bool:
        return bool(self._jobs) or self.features.is_busy() or self.residual.is_busy()

    @property
    def source(self) -> SourceHandle | None:
        return self._handle

    def source_text(self) -> str:
        return self.source_label.text()

    def banner_text(self) -> str:
        return self.banner_label.text() if not self.banner.isHidden() else ""

    def image_count(self) -> int:
        return len(self._entries)

    def predictions(self) -> list:
        """The predictions shown, in image order (core.classify.Prediction)."""
        return [e.prediction for e in self._entries if e.prediction is not None]

    def skipped_texts(self) -> list[str]:
        return self.skipped.texts()

    def select_image(self, index: int) -> None:
        if 0 <= index < len(self._entries):
            self.strip.select_uid(self._entries[index].uid)

    def export_csv(self, path: str | Path) -> int:
        """One row per image × rank; returns the number of images written."""
        from resnet_studio.core.classify import write_predictions_csv

        predictions = [replace(p, index=i) for i, p in enumerate(self.predictions())]
        write_predictions_csv(path, predictions)
        self.statusMessage.emit(f"Wrote {len(predictions)} × {self.topk} predictions to {path}")
        return len(predictions)

    # -- dialogs and clipboard -----------------------------------------------------------------
    def open_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images", self._last_dir,
                                                IMAGE_FILTER)
        if paths:
            self._last_dir = str(Path(paths[0]).parent)
            self.add_paths(paths)

    def export_dialog(self) -> None:
        if not self.predictions():
            return
        default = str(Path(self._last_dir) / f"predictions-{_model_name(self._handle_model())}"
                                              ".csv")
        path, _ = QFileDialog.getSaveFileName(self, "Export predictions", default,
                                              "CSV (*.csv)")
        if not path:
            return
        try:
            self.export_csv(path)
        except OSError as e:
            QMessageBox.warning(self, "Export failed", f"{path}\n\n{e}")

    def paste(self) -> None:
        clipboard = QGuiApplication.clipboard()
        mime = clipboard.mimeData()
        if mime is not None and mime.hasImage():
            image = clipboard.image()
            if not image.isNull():
                self.add_pil_image(qimage_to_pil(image))
                return
        if mime is not None and mime.hasUrls():
            files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
            if files:
                self.add_paths(files)
                return
        self.statusMessage.emit("The clipboard holds no image")

    def _source_activated(self, index: int) -> None:
        choice = self.source_combo.itemData(index)
        if choice != "file":
            self.set_weights(choice)
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint or state_dict",
                                              self._last_dir, WEIGHTS_FILTER)
        if path:
            self._last_dir = str(Path(path).parent)
            self.load_weights_file(path)
        else:
            self._sync_source_combo()

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
        self._ensure_source()

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Close and obj is self.window():
            self.cancel()
        return False

    # -- model source --------------------------------------------------------------------------
    def _effective_weights(self) -> str:
        if self._weights == "imagenet" and self._model is not None and \
                not _has_imagenet(self._model):
            return "random"
        return self._weights

    def _wanted_key(self) -> tuple | None:
        if self._model is None:
            return None
        return (_model_key(self._model), self._effective_weights())

    def _handle_model(self):
        return self._handle.source.spec.name if self._handle is not None else self._model

    def _ensure_source(self, force: bool = False, needed: bool = False) -> bool:
        """Start loading the wanted source if it is not in use or loading; True while one is
        loading. Lazy: only once the tab is shown or has images (`needed`: about to have),
        and a source that failed is retried only when asked again (`force`)."""
        key = self._wanted_key()
        if key is None:
            return False
        if self._handle is not None and self._handle.key == key:
            return False
        if self._source_job is not None and self._source_job.key == key:
            return True
        if not force and (key == self._failed_key or
                          not (needed or self.isVisible() or self._entries)):
            return False
        if self._source_job is not None:
            self._source_job.stop.set()
        job = self._start_job("source")
        job.key = key
        self._source_job = job
        for view in (self.features, self.residual):
            view.set_hint("Waiting for the model…")
        model, weights = self._model, self._effective_weights()
        run_in_background(load_source_handle, model, weights, key,
                          progress=self._progress_callback(job), should_stop=job.stop.is_set,
                          on_result=self._alive(self._source_loaded, job),
                          on_error=self._alive(self._source_failed, job),
                          on_finished=self._alive(self._job_finished, job))
        self._update_source_label()
        return True

    def _source_loaded(self, job: _Job, handle: SourceHandle) -> None:
        if job is not self._source_job:
            return
        self._source_job = None
        self._handle = handle
        self._failed_key = None
        self._run_done = self._run_total = 0  # everything is classified again
        if self._classify_job is not None:
            self._classify_job.stop.set()  # its predictions come from the previous model
        for e in self._entries:  # a Cancel while the model loaded holds classification back
            e.state, e.prediction = ("cancelled" if job.user_cancelled else "pending"), None
            self._update_caption(e)
        self._update_source_label()
        self.features.set_source(handle)
        self.residual.set_source(handle)
        self._apply_pending_layer()
        self._refresh_current()
        self.statusMessage.emit(f"Images: {handle.name} · {handle.label}")
        self.sourceReady.emit(handle)
        self._schedule_classify()

    def _source_failed(self, job: _Job, error: BaseException) -> None:
        if job is not self._source_job:
            return
        self._source_job = None
        self._failed_key = job.key
        if job.user_cancelled:
            self.statusMessage.emit("Loading the model was cancelled")
            self._update_source_label()
            return
        name = _model_name(self._model)
        file, folder = getattr(error, "file", None), getattr(error, "folder", None)
        if file and folder:
            text = (f"<b>The ImageNet weights for {_escape(name)} are not on this machine and "
                    f"could not be downloaded.</b> Put <b>{_escape(str(file))}</b> into "
                    f"<b>{_escape(str(folder))}</b>, then choose ImageNet weights again — or "
                    "use random weights for now.<br>"
                    f"<span style='color:{MUTED}'>{_escape(str(error))}</span>")
        else:
            kept = f" Still using {_escape(self._handle.name)} · {_escape(self._handle.label)}."\
                if self._handle is not None else ""
            text = f"<b>Cannot use these weights:</b> {_escape(_for_gui(str(error)))}{kept}"
        if self._weights not in ("imagenet", "random"):  # a file that did not fit: go back
            self._weights = self._handle.key[1] if self._handle is not None and \
                self._handle.key[0] == job.key[0] else "imagenet"
            self._sync_source_combo()
        self._show_banner(text, offer_random=bool(file and folder), error=not (file and folder))
        self._update_source_label()
        self._refresh_current()
        if self._handle is None:
            for view in (self.features, self.residual):
                view.set_hint("No model weights loaded: see the message above.")
        self.sourceFailed.emit(str(error))
        self.statusMessage.emit(f"Images: {error}")

    def _show_banner(self, text: str, *, offer_random: bool, error: bool) -> None:
        self.banner_label.setText(text)
        self.use_random_button.setVisible(offer_random)
        bg, border = ("#fef2f2", "#fca5a5") if error else ("#fffbeb", "#fcd34d")
        self.banner.setStyleSheet(f"QFrame#imagesBanner {{ background:{bg}; "
                                  f"border:1px solid {border}; border-radius:4px; }}")
        self.banner.show()

    def _sync_source_combo(self) -> None:
        imagenet = self._model is None or _has_imagenet(self._model)
        item = self.source_combo.model().item(0)
        item.setEnabled(imagenet)
        item.setToolTip("" if imagenet else f"torchvision has no pretrained weights for "
                                            f"{_model_name(self._model)}")
        w = self._effective_weights()
        self.source_combo.setCurrentIndex({"imagenet": 0, "random": 2}.get(w, 1))

    def _update_source_label(self) -> None:
        h = self._handle
        loading = self._source_job is not None
        if loading:
            what = {"imagenet": "ImageNet weights", "random": "random weights"}.get(
                self._source_job.key[1], Path(self._source_job.key[1]).name)
            text = f"<span style='color:{MUTED}'>Loading {_escape(_model_name(self._model))}" \
                   f" · {_escape(what)}…</span>"
            if h is not None:
                text += f" &nbsp; in use: {self._handle_text(h)}"
        elif h is not None:
            text = self._handle_text(h)
            if self._wanted_key() != h.key:
                text += f" <span style='color:{ERROR}'>(not the model chosen: " \
                        f"{_escape(_model_name(self._model))})</span>"
        elif self._model is None:
            text = f"<span style='color:{MUTED}'>No model chosen</span>"
        elif self._failed_key is not None and self._failed_key == self._wanted_key():
            text = f"<b>{_escape(_model_name(self._model))}</b> <span style='color:{ERROR}'>· " \
                   "these weights could not be loaded — nothing is classified</span>"
        else:
            text = f"<b>{_escape(_model_name(self._model))}</b> <span style='color:{MUTED}'>· " \
                   "weights not loaded yet</span>"
        self.source_label.setText(text)

    @staticmethod
    def _handle_text(h: SourceHandle) -> str:
        if h.kind == "random":
            return f"<b style='color:{WARNING}'>⚠ {_escape(h.name)} · {_escape(h.label)}</b>" \
                   f" <span style='color:{MUTED}'>— predictions are meaningless</span>"
        return f"<b>{_escape(h.name)}</b> · {_escape(h.label)}"

    # -- jobs ----------------------------------------------------------------------------------
    def _alive(self, method: Callable, job: _Job) -> Callable:
        """A worker callback that does nothing once the tab is deleted."""
        def call(*args):
            if shiboken6.isValid(self):
                method(job, *args)
        return call

    def _start_job(self, kind: str) -> _Job:
        job = _Job(kind=kind, epoch=self._epoch)
        self._jobs[job.id] = job
        self._update_busy()
        self._update_progress()
        return job

    def _progress_callback(self, job: _Job) -> Callable:
        return _safe(lambda done, total, message: self._relay.progress.emit(
            (job.id, done, total, message)))

    def _progress(self, payload) -> None:
        job_id, done, total, message = payload
        job = self._jobs.get(job_id)
        if job is None:
            return
        if job.kind == "source" and message.startswith("downloading"):
            size = f"{done / 1e6:.1f} of {total / 1e6:.1f} MB" if total else \
                f"{done / 1e6:.1f} MB"
            message = f"Downloading {message.split(' ', 1)[1]}: {size}"
        job.progress = (done, total, message)
        self._update_progress()

    def _update_progress(self) -> None:
        """One line for everything running: files loaded, images classified in this run
        (all classification jobs since the tab was last idle), the model (download)."""
        active = bool(self._jobs)
        for w in (self.progress_bar, self.progress_label, self.cancel_button):
            w.setVisible(active)
        if not active:
            self._run_done = self._run_total = 0
            return
        jobs = list(self._jobs.values())
        self.cancel_button.setEnabled(any(not j.stop.is_set() for j in jobs))
        parts: list[str] = []
        bar: tuple[int, int] | None = None
        source = [j for j in jobs if j.kind == "source"]
        if source:
            p = source[-1].progress
            parts.append(p[2] if p is not None else "Loading the model…")
            if p is not None and p[1] > 0:
                bar = (p[0], p[1])
        loads = [j.progress for j in jobs if j.kind == "load" and j.progress is not None]
        if any(j.kind == "load" for j in jobs):
            done, total = sum(p[0] for p in loads), sum(p[1] for p in loads)
            parts.append(f"Loading files: {done} of {total}" if total else "Loading images…")
            if total:
                bar = (done, total)
        if self._run_total:
            parts.append(f"Classified {self._run_done} of {self._run_total}")
            bar = (self._run_done, self._run_total)
        if any(j.user_cancelled for j in jobs):
            parts = ["Cancelling…"]
        if bar is None:
            self.progress_bar.setRange(0, 0)  # busy indicator
        else:
            self.progress_bar.setRange(0, bar[1])
            self.progress_bar.setValue(min(bar[0], bar[1]))
        self.progress_label.setText(" · ".join(parts))

    def _job_failed(self, job: _Job, error: BaseException) -> None:
        job.error = error
        if job.epoch == self._epoch:
            self.statusMessage.emit(f"Images: {error}")

    def _job_finished(self, job: _Job) -> None:
        self._jobs.pop(job.id, None)
        if job.kind == "classify":
            self._classify_finished(job)
        self._update_progress()
        self._update_source_label()
        self._update_buttons()
        self._update_busy()

    def _update_busy(self) -> None:
        busy = self.is_busy()
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)

    # -- images --------------------------------------------------------------------------------
    def _images_arrived(self, payload) -> None:
        job_id, items, failures = payload
        job = self._jobs.get(job_id)
        if job is None or job.epoch != self._epoch:
            return
        pasted = job.pasted
        first_new = None
        for loaded, thumb in items:
            uid = next(self._uids)
            name = loaded.name
            entry = _Entry(uid=uid, image=loaded, thumb=thumb, name=name, pasted=pasted,
                           state="cancelled" if job.user_cancelled else "pending")
            self._entries.append(entry)
            self._by_uid[uid] = entry
            self.strip.add_image(uid, name, thumb)
            self._update_caption(entry)
            first_new = first_new if first_new is not None else uid
        if failures:
            self.skipped.add_failures(failures)
        if first_new is not None and self.strip.current_uid() < 0:
            self.strip.select_uid(first_new)
        if items:
            self.imagesAdded.emit(len(items))
        self._update_buttons()
        self._schedule_classify()

    def _load_done(self, job: _Job, result: tuple[int, int]) -> None:
        done, total = result
        if job.epoch != self._epoch:
            return
        skipped = self.skipped.count()
        if job.user_cancelled and done < total:
            self.statusMessage.emit(f"Loading cancelled after {done} of {total} files")
        else:
            self.statusMessage.emit(f"Loaded {total} file(s): {len(self._entries)} images"
                                    + (f", {skipped} skipped" if skipped else ""))

    # -- classification ------------------------------------------------------------------------
    def _schedule_classify(self) -> None:
        if self._classify_job is not None or self._ensure_source():
            return  # called again when the running job ends / the source lands
        h = self._handle
        pending = [e for e in self._entries if e.state == "pending"]
        if h is None or not pending:
            return
        job = self._start_job("classify")
        job.uids = [e.uid for e in pending]
        job.source_serial = h.serial
        self._classify_job = job
        self._run_total += len(pending)
        self._update_progress()
        for e in pending:
            e.state = "running"
            self._update_caption(e)
        emit = _safe(lambda start, preds: self._relay.predictions.emit((job.id, start, preds)))
        run_in_background(_classify_images, h, [e.image for e in pending], self.batch_size,
                          self.topk, emit, progress=self._progress_callback(job),
                          should_stop=job.stop.is_set,
                          on_error=self._alive(self._job_failed, job),
                          on_finished=self._alive(self._job_finished, job))

    def _valid(self, job: _Job) -> bool:
        return job.epoch == self._epoch and self._handle is not None and \
            job.source_serial == self._handle.serial

    def _predictions_arrived(self, payload) -> None:
        job_id, start, predictions = payload
        job = self._jobs.get(job_id)
        if job is None or not self._valid(job):
            return
        current = self.strip.current_uid()
        for j, pred in enumerate(predictions):
            entry = self._by_uid.get(job.uids[start + j])
            if entry is None:
                continue
            entry.prediction = replace(pred, name=entry.name,
                                       path=None if entry.pasted else pred.path)
            entry.state = "done"
            self._run_done += 1
            self._update_caption(entry)
            if entry.uid == current:
                self._show_entry(entry)
        self._update_buttons()
        self._update_progress()
        self.predictionsChanged.emit()

    def _classify_finished(self, job: _Job) -> None:
        if self._classify_job is job:
            self._classify_job = None
        if not self._valid(job):
            self._schedule_classify()
            return
        asked = len(job.uids)
        left = [self._by_uid[u] for u in job.uids
                if u in self._by_uid and self._by_uid[u].state == "running"]
        for e in left:
            e.state = "error" if job.error is not None else "cancelled"
            self._update_caption(e)
        done = asked - len(left)
        if job.error is not None:
            self._show_banner(f"<b>Classification failed:</b> {_escape(str(job.error))}",
                              offer_random=False, error=True)
        elif left:
            self.statusMessage.emit(f"Cancelled: {done} of {asked} images classified")
        else:
            self.statusMessage.emit(f"Classified {asked} image(s) with {self._handle.name} · "
                                    f"{self._handle.label}")
        current = self._by_uid.get(self.strip.current_uid())
        if current is not None:
            self._show_entry(current)
        self.classifyFinished.emit(done, asked)
        self._schedule_classify()

    # -- showing an image ----------------------------------------------------------------------
    def _caption(self, e: _Entry) -> str:
        if e.prediction is not None:
            p = e.prediction.top1_probability
            return f"{p:.1%} {e.prediction.top1}" if p < 0.1 else f"{p:.0%} {e.prediction.top1}"
        return {"pending": "…", "running": "classifying…", "cancelled": "not classified",
                "error": "failed"}.get(e.state, "")

    def _update_caption(self, e: _Entry) -> None:
        tip = e.image.describe()
        if e.prediction is not None:
            tip += "\n" + "\n".join(f"{p:7.2%}  {lb}" for lb, p in
                                    zip(e.prediction.labels, e.prediction.probabilities))
        self.strip.set_caption(e.uid, e.name, self._caption(e), tip)

    def _current_changed(self, uid: int) -> None:
        entry = self._by_uid.get(uid)
        self._show_entry(entry)
        self.features.set_image(uid, entry.image if entry is not None else None)
        self.residual.set_image(uid, entry.image if entry is not None else None)

    def _refresh_current(self) -> None:
        entry = self._by_uid.get(self.strip.current_uid())
        self._show_entry(entry)

    def _show_entry(self, e: _Entry | None) -> None:
        if e is None:
            self.preview_title.setText("")
            self.preview.set_array(None)
            self.preview_details.setText("")
            self.bars.set_message("")
            self.bars.setVisible(False)
            self.preview.setProperty("uid", -1)
            return
        self.bars.setVisible(True)
        if self.preview.property("uid") != e.uid:
            self.preview.set_array(_display_array(e.image))
            self.preview.setProperty("uid", e.uid)
        self.preview_title.setText(f"<b style='font-size:14px'>{_escape(e.name)}</b>")
        im = e.image
        w, h = im.original_size
        facts = [f"{w}×{h}", im.format or "", im.original_mode, *im.notes]
        self.preview_details.setText(f"<span style='color:{MUTED}'>"
                                     f"{_escape(' · '.join(f for f in facts if f))}</span>")
        if e.prediction is not None:
            self.bars.set_prediction(e.prediction.labels, e.prediction.probabilities)
        elif e.state == "pending" and self._handle is None and self._source_job is None:
            self.bars.set_message("Not classified: no weights loaded")
        else:
            self.bars.set_message({"pending": "Waiting for the model…",
                                   "running": "Classifying…",
                                   "cancelled": "Not classified (cancelled)",
                                   "error": "Classification failed"}.get(e.state, ""))

    def _update_buttons(self) -> None:
        self.export_button.setEnabled(any(e.prediction is not None for e in self._entries))
        self.clear_button.setEnabled(bool(self._entries) or self.skipped.count() > 0)
        left = sum(e.state in ("cancelled", "error") for e in self._entries)
        self.resume_button.setVisible(left > 0)
        self.resume_button.setText(f"Classify remaining ({left})")

    # -- layer selection -----------------------------------------------------------------------
    def _apply_pending_layer(self) -> None:
        name, h = self._pending_layer, self._handle
        if not name or h is None:
            return
        self._pending_layer = None
        layers = [n for n, _ in h.layers]
        if name == "stem":
            stem = list(itertools.takewhile(lambda n: "." not in n and not n.startswith("layer"),
                                            layers))
            name = stem[-1] if stem else name
        if name in h.blocks:
            self.residual.select_block(name)
            self.features.select_layer(name)
            if self.views.currentWidget() is not self.residual:
                self.views.setCurrentWidget(self.features)
        elif name in layers:
            self.features.select_layer(name)
            self.views.setCurrentWidget(self.features)
        else:
            self.statusMessage.emit(f"No feature maps for '{name}' (pick a layer or a block)")
