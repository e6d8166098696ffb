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
--csv/--json`, and the table's share-of-total texts live here too.

Imports no torch at all: the window shows a model before PyTorch has loaded.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_studio.core.common.files import write_text_atomic
from resnet_studio.core.common.formatting import compact, millions, shape_text
from resnet_studio.core.common.progress import Progress
from resnet_studio.core.summary import LayerRow, ModelSummary, Shape
from resnet_studio.core.zoo import with_io

if TYPE_CHECKING:
    from resnet_studio.core.spec import ArchSpec

_SEPARATORS = re.compile(r"[,;x×\s]+")


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
    text = (f"{len(s.layers):,} layers · {millions(s.total_params)} params "
            f"({s.total_params:,}) · {compact(s.total_macs)} MACs · "
            f"input {shape_text(s.input_shape)} → output {shape_text(s.output_shape)}")
    if shown is not None:
        p = share(sum(r.params for r in shown), s.total_params)
        m = share(sum(r.macs for r in shown), s.total_macs)
        text += (f"\nshowing {len(shown):,} row{'s' if len(shown) != 1 else ''}: "
                 f"{p:.1f}% of params, {m:.1f}% of MACs")
    return text


# -- exports --------------------------------------------------------------------------------
CSV_COLUMNS = ("name", "type", "output_shape", "params", "macs", "params_pct", "macs_pct",
               "detail", "block", "stage")


def layers_csv(summary: ModelSummary) -> str:
    """The layer table as CSV (every layer, whatever a view filters), each row's share of the
    totals, and a TOTAL row last."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    tp, tm = max(summary.total_params, 1), max(summary.total_macs, 1)
    for r in summary.layers:
        w.writerow([r.name if r.call == 1 else f"{r.name}#{r.call}", r.type,
                    "x".join(map(str, r.output_shape)), r.params, r.macs,
                    f"{100 * r.params / tp:.4f}", f"{100 * r.macs / tm:.4f}", r.detail,
                    r.block or "", r.stage or ""])
    w.writerow(["TOTAL", "", "x".join(map(str, summary.output_shape)), summary.total_params,
                summary.total_macs, "100", "100", "", "", ""])
    return buf.getvalue()


def summary_json(summary: ModelSummary) -> str:
    """The whole summary (spec, totals, layers, block graph) as JSON."""
    return json.dumps(summary.to_dict(), indent=1)


def write_layers_csv(summary: ModelSummary, path: str | Path) -> None:
    """`layers_csv` into a file, atomically; raises OSError when it cannot be written."""
    write_text_atomic(Path(path), layers_csv(summary))


def write_summary_json(summary: ModelSummary, path: str | Path) -> None:
    """`summary_json` into a file, atomically; raises OSError when it cannot be written."""
    write_text_atomic(Path(path), summary_json(summary))


__all__ = ["CSV_COLUMNS", "fit_spec_to_input", "inspect_model", "layers_csv", "parse_input",
           "row_label", "share", "share_text", "summary_json", "totals_text", "write_layers_csv",
           "write_summary_json"]
