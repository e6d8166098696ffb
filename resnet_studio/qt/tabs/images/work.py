"""The Images tab's background work: three Jobs feeding one `ImagesState`.

Each Job runs one app-layer call at a time in the thread pool:

| Job            | runs                          | one call                                  |
|----------------|-------------------------------|-------------------------------------------|
| `source_job`   | `app.images.open_source`      | load (or download) the model, describe it |
| `loader`       | `app.images.load_step`        | find the files under a drop, or load 8    |
| `classifier`   | `app.classify.classify_batch` | one batch of images                       |

The next load step and the next batch start when the previous call has finished, so
thumbnails and predictions appear as they are made and Cancel takes effect between calls. The
model stays in the shared `ModelSourceCache`; the calls lease it there and send back plain
data (a `SourceInfo`, images and thumbnails, `Prediction`s). Every signal here is emitted on
the GUI thread, which alone touches the state. The module imports no torch.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from resnet_studio.app.classify import classify_batch
from resnet_studio.app.images import DECODE_MAX_SIDE, LoadResult, SourceInfo, load_step, open_source
from resnet_studio.app.images_state import ImagesState, SourceProblem
from resnet_studio.app.model_sources import ModelSourceCache
from resnet_studio.qt.kit.job import Job, LatestJob


class ImagesWork(QObject):
    changed = Signal()  # the state changed: redraw the progress line, actions, source label
    statusMessage = Signal(str)
    sourceLoading = Signal()
    sourceReady = Signal(object)  # SourceInfo
    sourceFailed = Signal(str)  # the error's own text; `state.problem` says what to do
    imagesLoaded = Signal(object, object)  # new ImageEntry list, LoadFailure list
    entriesChanged = Signal(object)  # ImageEntry list: their state or prediction changed
    classifyFailed = Signal(str)

    def __init__(self, state: ImagesState, models: ModelSourceCache,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.state, self.models = state, models
        self.batch_size, self.topk, self.max_side = 32, 5, DECODE_MAX_SIDE
        self.source_job = LatestJob(self, title="Images: loading the model")
        self.loader = Job(self, title="Images: opening images")
        self.classifier = Job(self, title="Images: classifying", heavy=True)
        self.source_job.succeeded.connect(self._source_ready)
        self.source_job.failed.connect(self._source_failed)
        self.source_job.cancelled.connect(self._source_cancelled)
        self.source_job.progressed.connect(self._source_progress)
        self.loader.succeeded.connect(self._loaded)
        self.loader.failed.connect(lambda m: self._load_stopped(f"Images: {m}"))
        self.loader.cancelled.connect(lambda: self._load_stopped(
            f"Loading cancelled after {state.files_loaded} of {state.files_found} files"))
        self.loader.finished.connect(self._load_finished)
        self.classifier.succeeded.connect(
            lambda predictions: self.entriesChanged.emit(state.classified_batch(predictions)))
        self.classifier.failed.connect(self._classify_failed)
        self.classifier.cancelled.connect(
            lambda: self.entriesChanged.emit(state.batch_stopped(failed=False)))
        self.classifier.finished.connect(self._batch_finished)
        for job in (self.source_job, self.loader, self.classifier):
            job.runningChanged.connect(lambda _running: self.changed.emit())

    def is_running(self) -> bool:
        return any(j.is_running() for j in (self.source_job, self.loader, self.classifier))

    # -- requests ------------------------------------------------------------------------------
    def ensure_source(self, *, force: bool = False, needed: bool = False) -> None:
        """Start loading the source the tab should use, if it is not in use or loading. Lazy:
        only when `needed` or there are images; one that failed is retried only when asked
        again (`force`)."""
        wanted = self.state.source_to_load(force=force, needed=needed)
        if wanted is not None:
            self.state.source_loading(*wanted)
            self.sourceLoading.emit()
            self.source_job.start(open_source, self.models, *wanted)
            self.changed.emit()

    def add_paths(self, paths: list[str | Path]) -> None:
        self.state.queue_paths(paths)
        self._start()

    def add_image(self, image, name: str | None = None) -> None:
        self.state.queue_image(image, name)
        self._start()

    def classify_remaining(self) -> None:
        self.entriesChanged.emit(self.state.retry())
        self._next_batch()

    def cancel(self) -> None:
        """Stop loading, classifying and model loading; what is done so far stays."""
        running = [j for j in (self.source_job, self.loader, self.classifier) if j.is_running()]
        for job in running:
            job.cancel()
        self.state.cancelling = bool(running)
        self.entriesChanged.emit(self.state.cancel())

    def clear(self) -> None:
        """Forget the images; what still runs for them is ignored when it ends."""
        self.loader.cancel()
        self.classifier.cancel()
        self.state.clear()
        self.changed.emit()

    # -- the model source -------------------------------------------------------------------------
    def _source_progress(self, done: int, total: int, text: str) -> None:
        self.state.source_progress = (done, total, text)
        self.changed.emit()

    def _source_ready(self, info: SourceInfo) -> None:
        self.state.source_ready(info)
        self.classifier.cancel()  # its predictions come from the previous model
        self.entriesChanged.emit(list(self.state.entries))
        self.statusMessage.emit(f"Images: {info.name} · {info.label}")
        self.sourceReady.emit(info)
        self._next_batch()

    def _source_failed(self, message: str) -> None:
        error = self.source_job.error
        self.state.source_failed(SourceProblem.of(error, message))
        self.sourceFailed.emit(str(error))
        self.statusMessage.emit(f"Images: {message}")
        self.changed.emit()

    def _source_cancelled(self) -> None:
        self.state.source_failed(None)
        self.statusMessage.emit("Loading the model was cancelled")
        self.changed.emit()

    # -- loading and classifying --------------------------------------------------------------------
    def _start(self) -> None:
        self._next_load()
        self.ensure_source(needed=True)
        self.changed.emit()

    def _next_load(self) -> None:
        request = None if self.loader.is_running() else self.state.next_load()
        if request is not None:
            self.loader.start(load_step, request, max_side=self.max_side)

    def _loaded(self, result: LoadResult) -> None:
        self.imagesLoaded.emit(self.state.loaded(result), result.failures)
        self._next_batch()

    def _load_stopped(self, message: str) -> None:
        if self.state.load_in_flight is not None:  # (not after Clear)
            self.statusMessage.emit(message)
        self.state.load_stopped()

    def _load_finished(self) -> None:
        self._next_load()
        s = self.state
        if not self.loader.is_running() and s.files_found and not s.cancelling:
            self.statusMessage.emit(f"Loaded {s.files_found} file(s): {len(s.entries)} images"
                                    + (f", {len(s.skipped)} skipped" if s.skipped else ""))

    def _next_batch(self) -> bool:
        batch = [] if self.classifier.is_running() else self.state.next_batch(self.batch_size)
        if batch:
            self.entriesChanged.emit(batch)
            self.classifier.start(classify_batch, self.models, self.state.source,
                                  [e.record.image for e in batch], topk=self.topk)
        return bool(batch)

    def _classify_failed(self, message: str) -> None:
        self.entriesChanged.emit(self.state.batch_stopped(failed=True))
        self.classifyFailed.emit(message)

    def _batch_finished(self) -> None:
        s, n = self.state, self.state.classified
        if self._next_batch() or not n:
            return
        if s.cancelling:
            self.statusMessage.emit(f"Cancelled: {n} of {n + s.remaining()} images classified")
        elif s.source is not None:
            self.statusMessage.emit(f"Classified {n} image(s) with {s.source.name} · "
                                    f"{s.source.label}")
