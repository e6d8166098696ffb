"""What an experiment's runs show: each run's numbers (`RunSeries`), the results table over
seeds, the paper's Table 6 column, and the degradation readout (He et al. 2015: a deeper plain
net reaches a higher training error than a shallower one; a deeper ResNet does not).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from resnet_studio.core.common.curves import smooth
from resnet_studio.core.experiments.plan import VARIANT_LABELS, Experiment, make_spec, model_label
from resnet_studio.core.training.callbacks import EvalResult, TrainLog
from resnet_studio.core.training.curves import RunCurves

# He et al. 2015, Table 6: CIFAR-10 test error (%) of the option-A ResNets. Plain nets: none.
TABLE6 = {20: 8.75, 32: 7.51, 44: 7.17, 56: 6.97, 110: 6.43, 1202: 7.93}
# The last part of a run whose logged training error makes its "final training error" (one log
# window alone is a few hundred images: too noisy to compare two depths).
FINAL_FRACTION = 0.1
# A family "degrades" when the deepest net's training error exceeds the shallowest's by more
# than this (percentage points) and by more than the seed spread.
DEGRADATION_TOLERANCE = 1.0


@dataclass
class RunSeries(RunCurves):
    """The curves of one run as they arrive or as the store holds them (errors as fractions),
    with the final numbers the results table takes."""

    def add_log(self, log: TrainLog) -> None:
        if self.steps and log.step <= self.steps[-1]:
            return  # already there (a resumed run's history came from the store)
        self.add_logs([log])

    def add_eval(self, result: EvalResult) -> None:
        if self.val_steps and result.step <= self.val_steps[-1]:
            return
        super().add_eval(result)

    def final_train_error(self, total_steps: int) -> float | None:
        """Mean logged training error over the last FINAL_FRACTION of the run."""
        if not self.steps:
            return None
        last = self.steps[-1]
        if last < total_steps:  # an unfinished run: no final number yet
            return None
        start = total_steps - max(1, int(round(FINAL_FRACTION * total_steps)))
        vals = [e for s, e in zip(self.steps, self.error) if s > start and math.isfinite(e)]
        return sum(vals) / len(vals) if vals else self.error[-1]

    def final_val_error(self, total_steps: int) -> float | None:
        if not self.val_steps or self.val_steps[-1] < total_steps:
            return None
        return self.val_error[-1]


@dataclass(frozen=True)
class RunRow:
    """One run of the table."""

    index: int
    depth: int
    variant: str
    seed: int
    model: str  # plain-20, ResNet-56
    status: str
    run_id: str | None
    step: int
    total_steps: int
    train_error: float | None  # fraction; final (mean of the last 10% of the run)
    val_error: float | None  # fraction; the last validation
    params: int
    seconds: float | None


@dataclass(frozen=True)
class SummaryRow:
    """depth x variant, over seeds: the results table of the Depth Lab."""

    depth: int
    variant: str
    model: str
    runs: int  # runs with a final result
    train_error: float | None  # mean over seeds, percent
    train_error_std: float | None
    val_error: float | None  # percent
    val_error_std: float | None
    params: int
    seconds: float | None  # mean wall time of a run
    paper_error: float | None  # Table 6 test error (%), option-A ResNets only

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Degradation:
    """Training error of the deepest minus the shallowest net of one family (percentage points),
    paired by seed."""

    variant: str
    shallow: int
    deep: int
    delta: float  # mean over seeds, points
    std: float  # spread over seeds (0 with one seed)
    seeds: int
    shallow_error: float  # percent
    deep_error: float

    @property
    def degrades(self) -> bool:
        return self.delta > max(DEGRADATION_TOLERANCE, 2 * self.std)

    def line(self) -> str:
        fam = VARIANT_LABELS[self.variant]
        spread = f" ± {self.std:.1f}" if self.seeds > 1 else ""
        if self.degrades:
            verdict = "the deeper net trains WORSE: degradation"
        elif self.delta > DEGRADATION_TOLERANCE:
            verdict = "not clear: within the spread over seeds"
        elif self.delta < -DEGRADATION_TOLERANCE:
            verdict = "the deeper net trains better: no degradation"
        else:
            verdict = "no degradation"
        return (f"{fam}: {model_label(self.deep, self.variant)} − "
                f"{model_label(self.shallow, self.variant)} training error = "
                f"{self.delta:+.1f}{spread} points ({self.deep_error:.1f}% vs "
                f"{self.shallow_error:.1f}%, {self.seeds} seed{'s' if self.seeds != 1 else ''})"
                f" → {verdict}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "degrades": self.degrades, "line": self.line()}


@dataclass(frozen=True)
class CurveBand:
    """One depth x variant's curve: the mean over seeds and its ±std band (errors in %)."""

    steps: list[float]
    mean: list[float]
    std: list[float]


@dataclass
class ExperimentResults:
    experiment: Experiment
    runs: list[RunRow]
    summary: list[SummaryRow]
    degradation: list[Degradation]
    series: dict[int, RunSeries]  # cell index -> its numbers

    def to_dict(self) -> dict[str, Any]:
        return {"experiment": self.experiment.to_dict(),
                "runs": [asdict(r) for r in self.runs],
                "summary": [s.to_dict() for s in self.summary],
                "degradation": [d.to_dict() for d in self.degradation]}

    def to_csv(self) -> str:
        """The results table: one row per depth x variant."""
        import csv
        import io

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["model", "depth", "variant", "runs", "train_error_pct", "train_error_std",
                    "test_error_pct", "test_error_std", "params", "seconds",
                    "paper_table6_test_error_pct"])
        fmt = lambda v, nd=3: "" if v is None else f"{v:.{nd}f}"
        for s in self.summary:
            w.writerow([s.model, s.depth, s.variant, s.runs, fmt(s.train_error),
                        fmt(s.train_error_std), fmt(s.val_error), fmt(s.val_error_std), s.params,
                        fmt(s.seconds, 1), fmt(s.paper_error, 2)])
        return buf.getvalue()

    def degradation_lines(self) -> list[str]:
        return [d.line() for d in self.degradation]

    def curves(self, variant: str, depth: int, which: str = "train",
               smoothing: float = 0.0) -> CurveBand:
        """Seed mean and std of the training ("train") or test ("val") error, in %."""
        runs = [self.series[c.index] for c in self.experiment.cells
                if c.variant == variant and c.depth == depth and c.index in self.series]
        pairs = []
        for r in runs:
            steps, vals = (r.steps, r.error) if which == "train" else (r.val_steps, r.val_error)
            vals = [100 * v for v in vals]
            if smoothing and vals:
                vals = smooth(vals, smoothing)
            pairs.append((steps, vals))
        return aggregate(pairs)


def aggregate(pairs: Sequence[tuple[Sequence[int], Sequence[float]]]) -> CurveBand:
    """Mean and std over runs at each step any run has reached (runs still going count where
    they have numbers)."""
    at: dict[int, list[float]] = {}
    for steps, vals in pairs:
        for s, v in zip(steps, vals):
            if math.isfinite(v):
                at.setdefault(int(s), []).append(float(v))
    xs = sorted(at)
    mean = [sum(at[s]) / len(at[s]) for s in xs]
    std = [_std(at[s]) for s in xs]
    return CurveBand([float(s) for s in xs], mean, std)


def _std(values: Sequence[float]) -> float:
    n = len(values)
    if n < 2:
        return 0.0
    m = sum(values) / n
    return math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))


_PARAMS: dict[tuple, int] = {}


def params_of(depth: int, variant: str, num_classes: int = 10, in_channels: int = 3) -> int:
    key = (depth, variant, num_classes, in_channels)
    if key not in _PARAMS:
        from resnet_studio.core.inspect import summarize

        spec = replace(make_spec(depth, variant), num_classes=num_classes,
                       in_channels=in_channels)
        _PARAMS[key] = summarize(spec).total_params
    return _PARAMS[key]


def compute_results(exp: Experiment, series: dict[int, RunSeries], *,
                    io: tuple[int, int] | None = None) -> ExperimentResults:
    """The table and the degradation readout from each run's numbers (stored or live).
    `io`: (in_channels, num_classes) of the dataset for parameter counts (default: from the
    dataset name: 10 classes, 3 channels unless it says otherwise)."""
    in_ch, n_cls = io or _dataset_io(exp.config.dataset)
    total = exp.config.steps
    rows = []
    for c in exp.cells:
        s = series.get(c.index, RunSeries())
        finished = c.status == "finished"
        rows.append(RunRow(
            index=c.index, depth=c.depth, variant=c.variant, seed=c.seed,
            model=model_label(c.depth, c.variant), status=c.status, run_id=c.run_id,
            step=s.steps[-1] if s.steps else c.step, total_steps=total,
            train_error=s.final_train_error(total) if finished else None,
            val_error=s.final_val_error(total) if finished else None,
            params=params_of(c.depth, c.variant, n_cls, in_ch), seconds=c.seconds))
    summary = []
    for v in exp.variants:
        for d in exp.depths:
            group = [r for r in rows if r.variant == v and r.depth == d]
            if not group:
                continue
            tr = [100 * r.train_error for r in group if r.train_error is not None]
            va = [100 * r.val_error for r in group if r.val_error is not None]
            secs = [r.seconds for r in group if r.seconds is not None and r.status == "finished"]
            summary.append(SummaryRow(
                depth=d, variant=v, model=model_label(d, v), runs=len(tr),
                train_error=sum(tr) / len(tr) if tr else None,
                train_error_std=_std(tr) if tr else None,
                val_error=sum(va) / len(va) if va else None,
                val_error_std=_std(va) if va else None, params=group[0].params,
                seconds=sum(secs) / len(secs) if secs else None,
                paper_error=TABLE6.get(d) if v == "residual" else None))
    degradation = []
    for v in exp.variants:
        done = {(r.depth, r.seed): 100 * r.train_error for r in rows
                if r.variant == v and r.train_error is not None}
        depths = sorted({d for d, _ in done})
        if len(depths) < 2:
            continue
        lo, hi = depths[0], depths[-1]
        seeds = sorted({s for d, s in done if d == lo} & {s for d, s in done if d == hi})
        if not seeds:
            continue
        deltas = [done[(hi, s)] - done[(lo, s)] for s in seeds]
        degradation.append(Degradation(
            variant=v, shallow=lo, deep=hi, delta=sum(deltas) / len(deltas), std=_std(deltas),
            seeds=len(seeds), shallow_error=sum(done[(lo, s)] for s in seeds) / len(seeds),
            deep_error=sum(done[(hi, s)] for s in seeds) / len(seeds)))
    return ExperimentResults(exp, rows, summary, degradation, series)


def _dataset_io(dataset: str) -> tuple[int, int]:
    """(in_channels, num_classes) from a dataset name, without loading it."""
    kind = dataset.split(":", 1)[0].strip().lower().replace("-", "").replace("_", "")
    if kind == "synthetic":
        from resnet_studio.core.data import SyntheticOptions

        try:
            o = SyntheticOptions.parse(dataset.partition(":")[2])
            return o.channels, o.classes
        except ValueError:
            return 3, 10
    return {"cifar100": (3, 100), "mnist": (1, 10), "fashionmnist": (1, 10)}.get(kind, (3, 10))
