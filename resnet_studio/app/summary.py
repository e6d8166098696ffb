"""Inspecting a model: a spec and an input size (as the user typed it) in, a `ModelSummary` out.

One path for the window (the sidebar's model, inspected by `MainWindow` for every tab) and for
`resnet-studio summary`, so both show the same numbers for the same request:

1. the typed size is parsed (`parse_input`: "3,32,32", "3x32x32", "1 × 28 × 28"; empty means
   the model's own input);
2. the model is adapted to the input's channels (`fit_spec_to_input`): a 1-channel dataset
   such as MNIST works with any preset, its first conv taking one channel;
3. `core.inspect.summarize` computes every layer from the spec's geometry (no torch, no
   weights: ResNet-1202 in about 20 ms).

The layer table's exports (CSV and JSON), shared by the Architecture tab and `summary
--csv/--json`, and the table's share-of-total texts live here too. `estimate_memory` adds what
training the model takes (core.training_memory, traced on meta tensors: this one imports torch
when called) and the largest batch that fits a budget the user typed (`parse_size`).

Imports no torch at all: the window shows a model before PyTorch has loaded.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_studio.core.common.budget import size_text
from resnet_studio.core.common.files import write_text_atomic
from resnet_studio.core.common.formatting import compact, millions, shape_text
from resnet_studio.core.common.progress import Progress
from resnet_studio.core.summary import LayerRow, ModelSummary, Shape
from resnet_studio.core.training_memory import TrainingMemory
from resnet_studio.core.zoo import with_io

if TYPE_CHECKING:
    from resnet_studio.core.spec import ArchSpec

_SEPARATORS = re.compile(r"[,;x×\s]+")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgtp]?)(i?)(b?)\s*$", re.IGNORECASE)
MAX_BUDGET = 2**60  # an exbibyte: past any machine, and far below float rounding trouble


def parse_input(text: str | None) -> Shape | None:
    """ "3,32,32", "3x32x32" or "1 × 28 × 28" -> (C, H, W); empty -> None (the model's own).

    Raises ValueError with one line for the user when the text is not three positive numbers."""
    text = (text or "").strip()
    if not text:
        return None
    parts = [p for p in _SEPARATORS.split(text.lower()) if p]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"input '{text}' is not three whole numbers C,H,W, "
                         "e.g. 3,32,32") from None
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input '{text}' needs three positive numbers C,H,W: channels, "
                         "height, width")
    return shape


def fit_spec_to_input(spec: ArchSpec, input_shape: Shape | None) -> ArchSpec:
    """`spec` with its first conv taking the input's channels (e.g. 1-channel MNIST into any
    preset); unchanged when no size is given or the channels already match."""
    if input_shape and input_shape[0] != spec.in_channels:
        return with_io(spec, in_channels=input_shape[0])
    return spec


def inspect_model(spec: ArchSpec, input_shape: str | Shape | None = None, *,
                  progress: Progress | None = None) -> ModelSummary:
    """Per-layer table and block graph of `spec` at `input_shape` (typed text, a C,H,W tuple or
    None for the model's own), from the spec's geometry: no weight is allocated.

    Raises ValueError (`InputTooSmall` among them) for an impossible spec or input. Runs in a
    worker thread in the window; `progress` is a cancellation point before the work starts."""
    from resnet_studio.core.inspect import summarize

    shape = parse_input(input_shape) if isinstance(input_shape, str) else input_shape
    spec = fit_spec_to_input(spec, shape)
    progress = Progress.of(progress)
    progress(0, 1, f"Inspecting {spec.name}…")
    summary = summarize(spec, shape)
    progress(1, 1, f"Inspected {spec.name}")
    return summary


# -- training memory ------------------------------------------------------------------------
def parse_size(text: str | int) -> int:
    """ "8GiB", "8 GB", "512MiB", "1.5T", "8000000000" -> bytes. KB/MB/GB/TB are powers of
    1000, KiB/MiB/GiB/TiB and a bare K/M/G/T powers of 1024. ValueError with one line."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        m = _SIZE.match(str(text))
        if not m:
            raise ValueError(f"memory budget '{text}' is not a size such as 8GiB, 16GB or "
                             "500MB")
        number, prefix, binary, unit = m.groups()
        power = " KMGTP".index(prefix.upper() or " ")
        base = 1000 if (unit and not binary and prefix) else 1024
        value = int(float(number) * base**power)
    if not 1 <= value <= MAX_BUDGET:
        raise ValueError(f"memory budget '{text}' must be between 1 byte and 1 EiB")
    return value


@dataclass(frozen=True)
class MemoryReport:
    """What one training step of the summary's model takes, and, for a budget, the largest
    batch whose step fits in it (0: not even one image)."""

    memory: TrainingMemory
    budget: int | None = None
    largest_batch: int | None = None

    def to_dict(self) -> dict:
        return {**self.memory.to_dict(), "budget": self.budget,
                "largest_batch": self.largest_batch}

    def lines(self) -> list[str]:
        """The report in words, as `summary --memory` prints it."""
        m = self.memory
        optimizer = {"sgd": "SGD with momentum", "adamw": "AdamW"}[m.optimizer]
        precision = "float32" if m.precision == "fp32" else "bf16 autocast"
        out = [f"training memory at batch {m.batch_size:,}, {precision}, {optimizer}: "
               f"peak about {size_text(m.total)}",
               f"  parameters {size_text(m.parameters)} · gradients {size_text(m.gradients)} · "
               f"optimizer state {size_text(m.optimizer_state)} · saved activations "
               f"{size_text(m.activations)}",
               f"  at the backward pass's peak: activations still saved "
               f"{size_text(m.peak_activations)}, gradients so far "
               f"{size_text(m.peak_gradients)}, gradients in flight {size_text(m.backward)}"]
        if self.budget is not None:
            fits = (f"batch {self.largest_batch:,}" if self.largest_batch
                    else "not even batch 1")
            out.append(f"largest batch in {size_text(self.budget)}: {fits}")
        return out


def estimate_memory(summary: ModelSummary, batch_size: int = 64, *, precision: str = "fp32",
                    optimizer: str = "sgd", budget: str | int | None = None,
                    progress: Progress | None = None) -> MemoryReport:
    """Training memory of the summary's model at its input (meta tensors: no weights, no
    compute), and with `budget` (bytes or text such as "8GiB") the largest batch that fits.

    Raises ValueError for a bad batch, precision, optimiser or budget."""
    from resnet_studio.core.training_memory import check_request, largest_batch, training_memory

    check_request(batch_size, precision, optimizer)
    limit = None if budget is None or budget == "" else parse_size(budget)
    progress = Progress.of(progress)
    progress(0, 1, f"Estimating the training memory of {summary.spec.name}…")
    memory = training_memory(summary.spec, summary.input_shape, batch_size, precision, optimizer,
                             summary=summary)
    most = None
    if limit is not None:
        most = largest_batch(summary.spec, limit, summary.input_shape, precision, optimizer)
    progress(1, 1, f"Estimated the training memory of {summary.spec.name}")
    return MemoryReport(memory, limit, most)


# -- what the table shows -------------------------------------------------------------------
def row_label(row: LayerRow) -> str:
    """The layer's name, with the call number from the second call on: "layer1.0.relu (2)"."""
    return row.name if row.call == 1 else f"{row.name} ({row.call})"


def share(part: int, total: int) -> float:
    """`part` as a percentage of `total` (0 for an empty total)."""
    return 100.0 * part / total if total else 0.0


def share_text(pct: float) -> str:
    """A percentage as the table shows it: "0%", "<0.01%", "3.42%", "12.5%"."""
    if pct == 0:
        return "0%"
    if pct < 0.01:
        return "<0.01%"
    return f"{pct:.2f}%" if pct < 10 else f"{pct:.1f}%"


def totals_text(summary: ModelSummary, shown: list[LayerRow] | None = None) -> str:
    """The table's footer: layer count, totals and shapes; with `shown` (the rows a filter
    keeps), a second line with their share of the parameters and MACs."""
    s = summary
    text = (f"{len(s.layers):,} modules ({s.spec.depth:,} weighted layers) · "
            f"{millions(s.total_params)} params ({s.total_params:,}) · {compact(s.total_macs)} MACs · "
            f"input {shape_text(s.input_shape)} → output {shape_text(s.output_shape)}")
    if shown is not None:
        p = share(sum(r.params for r in shown), s.total_params)
        m = share(sum(r.macs for r in shown), s.total_macs)
        text += (f"\nshowing {len(shown):,} row{'s' if len(shown) != 1 else ''}: "
                 f"{p:.1f}% of params, {m:.1f}% of MACs")
    return text


# -- exports --------------------------------------------------------------------------------
CSV_COLUMNS = ("name", "type", "output_shape", "params", "macs", "params_pct", "macs_pct",
               "detail", "block", "stage", "rf", "jump")
MEMORY_COLUMN = "saved_bytes"  # with a memory report: what each layer saves for backward


def layers_csv(summary: ModelSummary, memory: MemoryReport | None = None) -> str:
    """The layer table as CSV (every layer, whatever a view filters), each row's share of the
    totals, receptive field and effective stride (empty after the global pooling), with a
    memory report the bytes each layer saves for backward; a TOTAL row last."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    saved = [m.activations for m in memory.memory.layers] if memory else None
    w.writerow(CSV_COLUMNS + ((MEMORY_COLUMN,) if saved else ()))
    tp, tm = max(summary.total_params, 1), max(summary.total_macs, 1)
    for i, r in enumerate(summary.layers):
        w.writerow([r.name if r.call == 1 else f"{r.name}#{r.call}", r.type,
                    "x".join(map(str, r.output_shape)), r.params, r.macs,
                    f"{100 * r.params / tp:.4f}", f"{100 * r.macs / tm:.4f}", r.detail,
                    r.block or "", r.stage or "", "" if r.rf is None else r.rf,
                    "" if r.jump is None else r.jump] + ([saved[i]] if saved else []))
    w.writerow(["TOTAL", "", "x".join(map(str, summary.output_shape)), summary.total_params,
                summary.total_macs, "100", "100", "", "", "", "", ""]
               + ([memory.memory.activations] if saved else []))
    return buf.getvalue()


def summary_json(summary: ModelSummary, memory: MemoryReport | None = None) -> str:
    """The whole summary (spec, totals, layers, block graph) as JSON; with a memory report,
    under "memory" (its per-layer rows in the layers' order)."""
    data = summary.to_dict()
    if memory is not None:
        data["memory"] = memory.to_dict()
    return json.dumps(data, indent=1)


def write_layers_csv(summary: ModelSummary, path: str | Path,
                     memory: MemoryReport | None = None) -> None:
    """`layers_csv` into a file, atomically; raises OSError when it cannot be written."""
    write_text_atomic(Path(path), layers_csv(summary, memory))


def write_summary_json(summary: ModelSummary, path: str | Path,
                       memory: MemoryReport | None = None) -> None:
    """`summary_json` into a file, atomically; raises OSError when it cannot be written."""
    write_text_atomic(Path(path), summary_json(summary, memory))


__all__ = ["CSV_COLUMNS", "MEMORY_COLUMN", "MemoryReport", "estimate_memory", "fit_spec_to_input",
           "inspect_model", "layers_csv", "parse_input", "parse_size", "row_label", "share",
           "share_text", "summary_json", "totals_text", "write_layers_csv", "write_summary_json"]
