"""Depth experiments for both front-ends: one `ExperimentPlan` from a grid, so the Depth Lab's form
and `resnet-studio sweep`'s flags give the same runs for the same request; creating it in a
store; and the results as the text, CSV and JSON the two print and export.

    plan = ExperimentPlan.from_grid(depths=(20, 56), variants=("plain", "residual"), steps=200)
    with ExperimentStore() as store:
        exp = plan.create(store)
        ExperimentRunner(store, exp.id).run()
        print(results_text(store.results(exp.id)))

Torch-free at import time (the Depth Lab's modules import this one as the window starts).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from resnet_studio.core.common.files import write_text_atomic
from resnet_studio.core.common.formatting import duration, percent
from resnet_studio.core.experiments import (
    EXPERIMENT_PRESETS,
    VARIANT_LABELS,
    VARIANTS,
    Experiment,
    ExperimentResults,
    ExperimentStore,
    check_depth,
    get_experiment_preset,
    grid_cells,
    make_spec,
    normalize_variant,
)
from resnet_studio.core.training.config import TrainConfig

Grid = tuple[tuple[int, str, int], ...]  # (depth, variant, seed) of every run


def schedule_for_steps(config: TrainConfig, steps: int) -> TrainConfig:
    """`config` run for `steps`. A run cut below the preset's length keeps a handful of test
    points (about four validations, forty log points) instead of validating only at its end:
    the quick demo validates every 100 of its 1,000 steps, so a 60-step run would otherwise show
    one test error and no test curve."""
    changes: dict[str, int] = {"steps": steps}
    if config.eval_every and steps < config.steps:
        changes["eval_every"] = max(1, min(config.eval_every, steps // 4))
        changes["log_every"] = max(1, min(config.log_every, steps // 40 or 1))
    return config.replace(**changes)


def default_name(cells: Iterable[tuple[int, str, int]]) -> str:
    """An unnamed experiment is named after its grid: "plain vs ResNet (A) · depths 20, 56"."""
    cells = list(cells)
    depths = sorted({d for d, _, _ in cells})
    variants = [v for v in VARIANTS if any(c[1] == v for c in cells)]
    return (f"{' vs '.join(VARIANT_LABELS[v] for v in variants)} · depths "
            f"{', '.join(map(str, depths))}")


@dataclass(frozen=True)
class ExperimentPlan:
    """An experiment before it is stored: its name, its runs, the schedule every run shares
    (each run's seed replaces `config.seed`) and the preset it started from ("" for none)."""

    name: str
    cells: Grid
    config: TrainConfig
    preset: str = ""

    @classmethod
    def from_grid(cls, *, preset: str | None = "quick", depths: Iterable[int] | None = None,
                  variants: Iterable[str] | None = None,
                  seeds: int | Iterable[int] | None = None, dataset: str | None = None,
                  steps: int | None = None, batch_size: int | None = None,
                  lr: float | None = None, device: str | None = None,
                  eval_every: int | None = None, checkpoint_every: int | None = None,
                  threads: int | None = None, name: str | None = None) -> ExperimentPlan:
        """The plan a grid request describes. `preset` (default: the quick demo; None: your own
        grid on the quick demo's schedule) gives whatever is left out. `seeds` is a count (3 ->
        seeds 0, 1, 2) or the seeds themselves. The grid is put in the paper's order (variant,
        then depth, then seed); a grid equal to the preset's keeps the preset's own runs (the
        Fig. 6 preset has no plain-110). Cutting `steps` below the preset's keeps a handful of
        test points (`schedule_for_steps`); `eval_every` given explicitly wins."""
        p = get_experiment_preset(preset or "quick")
        depths = p.depths if depths is None else sorted({check_depth(d) for d in depths})
        variants = p.variants if variants is None else _in_paper_order(variants)
        if seeds is None:
            seeds = p.seeds
        elif isinstance(seeds, int):
            seeds = list(range(seeds))
        else:
            seeds = sorted({int(s) for s in seeds})
        if preset and (depths, variants, seeds) == (p.depths, p.variants, p.seeds):
            cells = tuple(p.cells)
        else:
            cells = tuple(grid_cells(depths, variants, seeds))
        config = p.config
        if dataset is not None and dataset.strip():
            config = config.replace(dataset=dataset.strip())
        if steps is not None:
            config = schedule_for_steps(config, steps)
        explicit = {"batch_size": batch_size, "lr": lr, "device": device,
                    "eval_every": eval_every, "checkpoint_every": checkpoint_every,
                    "threads": threads}
        config = config.replace(**{k: v for k, v in explicit.items() if v is not None})
        return cls(name=(name or "").strip() or default_name(cells), cells=cells,
                   config=config.validate(), preset=p.key if preset else "")

    def check_memory(self, *, query_device: bool = True) -> None:
        """BudgetError when a run of the plan cannot fit in memory (model, batch and dataset,
        core.memory), before anything is stored; every run shares the schedule and dataset,
        so each model of the grid is checked once, the largest first. `query_device=False`:
        the machine's memory only (no CUDA context on the GUI thread)."""
        from resnet_studio.core.memory import check_training_memory

        for depth, variant in sorted({(c[0], c[1]) for c in self.cells}, reverse=True):
            check_training_memory(make_spec(depth, variant), self.config,
                                  query_device=query_device)

    def create(self, store: ExperimentStore, *, query_device: bool = True) -> Experiment:
        """Store the plan as a new experiment (every run pending), once its largest run fits
        in memory (`check_memory`; off inside `budget.memory_checks(False)`)."""
        self.check_memory(query_device=query_device)
        return store.create(self.name, self.cells, self.config, preset=self.preset)


@dataclass(frozen=True)
class GridRequest:
    """A grid as a front-end holds it (the Depth Lab's form): `ExperimentPlan.from_grid`'s
    keywords, None where the preset decides."""

    preset: str | None = "quick"
    depths: tuple[int, ...] | None = None
    variants: tuple[str, ...] | None = None
    seeds: int | tuple[int, ...] | None = None
    dataset: str | None = None
    steps: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    device: str | None = None
    eval_every: int | None = None
    checkpoint_every: int | None = None
    name: str | None = None

    def plan(self) -> ExperimentPlan:
        return ExperimentPlan.from_grid(**{f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def of(cls, exp: Experiment) -> GridRequest:
        """The request that gives a stored experiment's grid and length again (a starting point
        for the next one)."""
        return cls(preset=exp.preset if exp.preset in EXPERIMENT_PRESETS else None,
                   depths=tuple(exp.depths),
                   variants=tuple(exp.variants), seeds=len(exp.seeds),
                   dataset=exp.config.dataset, steps=exp.config.steps)


def _in_paper_order(variants: Iterable[str]) -> list[str]:
    chosen = {normalize_variant(v) for v in variants}
    return [v for v in VARIANTS if v in chosen]


# -- what the front-ends show -----------------------------------------------------------------


def describe_experiment(exp: Experiment) -> str:
    """One line: name · variants × depths · seeds · dataset, steps · progress · status."""
    done, total = exp.progress
    depths = ",".join(str(d) for d in exp.depths)
    variants = ",".join(exp.variants)
    return (f"{exp.name} · {variants} × {depths} · {len(exp.seeds)} seed"
            f"{'s' if len(exp.seeds) != 1 else ''} · {exp.config.dataset}, "
            f"{exp.config.steps} steps · {done}/{total} done · {exp.status}")


def results_text(results: ExperimentResults) -> str:
    """The report `sweep` prints: every run, the seed means (with several seeds) and the
    degradation readout."""
    exp = results.experiment
    lines = [describe_experiment(exp),
             f"{'run':<24} {'status':<11} {'train err':>9} {'test err':>9} {'params':>9} "
             f"{'time':>7}"]
    for r in results.runs:
        lines.append(f"{r.model + ' seed ' + str(r.seed):<24} {r.status:<11} "
                     f"{percent(r.train_error, '-'):>9} {percent(r.val_error, '-'):>9} "
                     f"{r.params / 1e6:>8.3f}M {duration(r.seconds, '-'):>7}")
    if any(s.runs > 1 for s in results.summary):
        pm = lambda m, sd: "-" if m is None else f"{m:.2f}±{sd:.2f}%"
        lines += ["", f"{'model':<14} {'runs':>4} {'train err':>15} {'test err':>15} "
                      f"{'Table 6':>8}"]
        for s in results.summary:
            paper = "-" if s.paper_error is None else f"{s.paper_error:.2f}%"
            lines.append(f"{s.model:<14} {s.runs:>4} {pm(s.train_error, s.train_error_std):>15} "
                         f"{pm(s.val_error, s.val_error_std):>15} {paper:>8}")
    lines.append("")
    degradation = results.degradation_lines()
    if not degradation:
        lines.append("degradation: needs two depths of a family with finished runs")
    lines += [f"degradation  {line}" for line in degradation]
    return "\n".join(lines)


def results_json(results: ExperimentResults) -> str:
    """The experiment, every run, the seed means and the degradation readout, as one line."""
    return json.dumps(results.to_dict())


def experiments_json(experiments: Sequence[Experiment]) -> str:
    return json.dumps([e.to_dict() for e in experiments])


def write_results_csv(results: ExperimentResults, path: str | Path) -> Path:
    """The results table (one row per depth x variant, with Table 6's column), written
    atomically: the Depth Lab's "Export table" and `sweep --csv`."""
    path = Path(path)
    write_text_atomic(path, results.to_csv())
    return path


__all__ = ["ExperimentPlan", "GridRequest", "default_name", "describe_experiment",
           "experiments_json", "results_json", "results_text", "schedule_for_steps",
           "write_results_csv"]
