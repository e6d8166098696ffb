"""Exports to the tools users already run: a model as ONNX (Netron, onnxruntime) or TorchScript,
a recorded run as TensorBoard event files. `resnet-studio export` and `runs export
--tensorboard` call these; so can a notebook.

* ONNX: `torch.onnx.export` (the dynamo exporter, which needs `onnxscript`), opset
  `ONNX_OPSET`, one input `image` (N x C x H x W, the batch dimension dynamic) and one output
  `logits`. Optional extra `export` (`pip install 'resnet-studio[export]'`).
* TorchScript: `torch.jit.trace` on one image (the nets have no data-dependent control flow),
  loadable with `torch.jit.load` without this app. PyTorch marks TorchScript deprecated; the
  files still load in the PyTorch releases this app supports.
* TensorBoard: `torch.utils.tensorboard.SummaryWriter` (optional extra `tensorboard`), one
  folder per run under the folder given (`tensorboard --logdir DIR` lists them side by side):
  every metric the store holds as a scalar by step, and the run's config as hparams.

Model files are written through `core.common.files` (atomically, through symlinks, into pipes
and devices, `-` for standard output). Importing this module imports no torch.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_studio.app.extras import require
from resnet_studio.core.common.files import write_bytes_atomic
from resnet_studio.core.common.progress import Progress

if TYPE_CHECKING:
    from resnet_studio.app.runs import RunHistory
    from resnet_studio.core.weights import ModelSource

ONNX_OPSET = 18
INPUT_NAME, OUTPUT_NAME = "image", "logits"
# the hparams' metrics: the run's last value of each, shown beside its settings
HPARAM_METRICS = ("train/loss", "train/error", "val/loss", "val/error")


def example_input(source: ModelSource, input_shape: tuple[int, int, int] | None = None):
    """One N(0, 1) image of the model's own input size (or `input_shape`), seed 0."""
    import torch

    c, h, w = input_shape or source.spec.default_input
    if c != source.spec.in_channels:
        raise ValueError(f"{source.spec.name} takes {source.spec.in_channels} input channels, "
                         f"not {c}")
    if min(h, w) < source.spec.min_input_side:
        raise ValueError(f"an input of {h}x{w} is too small for {source.spec.name} (at least "
                         f"{source.spec.min_input_side}x{source.spec.min_input_side})")
    return torch.randn(1, c, h, w, generator=torch.Generator().manual_seed(0))


def onnx_bytes(source: ModelSource, input_shape: tuple[int, int, int] | None = None) -> bytes:
    """The model as an ONNX file's bytes (see the module doc); ImportError naming the extra
    (MissingExtra) when onnx or onnxscript is missing."""
    import torch

    for package in ("onnx", "onnxscript"):
        require(package, "export")
    x = example_input(source, input_shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on its own internals
        program = torch.onnx.export(
            source.model, (x,), dynamo=True, opset_version=ONNX_OPSET, verbose=False,
            input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: torch.export.Dim("batch")},))
    return program.model_proto.SerializeToString()


def torchscript_bytes(source: ModelSource,
                      input_shape: tuple[int, int, int] | None = None) -> bytes:
    """The model traced to TorchScript, as the bytes `torch.jit.save` writes."""
    import torch

    x = example_input(source, input_shape)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "torch.jit is deprecated"
        traced = torch.jit.trace(source.model, x)
        torch.jit.save(traced, buf)
    return buf.getvalue()


def export_model(source: ModelSource, *, onnx: str | Path | None = None,
                 torchscript: str | Path | None = None,
                 input_shape: tuple[int, int, int] | None = None,
                 progress: Progress | None = None) -> list[str]:
    """Write the files asked for; returns what was written, as given."""
    if onnx is None and torchscript is None:
        raise ValueError("name a file to write: --onnx FILE and/or --torchscript FILE")
    if str(onnx) == "-" and str(torchscript) == "-":
        raise ValueError("--onnx - and --torchscript - both write to standard output; choose one")
    progress = Progress.of(progress)
    written = []
    for path, make, what in ((onnx, onnx_bytes, "ONNX"),
                             (torchscript, torchscript_bytes, "TorchScript")):
        if path is None:
            continue
        progress(len(written), 2, f"exporting {source.spec.name} as {what}")
        write_bytes_atomic(path, make(source, input_shape))
        written.append(str(path))
    return written


# -- a run, for TensorBoard --------------------------------------------------------------------

@dataclass(frozen=True)
class TensorBoardExport:
    run_id: str
    folder: Path  # the run's folder of event files
    scalars: int  # points written
    tags: tuple[str, ...]


def hparams_of(record) -> dict[str, Any]:
    """The run's settings as TensorBoard takes them (numbers, text, booleans): the model, the
    dataset and every config field that has a value."""
    out: dict[str, Any] = {"model": record.model, "dataset": record.dataset,
                           "shortcut": record.spec.get("shortcut", "")}
    for key, value in sorted(record.config.items()):
        if value is None or key in out:
            continue
        out[key] = value if isinstance(value, (bool, int, float, str)) else str(value)
    return out


def export_tensorboard(history: RunHistory, ref: str, folder: str | Path) -> TensorBoardExport:
    """Write run `ref`'s metrics and settings as TensorBoard event files into `folder/<run id>`
    (a second export of the same run replaces the first). Wall times are spread over the
    run's recorded start and last update in proportion to the step: the store keeps no time
    per point. KeyError for an unknown run; MissingExtra (an ImportError) without tensorboard."""
    if str(folder) == "-":
        raise ValueError("TensorBoard reads a folder of event files; name a folder, not -")
    require("tensorboard", "tensorboard")
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import hparams

    record = history.get(ref)
    metrics = history.store.metrics(record.id)
    target = Path(folder) / record.id
    if Path(folder).exists() and not Path(folder).is_dir():
        raise NotADirectoryError(f"cannot write TensorBoard files into {folder}: it is not a "
                                 "folder")
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("events.out.tfevents.*"):
        old.unlink()
    last_step = max([s for points in metrics.values() for s, _ in points] or [1]) or 1
    span = max(record.updated - record.created, 0.0)
    writer = SummaryWriter(str(target))
    points = 0
    try:
        for tag in sorted(metrics):
            for step, value in metrics[tag]:
                if value is None:
                    continue
                writer.add_scalar(tag, value, step,
                                  walltime=record.created + span * step / last_step)
                points += 1
        last = {tag: metrics[tag][-1][1] for tag in HPARAM_METRICS
                if metrics.get(tag) and metrics[tag][-1][1] is not None}
        for summary in hparams(hparams_of(record), last):
            writer.file_writer.add_summary(summary)
    finally:
        writer.close()
    return TensorBoardExport(run_id=record.id, folder=target, scalars=points,
                             tags=tuple(sorted(metrics)))


__all__ = ["HPARAM_METRICS", "INPUT_NAME", "ONNX_OPSET", "OUTPUT_NAME", "TensorBoardExport",
           "example_input", "export_model", "export_tensorboard", "hparams_of",
           "onnx_bytes", "torchscript_bytes"]
