"""One cache of loaded models for every view and command that needs weights.

The Images and Attributions tabs (and a notebook session) ask for the same models: a ResNet-50
with ImageNet weights, its plain twin with random ones, a checkpoint. Loading one reads or
downloads up to hundreds of MB, so it happens once; the most recently used `size` models stay.

Threading: `get` and `lease` may be called from any worker thread. Two threads asking for the
same model share one load (the second waits). A source's module is shared, and feature maps and
attribution methods put hooks on it, so a job that runs the model holds a `lease`: one job at a
time per model, others wait their turn.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_studio.core.common.progress import Progress, ProgressFn

if TYPE_CHECKING:
    from resnet_studio.core.spec import ArchSpec
    from resnet_studio.core.weights import ModelSource

DEFAULT_SIZE = 4  # a model, its plain twin, a checkpoint and one more


def model_key(model: str | ArchSpec | None, weights: str | Path | None,
              allow_partial: bool = False) -> tuple[str, str, bool]:
    if model is None:
        name = ""
    elif isinstance(model, str):
        name = model
    else:
        name = f"spec:{model.to_json(indent=None)}"
    return name, "" if weights is None else str(weights), allow_partial


@dataclass
class _Entry:
    lock: threading.RLock = field(default_factory=threading.RLock)
    source: Any = None


class ModelSourceCache:
    def __init__(self, size: int = DEFAULT_SIZE):
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str, bool], _Entry] = OrderedDict()

    def get(self, model: str | ArchSpec | None, weights: str | Path | None = None, *,
            allow_partial: bool = False, download: bool = True,
            progress: Progress | ProgressFn | None = None) -> ModelSource:
        """The loaded model (see `core.weights.load_model_source` for `weights` and
        `allow_partial`: a state_dict's tensors that fit, the rest random)."""
        from resnet_studio.core.weights import load_model_source

        entry = self._entry(model_key(model, weights, allow_partial))
        with entry.lock:  # one load per key; a second caller waits for the first
            if entry.source is None:
                prog = Progress.of(progress)
                entry.source = load_model_source(model, weights, allow_partial=allow_partial,
                                                 download=download, progress=prog,
                                                 should_stop=lambda: prog.cancelled)
            return entry.source

    @contextlib.contextmanager
    def lease(self, model: str | ArchSpec | None, weights: str | Path | None = None, *,
              allow_partial: bool = False, download: bool = True,
              progress: Progress | ProgressFn | None = None) -> Iterator[ModelSource]:
        """The model, for this job alone while the `with` block runs (hooks are safe)."""
        source = self.get(model, weights, allow_partial=allow_partial, download=download,
                          progress=progress)
        entry = self._entry(model_key(model, weights, allow_partial))
        with entry.lock:
            yield source

    def cached(self, model: str | ArchSpec | None, weights: str | Path | None = None,
               allow_partial: bool = False) -> bool:
        with self._lock:
            entry = self._entries.get(model_key(model, weights, allow_partial))
            return entry is not None and entry.source is not None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _entry(self, key: tuple[str, str, bool]) -> _Entry:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry()
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)  # a lease in progress keeps its own reference
            return entry
