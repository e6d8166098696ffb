"""What every benchmark shares: interleaved repeats, medians, one printed line per figure, and
`benchmarks/results/latest.json`.

A figure is a ratio against a baseline measured in the same run, so a busy or slow machine
moves both sides together: `interleave` alternates the candidates (A B A B ...) and each figure
is the ratio of medians. Each figure prints as one line, `name = value  (details)`, and is
collected for the JSON file that `python -m benchmarks` writes at the end.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Figure:
    name: str
    value: float
    details: str = ""
    goal: str = ""  # e.g. "<= 0.35"
    met: bool | None = None
    date: str = ""  # when it was measured (a partial run keeps the other figures' dates)


FIGURES: list[Figure] = []


def goal_met(value: float, goal: str) -> bool | None:
    if not goal:
        return None
    op, _, bound = goal.partition(" ")
    b = float(bound)
    return {"<=": value <= b, ">=": value >= b, "<": value < b, ">": value > b}[op]


def record(name: str, value: float, details: str = "", goal: str = "",
           digits: int = 3) -> Figure:
    """Print `name = value  (details; goal ...)` and keep the figure for latest.json."""
    fig = Figure(name, round(float(value), 6), details, goal, goal_met(value, goal), _now())
    FIGURES.append(fig)
    extra = "; ".join(p for p in (details, f"goal {goal}: {'met' if fig.met else 'NOT met'}"
                                  if goal else "") if p)
    print(f"{name} = {value:.{digits}f}" + (f"  ({extra})" if extra else ""), flush=True)
    return fig


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleave(candidates: dict[str, Callable[[], float | None]], repeats: int,
               warmup: int = 1) -> dict[str, list[float]]:
    """Run the candidates in turn, `repeats` rounds (after `warmup` untimed ones). A candidate
    that returns a float has measured itself (seconds); anything else is timed from outside."""
    out: dict[str, list[float]] = {k: [] for k in candidates}
    for round_ in range(warmup + repeats):
        for name, fn in candidates.items():
            start = time.perf_counter()
            value = fn()
            own = isinstance(value, float)
            seconds = value if own else time.perf_counter() - start
            if round_ >= warmup:
                out[name].append(seconds)
    return out


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine()}
    try:
        import torch

        info.update(torch=torch.__version__, threads=torch.get_num_threads(),
                    cuda=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return info


def write_results(path: Path | None = None) -> Path:
    """This run's figures, merged into the file's earlier ones (running one module updates
    only its figures), with the machine, torch version, threads and date."""
    path = path or RESULTS / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    figures = load_results(path)
    figures.update({f.name: asdict(f) for f in FIGURES})
    data = {"date": _now(), "machine": machine(), "figures": figures}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_results(path: Path) -> dict[str, dict]:
    """The figures a results file holds by name ({} when there is none or it is unreadable)."""
    try:
        figures = json.loads(path.read_text(encoding="utf-8"))["figures"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return figures if isinstance(figures, dict) else {}


def markdown_table(figures: dict[str, dict]) -> str:
    """The README's table: one row per figure, sorted by name."""
    rows = ["| figure | value | goal | met | measured |", "|---|---:|---|---|---|"]
    for name in sorted(figures):
        f = figures[name]
        met = {True: "yes", False: "**no**"}.get(f.get("met"), "")
        rows.append(f"| `{name}` | {f['value']:.3f} | {f.get('goal', '')} | {met} | "
                    f"{f.get('date', '')[:10]} |")
    return "\n".join(rows)


README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


def update_readme(readme: Path, figures: dict[str, dict], machine_line: str) -> bool:
    """Replace the table between the README's markers; False when the markers are missing."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return False
    body = f"{README_START}\n{machine_line}\n\n{markdown_table(figures)}\n"
    readme.write_text(text[:start] + body + text[end:], encoding="utf-8")
    return True


def in_fresh_process(module: str, function: str, timeout_s: float = 1800) -> None:
    """Run `benchmarks.<module>.<function>()` in a new interpreter and record its figures here.

    For what must not share a process with the benchmarks before it: a GUI thread that has run
    torch ops keeps an OpenMP thread team that slows a training thread started later by ~25%
    on a 2-core machine (measured), so window benchmarks start clean, as the app does."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        code = (f"import benchmarks.{module} as m, benchmarks.harness as h; m.{function}(); "
                f"h.dump_figures({str(out)!r})")
        subprocess.run([sys.executable, "-X", "faulthandler", "-c", code], check=True, timeout=timeout_s,
                       cwd=Path(__file__).resolve().parent.parent)
        for data in json.loads(out.read_text(encoding="utf-8")):
            FIGURES.append(Figure(**data))  # the child printed them already


def dump_figures(path: str) -> None:
    Path(path).write_text(json.dumps([asdict(f) for f in FIGURES]), encoding="utf-8")
