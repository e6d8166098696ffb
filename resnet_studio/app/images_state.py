"""What the Images tab shows and what it is doing, as a plain object (no Qt, no torch).

The tab's widgets draw it and its Jobs report into it; tests read it directly:

* the model chosen (`model`, `weights`), the source in use (`source`, a `SourceInfo`), the one
  being loaded (`loading`), and why the last one could not be used (`problem`);
* the images (`entries`, each with its state and prediction) and the files skipped, with
  reasons (`skipped`);
* the work: load steps still to do (`load_queue`), the step in flight (`load_in_flight`), the
  batch being classified (`classifying`), and counters for the progress line.

Entry states: pending (waits for the model) -> running (in a batch) -> done; a batch that is
cancelled or fails leaves its images cancelled / error until "Classify remaining".

Threading: GUI thread only. Workers never see this object; the tab applies their results.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_studio.app.images import (
    ImageRecord,
    LoadRequest,
    LoadResult,
    SourceInfo,
    chunks,
    has_imagenet_weights,
    model_name,
)
from resnet_studio.app.model_sources import model_key
from resnet_studio.app.samples import AUTO, SHIPPED
from resnet_studio.core.images import LoadFailure
from resnet_studio.core.spec import ArchSpec

if TYPE_CHECKING:
    from resnet_studio.core.classify import Prediction

_STATE_CAPTIONS = {"pending": "…", "running": "classifying…", "cancelled": "not classified",
                   "error": "failed"}
_STATE_MESSAGES = {"pending": "Waiting for the model…", "running": "Classifying…",
                   "cancelled": "Not classified (cancelled)", "error": "Classification failed"}


@dataclass
class ImageEntry:
    """One image in the tab: `uid` names it in the views."""

    uid: int
    record: ImageRecord
    state: str = "pending"  # pending | running | done | cancelled | error
    prediction: Prediction | None = None

    @property
    def name(self) -> str:
        return self.record.name

    def caption(self) -> str:
        """The line under the thumbnail: "87% tabby" once classified, else the state."""
        if self.prediction is not None:
            p = self.prediction.top1_probability
            return f"{p:.1%} {self.prediction.top1}" if p < 0.1 else \
                f"{p:.0%} {self.prediction.top1}"
        return _STATE_CAPTIONS.get(self.state, "")

    def tooltip(self) -> str:
        tip = self.record.image.describe()
        if self.prediction is not None:
            tip += "\n" + "\n".join(f"{p:7.2%}  {lb}" for lb, p in
                                    zip(self.prediction.labels, self.prediction.probabilities))
        return tip


@dataclass(frozen=True)
class SourceProblem:
    """Why the weights asked for could not be used. `file` and `folder` are set when ImageNet
    weights are missing and could not be downloaded (where to put the file)."""

    message: str
    file: str | None = None
    folder: str | None = None

    @property
    def offline(self) -> bool:
        return bool(self.file and self.folder)

    @classmethod
    def of(cls, error: BaseException | None, message: str = "") -> SourceProblem:
        file, folder = getattr(error, "file", None), getattr(error, "folder", None)
        return cls(message=message or str(error), file=str(file) if file else None,
                   folder=str(folder) if folder else None)

    def for_window(self) -> str:
        """Core's messages name command-line options; say what to do in the window instead."""
        text = re.sub(r"Use --model (\S+?)\.(?=\s|$)", r"Choose \1 in the Model sidebar.",
                      self.message)
        return text.replace(" Pass allow_partial (--partial) to load what fits.", "")


class ImagesState:
    def __init__(self) -> None:
        self.model: str | ArchSpec | None = None
        # auto (ImageNet weights if on this machine, else the shipped trained ResNet-20) |
        # shipped (that net) | imagenet | random | a checkpoint / state_dict path
        self.weights = AUTO
        self.pinned = False  # a checkpoint the window chose (`use_checkpoint`): model changes
        # in the sidebar do not replace it
        self.source: SourceInfo | None = None  # in use
        self.loading: tuple[str, str] | None = None  # key of the source being loaded
        self.failed: tuple[str, str] | None = None  # not retried until asked again
        self.problem: SourceProblem | None = None  # why `failed` failed (None: cancelled)
        self.source_progress: tuple[int, int, str] | None = None
        self.entries: list[ImageEntry] = []
        self.skipped: list[LoadFailure] = []
        self.load_queue: deque[LoadRequest] = deque()
        self.load_in_flight: LoadRequest | None = None
        self.classifying: list[int] = []  # uids of the batch in flight
        self.files_found = self.files_loaded = 0  # since the tab was last idle
        self.classified = 0  # since the tab was last idle
        self.cancelling = False
        self._by_uid: dict[int, ImageEntry] = {}
        self._next_uid = 1
        self._pasted = 0

    # -- the model ---------------------------------------------------------------------------
    def choose_model(self, model: str | ArchSpec) -> bool:
        """The model picked in the sidebar; a weights file picked for the previous model is
        dropped (automatic weights again), and so is a checkpoint the window chose
        (`choose_checkpoint`) unless this is the sidebar's first model. False: nothing to load
        again."""
        if self.model is not None and model_key(model, None) == model_key(self.model, None):
            return False
        first, self.model = self.model is None, model
        if self.pinned and first:  # the sidebar's first model arrives after "Use in…"
            return False
        self.pinned = False
        if self.weights not in ("imagenet", "random", AUTO, SHIPPED):
            self.weights = AUTO
        self.failed = self.problem = None
        return True

    def choose_weights(self, weights: str) -> None:
        self.weights, self.pinned = str(weights), False
        self.failed = self.problem = None

    def choose_checkpoint(self, path: str) -> None:
        """An app checkpoint (it carries its own spec) as the model, whatever the sidebar
        shows, until other weights or another model are chosen."""
        self.choose_weights(path)
        self.pinned = True

    def effective_weights(self) -> str:
        """ImageNet weights where torchvision has them; random weights elsewhere."""
        if self.weights == "imagenet" and self.model is not None and \
                not has_imagenet_weights(self.model):
            return "random"
        return self.weights

    def weights_choice(self) -> str:
        """imagenet | shipped | random | file: what the weights picker shows ("auto" shows
        what it stands for, once known)."""
        w = self.effective_weights()
        if w == AUTO:
            s = self.source
            if s is not None and s.requested == self.wanted_key():
                return "shipped" if s.shipped else "imagenet"
            return "imagenet" if self.model is not None and has_imagenet_weights(self.model) \
                else "shipped"
        if w == SHIPPED or self.source is not None and self.source.shipped and \
                self.source.weights == w:
            return "shipped"
        return w if w in ("imagenet", "random") else "file"

    def wanted(self) -> tuple[str | ArchSpec | None, str] | None:
        """(model, weights) the tab should use, or None without a model. A checkpoint the
        window chose carries its own spec (model None)."""
        if self.pinned:
            return None, self.weights
        return None if self.model is None else (self.model, self.effective_weights())

    def wanted_key(self) -> tuple[str, str] | None:
        wanted = self.wanted()
        return None if wanted is None else model_key(*wanted)

    def source_to_load(self, *, force: bool = False, needed: bool = False) -> \
            tuple[str | ArchSpec, str] | None:
        """(model, weights) to start loading now, or None: in use already, loading already,
        not needed yet (nothing to classify and `needed` False), or failed before (retried
        only when `force`d)."""
        key = self.wanted_key()
        if key is None or self.loading == key or (self.source is not None and
                                                  self.source.requested == key):
            return None
        if not force and (key == self.failed or not (needed or self.entries)):
            return None
        return self.wanted()

    def source_loading(self, model: str | ArchSpec, weights: str) -> None:
        self.loading = model_key(model, weights)
        self.source_progress = None

    def source_ready(self, info: SourceInfo) -> None:
        """A source loaded: every image is classified again with it."""
        self.loading, self.source, self.failed, self.problem = None, info, None, None
        self.classifying = []  # whatever is in flight comes from the previous model
        self.classified = 0
        for e in self.entries:
            e.state, e.prediction = "pending", None

    def source_failed(self, problem: SourceProblem | None) -> None:
        """The source being loaded failed (`problem`) or was cancelled (None). A weights file
        that did not fit is forgotten: the picker goes back to what is in use."""
        self.failed, self.loading, self.problem = self.loading, None, problem
        if problem is not None and self.weights not in ("imagenet", "random", AUTO, SHIPPED):
            same_model = self.source is not None and self.model is not None and \
                self.source.key[0] == model_key(self.model, None)[0]
            self.weights = self.source.weights if same_model else AUTO
            self.pinned = False

    def source_is_wanted(self) -> bool:
        return self.source is not None and self.source.requested == self.wanted_key()

    def model_name(self) -> str:
        if self.pinned:
            return Path(self.weights).stem
        return model_name(self.model)

    # -- images --------------------------------------------------------------------------------
    def queue_paths(self, paths) -> None:
        self.cancelling = False  # new work after a Cancel is wanted
        self.load_queue.append(LoadRequest(paths=tuple(str(p) for p in paths)))

    def queue_image(self, image, name: str | None = None) -> str:
        """An image from memory (the clipboard); returns the name it is shown under."""
        self._pasted += 1
        self.cancelling = False
        name = name or f"Pasted image {self._pasted}"
        self.load_queue.append(LoadRequest(image=image, name=name))
        return name

    def next_load(self) -> LoadRequest | None:
        if self.load_in_flight is not None or not self.load_queue:
            return None
        self.load_in_flight = self.load_queue.popleft()
        return self.load_in_flight

    def loaded(self, result: LoadResult) -> list[ImageEntry]:
        """A load step's result; returns the new entries (none if the tab was cleared)."""
        request, self.load_in_flight = self.load_in_flight, None
        if request is None:
            return []
        if result.found:  # a folder's files load before what was queued after it
            self.load_queue.extendleft(reversed(chunks(result.found)))
            self.files_found += len(result.found)
        self.files_loaded += len(request.files)
        self.skipped += result.failures
        state = "cancelled" if self.cancelling else "pending"
        new = [ImageEntry(uid=self._uid(), record=r, state=state) for r in result.images]
        for e in new:
            self.entries.append(e)
            self._by_uid[e.uid] = e
        return new

    def load_stopped(self) -> None:
        """The load step in flight was cancelled or failed."""
        self.load_in_flight = None

    def entry(self, uid: int) -> ImageEntry | None:
        return self._by_uid.get(uid)

    # -- classification ----------------------------------------------------------------------------
    def next_batch(self, size: int) -> list[ImageEntry]:
        """Up to `size` waiting images, now running; none without a model, while another one
        loads, or while a batch is in flight."""
        if self.source is None or self.loading is not None or self.classifying:
            return []
        batch = [e for e in self.entries if e.state == "pending"][:size]
        for e in batch:
            e.state = "running"
        self.classifying = [e.uid for e in batch]
        return batch

    def classified_batch(self, predictions: list[Prediction]) -> list[ImageEntry]:
        """The batch in flight came back; returns the entries that got a prediction."""
        uids, self.classifying = self.classifying, []
        done = []
        for uid, p in zip(uids, predictions):
            e = self._by_uid.get(uid)
            if e is None:
                continue
            e.prediction = replace(p, index=self.entries.index(e), name=e.name,
                                   path=None if e.record.pasted else p.path)
            e.state = "done"
            done.append(e)
        self.classified += len(done)
        return done

    def batch_stopped(self, *, failed: bool) -> list[ImageEntry]:
        """The batch in flight was cancelled (or failed): its images wait for "Classify
        remaining"."""
        uids, self.classifying = self.classifying, []
        stopped = [e for u in uids if (e := self._by_uid.get(u)) is not None and
                   e.state == "running"]
        for e in stopped:
            e.state = "error" if failed else "cancelled"
        return stopped

    def cancel(self) -> list[ImageEntry]:
        """Stop: queued loads are dropped, waiting images are not classified. Returns the
        entries whose state changed (the batch in flight stops when its Job says so)."""
        self.load_queue.clear()
        waiting = [e for e in self.entries if e.state == "pending"]
        for e in waiting:
            e.state = "cancelled"
        return waiting

    def retry(self) -> list[ImageEntry]:
        """Cancelled and failed images wait for the model again."""
        self.cancelling = False
        again = [e for e in self.entries if e.state in ("cancelled", "error")]
        for e in again:
            e.state = "pending"
        return again

    def clear(self) -> None:
        """No images, no skipped files, nothing queued; what is in flight is ignored."""
        self.entries.clear()
        self._by_uid.clear()
        self.skipped.clear()
        self.load_queue.clear()
        self.load_in_flight = None
        self.classifying = []
        self.files_found = self.files_loaded = self.classified = 0

    def idle(self) -> None:
        """Nothing runs any more: the progress counters start again."""
        self.files_found = self.files_loaded = self.classified = 0
        self.cancelling = False
        self.source_progress = None

    # -- reads ---------------------------------------------------------------------------------
    def predictions(self) -> list[Prediction]:
        """The predictions shown, in image order."""
        return [e.prediction for e in self.entries if e.prediction is not None]

    def remaining(self) -> int:
        """Images a cancelled or failed run left out."""
        return sum(e.state in ("cancelled", "error") for e in self.entries)

    def message_for(self, entry: ImageEntry) -> str:
        """What the prediction bars say when there is no prediction."""
        if entry.prediction is not None:
            return ""
        if entry.state == "pending" and self.source is None and self.loading is None:
            return "Not classified: no weights loaded"
        return _STATE_MESSAGES.get(entry.state, "")

    def progress(self) -> tuple[str, int, int]:
        """One line for everything running, and the bar's (done, total); total 0: busy."""
        parts: list[str] = []
        bar = (0, 0)
        if self.loading is not None:
            done, total, text = self.source_progress or (0, 0, "")
            if text.startswith("downloading"):
                size = f"{done / 1e6:.1f} of {total / 1e6:.1f} MB" if total else \
                    f"{done / 1e6:.1f} MB"
                text = f"Downloading {text.split(' ', 1)[1]}: {size}"
            parts.append(text or "Loading the model…")
            bar = (done, total) if total > 0 else bar
        if self.load_in_flight is not None or self.load_queue:
            if self.files_found:
                parts.append(f"Loading files: {self.files_loaded} of {self.files_found}")
                bar = (self.files_loaded, self.files_found)
            else:
                parts.append("Loading images…")
        if self.classifying or self.classified:
            total = self.classified + sum(e.state in ("pending", "running") for e in self.entries)
            parts.append(f"Classified {self.classified} of {total}")
            bar = (self.classified, total)
        if self.cancelling:
            parts = ["Cancelling…"]
        return " · ".join(parts), bar[0], bar[1]

    def _uid(self) -> int:
        self._next_uid += 1
        return self._next_uid - 1
