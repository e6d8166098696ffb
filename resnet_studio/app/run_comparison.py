"""Stored runs side by side: their final metrics and every setting they were trained with, one
column per run, the rows whose values differ marked (what the Train tab's *Compare…* shows).

Errors are shown in %, as the plots draw them; a run without a metric shows "–". Importing this
module does not import torch.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

from resnet_studio.app.runs import RunHistory

MISSING = "–"
# Settings that never change what a run learns: listed after the others.
HOUSEKEEPING = ("device", "threads", "compile", "amp", "channels_last", "log_every",
                "checkpoint_every", "eval_every")


@dataclass(frozen=True)
class ComparisonRow:
    section: str  # "Final metrics", "Model", "Training settings"
    label: str
    values: tuple[str, ...]  # one per run, in the comparison's order

    @property
    def differs(self) -> bool:
        return len(set(self.values)) > 1


@dataclass(frozen=True)
class RunComparison:
    """Columns: `names` (the runs' names, `ids` their ids); rows grouped by section."""

    ids: tuple[str, ...]
    names: tuple[str, ...]
    rows: tuple[ComparisonRow, ...]

    def row(self, label: str) -> ComparisonRow:
        """KeyError if no row has that label."""
        for r in self.rows:
            if r.label == label:
                return r
        raise KeyError(label)

    def differing(self) -> list[ComparisonRow]:
        return [r for r in self.rows if r.differs]

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["section", "setting", *self.names])
        for r in self.rows:
            writer.writerow([r.section, r.label, *r.values])
        return out.getvalue()


def _number(v: float | None, fmt: str) -> str:
    return MISSING if v is None or not math.isfinite(v) else format(v, fmt)


def _pct(v: float | None) -> str:
    return MISSING if v is None or not math.isfinite(v) else f"{100 * v:.2f}%"


def _setting(v) -> str:
    if v is None:
        return MISSING
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list | tuple):
        return ", ".join(_setting(x) for x in v)
    return str(v)


def _metrics_rows(history: RunHistory, run_ids: Sequence[str]) -> list[tuple[str, list[str]]]:
    finals, best = [], []
    for rid in run_ids:
        finals.append(history.store.last_metrics(rid))
        val = history.store.metrics(rid, "val/error").get("val/error", [])
        finite = [(e, s) for s, e in val if math.isfinite(e)]
        best.append(min(finite) if finite else None)
    get = lambda key: [f.get(key) for f in finals]  # noqa: E731
    return [
        ("status", [history.get(r).status for r in run_ids]),
        ("steps", [f"{history.get(r).step:,} / {history.get(r).total_steps:,}" for r in run_ids]),
        ("final training loss", [_number(v, ".4f") for v in get("train/loss")]),
        ("final training error", [_pct(v) for v in get("train/error")]),
        ("final validation loss", [_number(v, ".4f") for v in get("val/loss")]),
        ("final validation error", [_pct(v) for v in get("val/error")]),
        ("best validation error", [MISSING if b is None else f"{_pct(b[0])} (step {b[1]:,})"
                                   for b in best]),
    ]


def compare_runs(history: RunHistory, refs: Sequence[str]) -> RunComparison:
    """The runs `refs` (ids, unique prefixes or "last"; KeyError for an unknown one) side by
    side, in the order given; a run named twice is shown once."""
    ids: list[str] = []
    for ref in refs:
        rid = history.store.resolve(ref)
        if rid not in ids:
            ids.append(rid)
    if not ids:
        raise ValueError("choose at least one run to compare")
    records = [history.get(r) for r in ids]
    rows = [ComparisonRow("Final metrics", label, tuple(values))
            for label, values in _metrics_rows(history, ids)]
    rows += [ComparisonRow("Model", "model", tuple(r.model for r in records)),
             ComparisonRow("Model", "dataset", tuple(r.dataset for r in records))]
    for key in ("block", "layers", "widths", "shortcut", "shortcut_scale", "preact", "norm"):
        if any(key in r.spec for r in records):
            rows.append(ComparisonRow("Model", key, tuple(_setting(r.spec.get(key))
                                                          for r in records)))
    keys: list[str] = []
    for r in records:
        keys += [k for k in r.config if k not in keys and k != "dataset"]
    keys.sort(key=lambda k: k in HOUSEKEEPING)  # stable: the config's own order otherwise
    rows += [ComparisonRow("Training settings", k, tuple(_setting(r.config.get(k))
                                                         for r in records)) for k in keys]
    return RunComparison(tuple(ids), tuple(r.name for r in records), tuple(rows))


__all__ = ["ComparisonRow", "RunComparison", "compare_runs"]
