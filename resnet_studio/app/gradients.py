"""Gradients through depth: at initialisation, during training (stored runs), and their exports.

* `measure_at_init` -- one forward + backward of a net (and its plain twin: the same weights,
  the same batch) at initialisation; the Gradients tab and `resnet-studio gradients` call it.
* `list_gradient_runs` / `load_gradient_runs` -- the runs of a store, whether a
  `GradientLogger` recorded their per-block gradient norms, and those norms as a history.
* `report_csv`, `report_json`, `runs_csv`, `runs_json`, `lesion_csv`, `lesion_json` -- the
  numbers as text, for the tab's "Export data…" and the commands' `--csv` / `--json`.
* `GradientsState` -- what the Gradients tab shows and runs, without Qt.

Importing this module does not import torch (the tab imports it when the window starts).
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from resnet_studio.core.common.progress import Progress

if TYPE_CHECKING:
    from resnet_studio.app.lesion import LesionResult
    from resnet_studio.core.analysis.gradients import GradientReport
    from resnet_studio.core.analysis.lesion import LesionReport
    from resnet_studio.core.spec import ArchSpec
    from resnet_studio.core.training.gradlog import GradientHistory
    from resnet_studio.core.training.store import RunRecord

CIFAR_BATCH = 128
IMAGENET_BATCH = 16  # ImageNet-size inputs: a smaller batch keeps one pass to a few seconds


def default_batch(spec: ArchSpec) -> int:
    """The batch measured when none is given: 128 CIFAR-size images, 16 ImageNet-size ones."""
    return CIFAR_BATCH if spec.stem == "cifar" else IMAGENET_BATCH


# -- at initialisation -----------------------------------------------------------------------

@dataclass(frozen=True)
class InitRequest:
    """One measurement at initialisation. Hashable: the tab caches results by request."""

    spec: ArchSpec
    batch_norm: bool = True  # False: the same net with every BatchNorm removed
    batch_size: int | None = None  # random N(0, 1) images; None: `default_batch(spec)`
    seed: int = 0  # of the weights and the batch
    compare_plain: bool = False  # also the plain twin (a residual spec only)
    input_shape: tuple[int, ...] | None = None  # C, H, W; None: the spec's own


@dataclass
class InitMeasurement:
    request: InitRequest
    report: GradientReport
    seconds: float  # how long the measurement took


def measure_at_init(request: InitRequest, progress: Progress | None = None) -> InitMeasurement:
    """Measure the request's net (and its plain twin) at initialisation (the slider measures
    through `shortcut_strength.measure_with_dial`, with the same numbers)."""
    from resnet_studio.core.analysis.gradients import analyze_gradients

    progress = Progress.of(progress)
    start = time.perf_counter()
    shape = request.input_shape
    spec, batch = measured_spec(request)
    progress(0, 1, f"measuring {title_of(spec.name, request)}")
    report = analyze_gradients(spec, compare_plain=request.compare_plain, seed=request.seed,
                               batch_size=batch, input_shape=shape)
    progress(1, 1, "measured")
    return InitMeasurement(request=request, report=report, seconds=time.perf_counter() - start)


def measured_spec(request: InitRequest) -> tuple[ArchSpec, int]:
    """The spec and batch size measured for `request` (fitted to its input, BN removed if
    asked)."""
    from resnet_studio.app.summary import fit_spec_to_input
    from resnet_studio.core.analysis.gradients import without_bn

    spec = fit_spec_to_input(request.spec, request.input_shape)
    if not request.batch_norm:
        spec = without_bn(spec)
    batch = default_batch(spec) if request.batch_size is None else request.batch_size
    if batch < 1:
        raise ValueError("the batch must hold at least 1 image")
    return spec, batch


def title_of(name: str, request: InitRequest) -> str:
    """What is measured, in words: "resnet20 and its plain twin, batch 128"."""
    name = name if request.batch_norm else f"{name} (no BN)"
    return name + (" and its plain twin" if request.compare_plain else "")


def report_title(report: GradientReport) -> str:
    """ "resnet56 vs plain_resnet56" (or the one net's label)."""
    net, plain = report.net, report.plain
    return net.label + (f" vs {plain.label}" if plain is not None else "")


# -- during training: stored runs ------------------------------------------------------------

@dataclass
class RunListing:
    record: RunRecord
    has_gradients: bool  # a GradientLogger wrote grad/<block> metrics for it


@dataclass
class RunGradients:
    record: RunRecord
    history: GradientHistory


def list_gradient_runs(store_path: str | None,
                       progress: Progress | None = None) -> list[RunListing]:
    """Every run of the store, newest first, with whether it has gradient metrics."""
    from resnet_studio.core.training.store import RunStore

    Progress.of(progress).check()
    store = RunStore(store_path, check_interrupted=False)
    try:
        return [RunListing(rec, _has_gradients(store, rec.id))
                for rec in reversed(store.list_runs())]
    finally:
        store.close()


def _has_gradients(store, run_id: str) -> bool:
    return store.has_metrics(run_id, "grad/")


def load_gradient_runs(store_path: str | None, run_ids: list[str],
                       progress: Progress | None = None) -> list[RunGradients]:
    """The recorded per-block gradient norms of each run (ids or unique prefixes)."""
    from resnet_studio.core.training.gradlog import gradient_series
    from resnet_studio.core.training.store import RunStore

    progress = Progress.of(progress)
    store = RunStore(store_path, check_interrupted=False)
    try:
        out = []
        for rid in run_ids:
            progress.check()
            record = store.get(rid)
            out.append(RunGradients(record, gradient_series(store.metrics(record.id))))
        return out
    finally:
        store.close()


# -- exports ---------------------------------------------------------------------------------

def csv_text(rows: list[list[Any]]) -> str:
    """Rows as CSV; floats keep every digit (repr), non-finite ones become empty cells."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for row in rows:
        w.writerow(["" if isinstance(v, float) and not math.isfinite(v) else
                    (repr(v) if isinstance(v, float) else v) for v in row])
    return buf.getvalue()


def report_json(report: GradientReport) -> str:
    return json.dumps(report.to_dict(), indent=1)


def report_csv(report: GradientReport) -> str:
    """One row per conv and per block, residual and plain side by side."""
    net, plain = report.net, report.plain
    rows: list[list[Any]] = [["kind", "name", "block", "depth", "shortcut_conv",
                              f"{net.label}", f"{plain.label}" if plain else "plain",
                              "plain_over_residual"]]
    plain_convs = {c.name: c for c in plain.convs} if plain else {}
    for c in net.convs:
        q = plain_convs.get(c.name)
        ratio = q.weight_grad_norm / c.weight_grad_norm if q and c.weight_grad_norm else ""
        rows.append(["conv_weight_grad_norm", c.name, c.block, c.depth, c.shortcut,
                     c.weight_grad_norm, q.weight_grad_norm if q else "", ratio])
    plain_blocks = {b.id: b for b in plain.blocks} if plain else {}
    for field_name, kind in (("input_grad_norm", "block_input_grad_norm"),
                             ("response_std", "block_response_std")):
        for b in net.blocks:
            q = plain_blocks.get(b.id)
            a = getattr(b, field_name)
            p = getattr(q, field_name) if q else ""
            ratio = p / a if q and a else ""
            rows.append([kind, b.id, b.id, b.depth, "", a, p, ratio])
    return csv_text(rows)


def run_dict(run: RunGradients) -> dict[str, Any]:
    h = run.history
    return {"run_id": run.record.id, "name": run.record.name, "model": run.record.model,
            "status": run.record.status, "blocks": h.block_names,
            "steps": h.steps.tolist(),
            "norms": [[v if math.isfinite(v) else None for v in row]
                      for row in h.blocks.tolist()]}


def runs_json(runs: list[RunGradients]) -> str:
    return json.dumps({"runs": [run_dict(r) for r in runs]}, indent=1)


def runs_csv(runs: list[RunGradients]) -> str:
    """One row per run, record and block: the long format."""
    rows: list[list[Any]] = [["run_id", "run", "step", "block", "grad_norm"]]
    for r in runs:
        h = r.history
        blocks = h.blocks
        for i, step in enumerate(h.steps.tolist()):
            for j, name in enumerate(h.block_names):
                rows.append([r.record.id, r.record.name, step, name, float(blocks[i, j])])
    return csv_text(rows)


def lesion_json(reports: list[LesionReport]) -> str:
    return json.dumps({"reports": [r.to_dict() for r in reports]}, indent=1)


def lesion_csv(reports: list[LesionReport]) -> str:
    rows: list[list[Any]] = [["model", "plain", "deleted_block", "deleted_as", "accuracy",
                              "drop", "intact_accuracy"]]
    for r in reports:
        for b in r.blocks:
            rows.append([r.model, r.plain, b.id, b.deleted_as, b.accuracy, b.drop,
                         r.intact_accuracy])
    return csv_text(rows)


# -- the tab's state -------------------------------------------------------------------------

SECTIONS = ("init", "training", "lesion")


@dataclass
class GradientsState:
    """What the Gradients tab shows and what it is running. Written on the GUI thread only
    (by the views, when their jobs report back); tests read it instead of label texts."""

    report: GradientReport | None = None  # at initialisation: the report shown
    init_error: str = ""  # the last measurement's failure ("" after a success)
    listing: list[RunListing] = field(default_factory=list)  # the store's runs
    runs_shown: list[RunGradients] = field(default_factory=list)  # during training: up to two
    runs_error: str = ""
    lesion: LesionResult | None = None  # the last finished lesion study
    lesion_status: str = "idle"  # idle | running | done | cancelled | failed
    lesion_error: str = ""
    running: set[str] = field(default_factory=set)  # of "init", "runs", "lesion"

    @property
    def busy(self) -> bool:
        return bool(self.running)

    @property
    def lesion_reports(self) -> list[LesionReport]:
        return self.lesion.reports if self.lesion is not None else []

    def export_text(self, section: str, as_csv: bool) -> str:
        """The numbers a section shows, as CSV or JSON; ValueError if it shows none."""
        if section == "init":
            if self.report is None:
                raise ValueError("nothing measured yet")
            return report_csv(self.report) if as_csv else report_json(self.report)
        if section == "training":
            if not self.runs_shown:
                raise ValueError("no run shown")
            return runs_csv(self.runs_shown) if as_csv else runs_json(self.runs_shown)
        if not self.lesion_reports:
            raise ValueError("no lesion study run yet")
        return lesion_csv(self.lesion_reports) if as_csv else lesion_json(self.lesion_reports)

    def export_name(self, section: str) -> str:
        """A file name (no suffix) for what a section shows."""
        if section == "init" and self.report is not None:
            net = self.report.net
            return f"gradients-{net.model}{'' if net.norm == 'batch' else '-nobn'}"
        if section == "training" and self.runs_shown:
            return f"gradients-run-{self.runs_shown[0].record.id}"
        if section == "lesion" and self.lesion_reports:
            return f"lesion-{self.lesion_reports[0].model}"
        return "gradients"


__all__ = ["CIFAR_BATCH", "IMAGENET_BATCH", "SECTIONS", "GradientsState", "InitMeasurement",
           "InitRequest", "RunGradients", "RunListing", "csv_text", "default_batch",
           "lesion_csv", "lesion_json", "list_gradient_runs", "load_gradient_runs",
           "measure_at_init", "measured_spec", "report_csv", "report_json", "report_title",
           "run_dict", "runs_csv", "runs_json", "title_of"]
