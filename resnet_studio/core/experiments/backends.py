"""Where an experiment's runs train: in this process (`LocalBackend`, the default) or on a Ray
cluster (`ray_backend.RayBackend`, with the optional `cluster` extra). The runner (runner.py)
keeps the queue, the store, the listener, cancel and stop; a backend only opens (once per
`run()`), makes the trainer of one run, says how many runs go at once, and closes.

A backend's trainer is a `Trainer` or something that behaves like one towards the runner and
the hooks (`ray_backend.RemoteTrainer`): `callbacks`, `run_id`, `resumed`, `setup()`, `fit()`,
`stop()`, `resume()`. Its hooks fire on the runner's thread that called `fit()`, in the order a
local Trainer fires them, so the run store and the listener cannot tell the two apart.

Nothing here imports Ray (or torch): `make_backend(None)` is the local backend, and asking for a
cluster without Ray installed is one ExperimentError saying how to install it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_studio.core.experiments.plan import Cell, ExperimentError
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.training.config import TrainConfig

INSTALL_HINT = "pip install 'resnet-studio[cluster]'"


class ClusterUnavailable(ExperimentError):
    """Ray is not installed (the `cluster` extra), or the cluster cannot be reached."""


@dataclass(frozen=True)
class ClusterOptions:
    """Where and how runs train on Ray (`sweep --backend ray`, the Depth Lab's "Run on").

    address: "" starts a local Ray for the sweep (this machine's CPUs and GPUs), "auto" joins
    the cluster this machine belongs to (`ray start`), "ray://host:10001" a remote one.
    storage: a folder every worker can reach (NFS, a shared disk; "file://" URIs too) where the
    runs' checkpoints go; "" is this app's runs folder (right for a local Ray, and for a cluster
    whose nodes share it). A worker that dies mid-run is retried `max_retries` times, each time
    from the run's last checkpoint.
    """

    address: str = ""
    gpus_per_run: float = 0.0
    cpus_per_run: float = 1.0
    storage: str = ""
    max_retries: int = 3

    def validate(self) -> ClusterOptions:
        if not 0 <= self.gpus_per_run <= 64:
            raise ValueError(f"--gpus-per-run must be between 0 and 64, got {self.gpus_per_run}")
        if not 0 < self.cpus_per_run <= 1024:
            raise ValueError(f"--cpus-per-run must be above 0, got {self.cpus_per_run}")
        if not 0 <= self.max_retries <= 100:
            raise ValueError(f"--max-retries must be between 0 and 100, got {self.max_retries}")
        self.storage_dir()
        return self

    def storage_dir(self) -> Path:
        """The checkpoint folder as a path. Only folders (or file:// URIs) are supported: the
        Trainer writes its checkpoints atomically with ordinary file operations."""
        text = self.storage.strip()
        if not text:
            from resnet_studio.core.common.paths import runs_dir

            return runs_dir()
        if text.startswith("file://"):
            text = text[len("file://"):]
        elif "://" in text:
            raise ValueError(f"--storage {self.storage}: only a folder every worker mounts "
                             "(NFS, a shared disk) or a file:// URI is supported; mount the "
                             "bucket on every node and pass that folder")
        return Path(text).expanduser().resolve()

    def describe(self) -> str:
        where = self.address or "a local Ray started for this sweep"
        gpus = f", {self.gpus_per_run:g} GPU" if self.gpus_per_run else ""
        return f"Ray ({where}; {self.cpus_per_run:g} CPU{gpus} per run)"


@dataclass(frozen=True)
class RunJob:
    """One run for a backend to train: the cell, its net and schedule, and the stored run it
    continues (run_id, run_dir, checkpoint: None for a new run)."""

    cell: Cell
    spec: ArchSpec
    config: TrainConfig
    run_name: str
    experiment_id: str
    run_id: str | None = None
    run_dir: str | None = None
    checkpoint: str | None = None


class LocalBackend:
    """Runs train in this process: one Trainer per run, on the runner's threads."""

    label = "this computer"

    def __init__(self) -> None:
        self.store: Any = None
        self.data: Any = None
        self.download = True

    def open(self, store, data, *, download: bool = True) -> None:
        """Before the first run: the RunStore the runs record into and the loaded dataset."""
        self.store, self.data, self.download = store, data, download

    def slots(self, requested: int | None) -> int:
        """How many runs train at once."""
        return max(1, requested or 1)

    def continue_run(self, job: RunJob):
        """The trainer that continues a stored run from its checkpoint; None when it has none
        or it cannot be read (the runner then starts the run over)."""
        from resnet_studio.core.training.trainer import Trainer

        if not job.checkpoint or not Path(job.checkpoint).exists():
            return None
        try:
            return Trainer.from_checkpoint(job.checkpoint, store=self.store,
                                           run_name=job.run_name, experiment_id=job.experiment_id,
                                           data=self.data, download=self.download)
        except (ValueError, OSError):  # an unreadable or incompatible checkpoint
            return None

    def start_run(self, job: RunJob):
        from resnet_studio.core.training.trainer import Trainer

        return Trainer(job.spec, job.config, store=self.store, run_name=job.run_name,
                       experiment_id=job.experiment_id, data=self.data, download=self.download)

    def close(self) -> None:
        self.data = None


def cluster_missing() -> str:
    """Why a cluster backend cannot be used here ('' when Ray is installed). Imports nothing."""
    try:
        found = importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):  # sys.modules["ray"] is None, or a broken install
        found = False
    if found:
        return ""
    return f"running on a Ray cluster needs Ray: {INSTALL_HINT}"


def make_backend(cluster: ClusterOptions | None = None):
    """The local backend, or a Ray backend for `cluster` (ClusterUnavailable without Ray)."""
    if cluster is None:
        return LocalBackend()
    cluster = cluster.validate()
    try:
        from resnet_studio.core.experiments.ray_backend import RayBackend
    except ImportError as e:
        if (e.name or "").split(".")[0] != "ray":
            raise
        raise ClusterUnavailable(f"running on a Ray cluster needs Ray: {INSTALL_HINT}") from None
    return RayBackend(cluster)


__all__ = ["INSTALL_HINT", "ClusterOptions", "ClusterUnavailable", "LocalBackend", "RunJob",
           "cluster_missing", "make_backend"]
