"""Classify images: the use case under the Images tab and `resnet-studio classify`.

Both front-ends decode files the same way (`app.images.DECODE_MAX_SIDE`), run
`core.classify.classify` on them and write the same CSV, so the same files and weights give
the same predictions in the window and on the command line.

* `classify_files(paths, source)` — the command line: files and folders in, decoded and
  classified a batch at a time (memory stays bounded), files that fail listed with reasons.
* `classify_batch(models, info, images)` — the window: one batch of images it already shows,
  the model leased from the shared `ModelSourceCache`. The tab runs one batch per Job, so
  predictions appear as they are made and Cancel takes effect between batches.

Threading: both run in a worker (a Job's thread, or the command's main thread) and return
plain data: `Prediction`s (numbers and strings), `LoadFailure`s. Every progress report is a
cancellation point.

Imports no torch at module level: the window imports this module at start-up.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_studio.app.images import DECODE_MAX_SIDE, SourceInfo
from resnet_studio.core.common.progress import Progress, ProgressFn
from resnet_studio.core.images import ImageLoadError, LoadedImage, LoadFailure

if TYPE_CHECKING:
    from resnet_studio.app.model_sources import ModelSourceCache
    from resnet_studio.core.classify import Prediction
    from resnet_studio.core.weights import ModelSource

CSV_HEADER = ("image", "path", "rank", "class_index", "label", "probability")
# Images decoded and classified at once. 16 rather than 32: on a 2-core CPU ResNet-18/50 classify
# no faster in batches of 32 (measured), while their forward pass at 224x224 holds twice the
# activations (ResNet-18: 280 MB above the loaded model at the peak instead of 160 MB; over a
# folder, `resnet-studio classify` peaks at 1.10 GB instead of 0.95 GB).
BATCH_SIZE = 16


@dataclass
class ClassifyResult:
    """Predictions for the files that loaded, in order, and the files that did not."""

    predictions: list[Prediction] = field(default_factory=list)
    notes: list[tuple[str, ...]] = field(default_factory=list)  # per prediction: what loading did
    failures: list[LoadFailure] = field(default_factory=list)
    model: str = ""  # the architecture's name ("" if no image loaded: no model was needed)
    weights: str = ""  # the source's label
    kind: str = ""
    preprocess: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The `classify --json` document."""
        return {"model": self.model, "weights": self.weights, "kind": self.kind,
                "preprocess": self.preprocess,
                "predictions": [dict(p.to_dict(), notes=list(n))
                                for p, n in zip(self.predictions, self.notes)],
                "failures": [f.to_dict() for f in self.failures]}


def classify_files(paths: Sequence[str | Path],
                   source: ModelSource | Callable[[], ModelSource], *, topk: int = 5,
                   batch_size: int = BATCH_SIZE, max_side: int = DECODE_MAX_SIDE, device: Any = None,
                   progress: Progress | ProgressFn | None = None) -> ClassifyResult:
    """Decode and classify image files (folders searched recursively), `batch_size` at a time:
    only one batch of decoded images is alive at once, whatever the number of files.

    `source` may be a function that loads it: it is called once the first image has loaded,
    so a drop of unreadable files never downloads weights. A batch whose decoded images or
    activations cannot fit in memory is refused before it is decoded (BudgetError)."""
    from resnet_studio.core.classify import classify
    from resnet_studio.core.images import expand_image_paths, load_image

    if topk < 1:
        raise ValueError("topk must be at least 1")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    progress = Progress.of(progress)
    files, failures = expand_image_paths(paths)
    check_decoding_memory(min(batch_size, len(files)), max_side)
    result = ClassifyResult(failures=failures)
    loaded_source: ModelSource | None = None
    for start in range(0, len(files), batch_size):
        batch: list[LoadedImage] = []
        for f in files[start:start + batch_size]:
            progress(start + len(batch), len(files), f"loading {f.name}")
            try:
                batch.append(load_image(f, max_side=max_side))
            except ImageLoadError as e:
                result.failures.append(e.to_failure())
        if not batch:
            continue
        if loaded_source is None:
            loaded_source = source() if callable(source) else source
            _describe(result, loaded_source)
        first = len(result.predictions)
        predictions = classify(loaded_source, batch, topk=topk, batch_size=batch_size,
                               device=device)
        result.predictions += [_renumber(p, first + i) for i, p in enumerate(predictions)]
        result.notes += [im.notes for im in batch]
        progress(min(start + batch_size, len(files)), len(files),
                 f"classified {len(result.predictions)} of {len(files)} images")
    return result


def check_decoding_memory(count: int, max_side: int | None) -> None:
    """BudgetError if `count` decoded images at most `max_side` on their longer side (RGB, the
    decoder's pixel cap without one) cannot fit in the available memory."""
    from resnet_studio.core.common.budget import check_memory
    from resnet_studio.core.images import DEFAULT_MAX_PIXELS

    pixels = min(max_side * max_side, DEFAULT_MAX_PIXELS) if max_side else DEFAULT_MAX_PIXELS
    need = count * 3 * pixels
    check_memory(f"decoding {count:,} images at a time", need, {"decoded images": need},
                 advice="Use a smaller batch (--batch-size)")


def classify_batch(models: ModelSourceCache, info: SourceInfo, images: Sequence[LoadedImage],
                   *, topk: int = 5,
                   progress: Progress | ProgressFn | None = None) -> list[Prediction]:
    """Top-k predictions for a batch of loaded images with the model `info` describes, leased
    from `models` (classification waits while a feature view holds the model, and vice
    versa)."""
    from resnet_studio.core.classify import classify

    with info.lease(models, progress) as source:
        return classify(source, images, topk=topk, batch_size=max(1, len(images)))


def _describe(result: ClassifyResult, source: ModelSource) -> None:
    result.model, result.weights, result.kind = source.spec.name, source.label, source.kind
    result.preprocess = source.preprocess.to_dict()


def _renumber(prediction: Prediction, index: int) -> Prediction:
    return replace(prediction, index=index)


# -- exports ---------------------------------------------------------------------------------------

def predictions_to_csv(predictions: Sequence[Prediction]) -> str:
    """One row per (image, rank): image,path,rank,class_index,label,probability."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)
    for pred in predictions:
        for rank, (c, lb, p) in enumerate(zip(pred.classes, pred.labels, pred.probabilities), 1):
            w.writerow([pred.name, pred.path or "", rank, c, lb, f"{p:.6f}"])
    return buf.getvalue()


def write_predictions_csv(path: str | Path, predictions: Sequence[Prediction]) -> None:
    """The CSV above, written atomically (the tab's Export and `classify --csv`)."""
    from resnet_studio.core.common.files import write_text_atomic

    write_text_atomic(Path(path), predictions_to_csv(predictions))
