"""Comparing two models: names in (a preset, a spec file, or "plain" for the first one's plain
twin), a `ModelComparison` out, as the Architecture tab's side-by-side view and `resnet-studio
compare` both show it; its table as text, and its exports (CSV, JSON).

Each model is inspected at its own default input (a CIFAR net at 32×32 beside an ImageNet one
at 224×224 compares stage by stage), or both at one typed input, to which both are adapted as
`summary --input` adapts one. Two models whose first convs take different channels, or an
input one of them cannot take, get one message naming both.

Imports no torch: the comparison is the inspector's arithmetic (milliseconds even for ResNet-1202).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_studio.core.common.files import write_text_atomic
from resnet_studio.core.common.formatting import compact, shape_text
from resnet_studio.core.common.progress import Progress
from resnet_studio.core.summary import InputTooSmall, Shape

if TYPE_CHECKING:
    from resnet_studio.core.compare import ModelComparison, PartComparison
    from resnet_studio.core.spec import ArchSpec

PLAIN_TWIN = "plain"  # the second model's name that means "the first one without shortcuts"
TWIN_NAMES = {"plain", "twin", "plain-twin", "plain_twin", "plain twin"}
FIELDS = ("params", "macs", "memory")


def resolve_pair(first: str | ArchSpec, second: str | ArchSpec | None = None
                 ) -> tuple[ArchSpec, ArchSpec]:
    """The two specs a comparison names: presets ("resnet34", "plain-34"), spec .json files,
    or `second` None / "plain" for the first one's plain twin. KeyError, OSError or ValueError
    with one line for an unknown name or a bad file."""
    from resnet_studio.app.models import load_spec

    a = load_spec(first) if isinstance(first, str) else first
    if second is None or (isinstance(second, str) and second.strip().lower() in TWIN_NAMES):
        if a.plain:
            raise ValueError(f"{a.name} has no shortcuts: its plain twin is itself; name a "
                             "second model to compare it with")
        return a, a.plain_twin()
    return a, load_spec(second) if isinstance(second, str) else second


def compare_models(a: ArchSpec, b: ArchSpec, input_shape: str | Shape | None = None, *,
                   progress: Progress | None = None) -> ModelComparison:
    """`a` beside `b` (see the module doc). Raises ValueError (InputTooSmall among them) with
    one line naming both models when they cannot take the same input."""
    from resnet_studio.app.summary import inspect_model, parse_input
    from resnet_studio.core.compare import check_same_input, compare_summaries

    shape = parse_input(input_shape) if isinstance(input_shape, str) else input_shape
    if shape is None:
        check_same_input(a, b)
    progress = Progress.of(progress)
    summaries = []
    for i, spec in enumerate((a, b)):
        progress(i, 2, f"Inspecting {spec.name}…")
        try:
            summaries.append(inspect_model(spec, shape))
        except InputTooSmall as e:
            raise InputTooSmall(f"cannot compare {a.name} with {b.name} at "
                                f"{shape_text(shape)}: {spec.name}'s {e}") from None
    progress(2, 2, f"Compared {a.name} with {b.name}")
    return compare_summaries(*summaries)


# -- what the table shows (the tab and the command) ------------------------------------------
TABLE_COLUMNS = ("part", "blocks", "params A", "params B", "Δ params", "MACs A", "MACs B",
                 "Δ MACs", "memory A", "memory B", "Δ memory", "differences")


def signed(n: int, unit: str = "") -> str:
    """+1.2M / −174K / 0, with a real minus sign."""
    if n == 0:
        return "0"
    return ("+" if n > 0 else "−") + compact(abs(n)) + unit


def delta_text(a: int, b: int, unit: str = "", share: bool = True) -> str:
    """ "−174K (−0.8%)": B − A and (with `share`) its share of A."""
    if a == b:
        return "0"
    pct = f" ({'+' if b > a else '−'}{abs(b - a) / a * 100:.1f}%)" if a and share else ""
    return signed(b - a, unit) + pct


def part_differences(cmp: ModelComparison, part: PartComparison) -> str:
    """What differs in a part, in a few words: "4 shortcuts removed (1 projection)"."""
    if part.a is None or part.b is None:
        return f"only in {'A' if part.b is None else 'B'}"
    diffs = [d for d in cmp.blocks if d.stage == part.name and d.kinds]
    words = []
    if part.a.blocks != part.b.blocks:
        words.append(f"{part.a.blocks} → {part.b.blocks} blocks")
    for change in ("removed", "added", "changed"):
        moved = [d for d in diffs if d.shortcut_change == change]
        if moved:
            proj = sum(d.involves("projection") for d in moved)
            words.append(f"{len(moved)} shortcut{'s' * (len(moved) > 1)} {change}"
                         + (f" ({proj} projection{'s' * (proj > 1)})" if proj else ""))
    for kind, text in (("type", "block type"), ("width", "width"), ("groups", "groups")):
        n = sum(kind in d.kinds for d in diffs)
        if n:
            words.append(f"{n} differ{'s' * (n == 1)} in {text}")
    return "; ".join(words)


def table_rows(cmp: ModelComparison, share: bool = True) -> list[tuple[str, ...]]:
    """One row per part and a total, in TABLE_COLUMNS' order (numbers three digits; each
    delta with its share of A's number, unless `share` is False)."""
    rows = []
    for p in cmp.parts:
        blocks = "" if p.name in ("stem", "head") else \
            f"{p.a.blocks if p.a else '–'} / {p.b.blocks if p.b else '–'}"
        cells = [p.name, blocks]
        for field in FIELDS:
            unit = "B" if field == "memory" else ""
            va, vb = (getattr(t, field) if t else None for t in (p.a, p.b))
            cells += [compact(v) + unit if v is not None else "–" for v in (va, vb)]
            cells.append(delta_text(va or 0, vb or 0, unit, share))
        rows.append((*cells, part_differences(cmp, p)))
    total = ["total", f"{sum(p.a.blocks for p in cmp.parts if p.a)} / "
                      f"{sum(p.b.blocks for p in cmp.parts if p.b)}"]
    for field in FIELDS:
        unit = "B" if field == "memory" else ""
        ta, tb = cmp.total(field)
        total += [compact(ta) + unit, compact(tb) + unit, delta_text(ta, tb, unit, share)]
    return rows + [(*total, headline(cmp))]


def headline(cmp: ModelComparison) -> str:
    """The differences in one line: "16 shortcuts differ (3 projections) · 0 in width ..."."""
    c = cmp.counts()
    if not cmp.differing():
        return "no block differs"
    words = [f"{c['shortcut']} shortcut{'s' * (c['shortcut'] != 1)} differ"
             + (f" ({c['projections']} projection{'s' * (c['projections'] != 1)})"
                if c["projections"] else "")] if c["shortcut"] else []
    words += [f"{c[k]} block{'s' * (c[k] != 1)} differ in {text}" for k, text in
              (("type", "type"), ("width", "width"), ("groups", "groups")) if c[k]]
    words += [f"{c[k]} only in {side}" for k, side in (("only_a", "A"), ("only_b", "B")) if c[k]]
    return " · ".join(words)


def inputs_text(cmp: ModelComparison) -> str:
    sa, sb = cmp.a.input_shape, cmp.b.input_shape
    return (f"input {shape_text(sa)} for both" if sa == sb else
            f"inputs {shape_text(sa)} (A) and {shape_text(sb)} (B), each model's own")


def comparison_text(cmp: ModelComparison) -> str:
    """The comparison as the command prints it: the two models, the table, and every block
    that differs."""
    name_a, name_b = cmp.names
    lines = [f"A: {name_a}   B: {name_b}   ({inputs_text(cmp)}; memory: activations saved "
             f"for backward, float32, batch {cmp.memory_batch})", headline(cmp), ""]
    rows = [TABLE_COLUMNS, *table_rows(cmp)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(TABLE_COLUMNS) - 1)]
    for r in rows:
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))) + "  " + r[-1])
    diffs = cmp.differing()
    if diffs:
        lines += ["", "blocks that differ (A → B):"]
        lines += [f"  {d.stage}.{d.index}  " + "; ".join(d.changes) for d in diffs]
    return "\n".join(lines)


# -- exports ----------------------------------------------------------------------------------
CSV_COLUMNS = ("part", "blocks_a", "blocks_b", "params_a", "params_b", "params_delta", "macs_a",
               "macs_b", "macs_delta", "memory_bytes_a", "memory_bytes_b", "memory_bytes_delta",
               "differing_blocks", "differences")


def comparison_csv(cmp: ModelComparison) -> str:
    """The per-part table with exact numbers, a TOTAL row last (B − A deltas)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for p in cmp.parts:
        row = [p.name, *(t.blocks if t else "" for t in (p.a, p.b))]
        for field in FIELDS:
            row += [*(getattr(t, field) if t else "" for t in (p.a, p.b)), p.delta(field)]
        w.writerow([*row, p.differing_blocks, part_differences(cmp, p)])
    total = ["TOTAL", sum(p.a.blocks for p in cmp.parts if p.a),
             sum(p.b.blocks for p in cmp.parts if p.b)]
    for field in FIELDS:
        ta, tb = cmp.total(field)
        total += [ta, tb, tb - ta]
    w.writerow([*total, len(cmp.differing()), headline(cmp)])
    return buf.getvalue()


def comparison_json(cmp: ModelComparison) -> str:
    return json.dumps(cmp.to_dict(), indent=1, ensure_ascii=False)


def write_comparison_csv(cmp: ModelComparison, path: str | Path) -> None:
    """`comparison_csv` into a file ("-": standard output), atomically; OSError if it cannot."""
    write_text_atomic(path, comparison_csv(cmp))


def write_comparison_json(cmp: ModelComparison, path: str | Path) -> None:
    """`comparison_json` into a file ("-": standard output), atomically; OSError if it cannot."""
    write_text_atomic(path, comparison_json(cmp) + "\n")


__all__ = ["PLAIN_TWIN", "TABLE_COLUMNS", "compare_models", "comparison_csv", "comparison_json",
           "comparison_text", "headline", "resolve_pair", "table_rows", "write_comparison_csv",
           "write_comparison_json"]
