"""The trained models on this machine, one list for every tab and command: the stored runs
that wrote a checkpoint (Train tab and Depth Lab) and the shipped trained nets
(`app.trained_nets`), each with its plain twin's checkpoint where one exists.

A twin is the same stack without shortcuts, trained the same way: for a Depth Lab residual
net, the plain net of the same depth and seed in that experiment; for a Train tab run, the
newest run of its plain twin (`plain_<model>`) on the same dataset; for the shipped ResNet-N,
the shipped plain-N. A plain net has no twin.

`checkpoint` is an app checkpoint every loader takes (`--weights`, `load_checkpoint_source`,
the lesion study): a run's `checkpoint.json` as the run store records it (it always names the
newest complete weights), a shipped net's `.safetensors` beside its `.json`.

Listing the stored runs reads the run store only (no checkpoint is opened, no torch imported);
the shipped nets' index is read when they are asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_studio.core.spec import ArchSpec, plain_name

SHIPPED = "shipped:"  # the key of a shipped net: "shipped:resnet20"
SHIPPED_TWINS = {"resnet20": "plain20", "resnet56": "plain56"}
SHIPPED_NAMES = ("resnet20", "plain20", "resnet56", "plain56")  # app.trained_nets.NETS
DEFAULT_SHIPPED = "resnet20"
# where a trained model can be opened: target key -> what the "Use in…" menus say
USE_TARGETS = {"images": "Images", "attributions": "Attributions",
               "training": "Gradients: during training", "lesion": "Gradients: lesion study",
               "landscape": "Landscape"}


@dataclass(frozen=True)
class TrainedModel:
    """One trained net and, where there is one, its trained plain twin."""

    key: str  # the run id, or "shipped:<name>"
    label: str  # what a chooser shows: "ResNet-56 seed 0 · Quick demo", "my run (resnet20)"
    spec: ArchSpec
    plain: bool  # no shortcuts (it has no plain twin)
    checkpoint: Path
    dataset: str
    status: str  # the run's ("finished", "stopped", ...); "shipped"
    created: float  # seconds since the epoch (0 for the shipped nets)
    twin: Path | None = None  # the plain twin's checkpoint
    twin_key: str | None = None
    twin_label: str | None = None
    experiment_id: str | None = None

    @property
    def shipped(self) -> bool:
        return self.key.startswith(SHIPPED)

    @property
    def run_id(self) -> str | None:
        return None if self.shipped else self.key

    @property
    def twin_run_id(self) -> str | None:
        return None if self.twin_key is None or self.twin_key.startswith(SHIPPED) \
            else self.twin_key

    def to_dict(self) -> dict[str, Any]:
        """A row of `runs trained --json`."""
        return {"key": self.key, "label": self.label, "model": self.spec.name,
                "plain": self.plain, "status": self.status, "dataset": self.dataset,
                "checkpoint": str(self.checkpoint),
                "twin": None if self.twin is None else str(self.twin), "twin_key": self.twin_key}

    def describe(self) -> str:
        """One line: what it is, and its twin."""
        twin = f"; plain twin: {self.twin_label}" if self.twin_label else "; no plain twin"
        return f"{self.label} ({self.status}){twin}"


def stored_models(store_path: str | Path | None = None) -> list[TrainedModel]:
    """The runs whose checkpoint is on disk, newest first, each with its twin."""
    from resnet_studio.core.experiments.store import ExperimentStore
    from resnet_studio.core.training.store import RunStore

    with RunStore(store_path) as runs:
        records = [r for r in runs.list_runs() if r.checkpoint and Path(r.checkpoint).is_file()]
        cells = {}  # run id -> (experiment, cell)
        if any(r.experiment_id for r in records):
            experiments = ExperimentStore(runs)
            for exp in experiments.list():
                cells.update({c.run_id: (exp, c) for c in exp.cells if c.run_id})
    by_id = {r.id: r for r in records}
    models = []
    for rec in reversed(records):
        in_experiment = cells.get(rec.id)
        if in_experiment is not None:
            exp, cell = in_experiment
            label = f"{cell.label} · {exp.name}"
            twin = None if cell.variant == "plain" else next(
                (c.run_id for c in exp.cells if c.key == (cell.depth, "plain", cell.seed)
                 and c.run_id in by_id), None)
            twin_label = None if twin is None else f"{cells[twin][1].label} · {exp.name}"
        else:
            label = f"{rec.name} ({rec.model})"
            twin = None if _plain(rec) else next(
                (r.id for r in reversed(records) if r.model == plain_name(rec.model)
                 and r.id != rec.id and r.dataset == rec.dataset and r.id not in cells), None)
            twin_label = None if twin is None else f"{by_id[twin].name} ({by_id[twin].model})"
        models.append(TrainedModel(
            key=rec.id, label=label, spec=ArchSpec.from_dict(rec.spec), plain=_plain(rec),
            checkpoint=Path(rec.checkpoint), dataset=rec.dataset, status=rec.status,
            created=rec.created, twin=None if twin is None else Path(by_id[twin].checkpoint),
            twin_key=twin, twin_label=twin_label,
            experiment_id=None if in_experiment is None else in_experiment[0].id))
    return models


def _plain(rec) -> bool:
    """A run of a net without shortcuts (by its spec; by its name if none was recorded)."""
    return ArchSpec.from_dict(rec.spec).plain if rec.spec else rec.model.startswith("plain")


def shipped_models() -> list[TrainedModel]:
    """The shipped trained nets (ResNet-20, plain-20, ResNet-56, plain-56)."""
    from resnet_studio.app.trained_nets import NETS, shipped_dataset, shipped_info

    dataset = shipped_dataset()
    infos = {name: shipped_info(name) for name in NETS}
    models = []
    for name, info in infos.items():
        twin = infos.get(SHIPPED_TWINS.get(name, ""))
        models.append(TrainedModel(
            key=SHIPPED + name, label=f"{info.label} (shipped, trained on the built-in data)",
            spec=info.spec, plain=info.spec.plain, checkpoint=info.path, dataset=dataset,
            status="shipped", created=0.0,
            twin=None if twin is None else twin.path,
            twin_key=None if twin is None else SHIPPED + twin.name,
            twin_label=None if twin is None else f"{twin.label} (shipped)"))
    return models


def trained_models(store_path: str | Path | None = None) -> list[TrainedModel]:
    """Every trained model: the user's runs (newest first), then the shipped nets."""
    return [*stored_models(store_path), *shipped_models()]


def resolve_trained_model(ref: str, store_path: str | Path | None = None) -> TrainedModel:
    """A run id (a unique prefix, "last") or a shipped net ("shipped:resnet20", or
    "resnet20" when no run is called that). KeyError if there is none; ValueError for a run
    that wrote no checkpoint."""
    from resnet_studio.core.training.store import RunStore

    ref = str(ref).strip()
    if not ref.startswith(SHIPPED):
        try:
            with RunStore(store_path) as runs:
                rec = runs.get(ref)
        except KeyError:
            if ref not in SHIPPED_NAMES:
                raise
        else:
            found = next((m for m in stored_models(store_path) if m.key == rec.id), None)
            if found is None:
                raise ValueError(f"run {rec.id} ({rec.name}) has no checkpoint on disk: it "
                                 "wrote none before it ended, or its files were deleted")
            return found
    name = ref.removeprefix(SHIPPED)
    if name not in SHIPPED_NAMES:
        raise KeyError(f"no shipped net '{name}'; choose one of {', '.join(SHIPPED_NAMES)}")
    return next(m for m in shipped_models() if m.key == SHIPPED + name)


def default_pair(models: Iterable[TrainedModel]) -> TrainedModel | None:
    """What the lesion study starts from: the user's newest finished residual net with a
    trained plain twin, else the shipped ResNet-20 (None if neither is in `models`)."""
    models = list(models)
    mine = next((m for m in models if not m.shipped and not m.plain and m.twin is not None
                 and m.status == "finished"), None)
    return mine or next((m for m in models if m.key == SHIPPED + DEFAULT_SHIPPED), None)


def trained_models_table(models: list[TrainedModel]) -> str:
    """The text table of `resnet-studio runs trained`."""
    if not models:
        return "no trained models\n"
    lines = []
    for m in models:
        lines.append(f"{m.key}  {m.describe()}\n  checkpoint: {m.checkpoint}")
        if m.twin is not None:
            lines.append(f"  plain twin: {m.twin}")
    return "\n".join(lines) + "\n"


__all__ = ["DEFAULT_SHIPPED", "SHIPPED", "USE_TARGETS", "TrainedModel", "default_pair",
           "resolve_trained_model", "shipped_models", "stored_models", "trained_models",
           "trained_models_table"]
