"""One model trained by several processes, for `resnet-studio train --nproc N` and the Train
tab's Processes setting.

`DistributedTraining` starts torch's elastic launcher (`python -m torch.distributed.run`, the
engine behind `torchrun`) as a child process; it starts `nproc` workers on this computer, each
`resnet-studio train --distributed-worker REQUEST.json`, which `TrainingRun.build` joins into
one process group (core.training.distributed: DistributedDataParallel, NCCL on GPUs, gloo on the
CPU). Rank 0 alone writes the checkpoints and the run store, so a front-end follows the run
there, by the run id chosen here before the launch. Across computers the same command runs on
each with `nnodes`, its `node_rank` and one `rdzv_endpoint`; checkpoints are written where rank 0
runs (a shared folder lets any node resume them).

Threads: `prepare`, `start` and `wait` on one thread (the command's main thread, a GUI Job);
`stop` from any thread. Importing this module does not import torch.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import IO, Any

from resnet_studio.app.training import TrainRequest
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.training.config import TrainConfig

RDZV_BACKENDS = ("c10d", "static", "etcd", "etcd-v2")
DOWNLOADED = ("cifar10", "cifar100", "mnist", "fashionmnist")  # fetched once, before the launch
# seconds the launcher gives the workers to write their checkpoint after a stop
SHUTDOWN_TIMEOUT_S = 120
# the launcher's child: torchrun, whose stop is this run's stop, not a traceback
TORCHRUN = ("import sys; from resnet_studio.app.distributed import torchrun_main; "
            "sys.exit(torchrun_main(sys.argv[1:]))")


@dataclass(frozen=True)
class LaunchSettings:
    """torchrun's settings: `nproc` processes on this computer, `nnodes` computers."""

    nproc: int = 1
    nnodes: int = 1
    node_rank: int | None = None
    rdzv_endpoint: str | None = None
    rdzv_id: str | None = None
    rdzv_backend: str | None = None

    @property
    def world(self) -> int:
        return self.nproc * self.nnodes

    @property
    def launches(self) -> bool:
        """Does this need torchrun (more than one process in all)?"""
        return self.world > 1

    def check(self, config: TrainConfig | None = None) -> None:
        """Raise ValueError naming the flag to fix. `config` (the run's) adds the checks that
        need it: the batch splits evenly, there are GPUs or cores enough for `nproc`."""
        if self.nproc < 1:
            raise ValueError(f"--nproc must be at least 1 (processes on this computer), got "
                             f"{self.nproc}")
        if self.nnodes < 1:
            raise ValueError(f"--nnodes must be at least 1 (computers), got {self.nnodes}")
        rdzv = [flag for flag, value in (("--node-rank", self.node_rank),
                                         ("--rdzv-endpoint", self.rdzv_endpoint),
                                         ("--rdzv-id", self.rdzv_id),
                                         ("--rdzv-backend", self.rdzv_backend))
                if value is not None]
        if rdzv and not self.launches:
            verb = "applies" if len(rdzv) == 1 else "apply"
            raise ValueError(f"{', '.join(rdzv)} only {verb} to several processes: add --nproc N "
                             "(processes on this computer) or --nnodes N (computers)")
        if self.nnodes > 1 and not self.rdzv_endpoint:
            raise ValueError(f"--nnodes {self.nnodes} needs --rdzv-endpoint HOST:PORT, the same "
                             "on every computer (where node 0 listens)")
        if self.node_rank is not None and not 0 <= self.node_rank < self.nnodes:
            raise ValueError(f"--node-rank must be between 0 and {self.nnodes - 1} (one per "
                             f"computer), got {self.node_rank}")
        if self.rdzv_endpoint is not None and (not self.rdzv_endpoint.strip()
                                               or any(c.isspace() for c in self.rdzv_endpoint)):
            raise ValueError(f"--rdzv-endpoint must be HOST:PORT, got '{self.rdzv_endpoint}'")
        if self.rdzv_backend is not None and self.rdzv_backend not in RDZV_BACKENDS:
            raise ValueError(f"--rdzv-backend must be one of {', '.join(RDZV_BACKENDS)}")
        if config is not None and self.launches:
            self._check_run(config)

    def _check_run(self, config: TrainConfig) -> None:
        from resnet_studio.core.training.runtime import resolve_device

        device = resolve_device(config.device)
        if device.type == "mps":
            raise ValueError("several processes train on CUDA GPUs or the CPU, not Apple MPS "
                             "(--device cpu)")
        if device.type == "cuda":
            import torch

            gpus = torch.cuda.device_count()
            if self.nproc > gpus:
                raise ValueError(f"--nproc {self.nproc} is more than the {gpus} CUDA GPU"
                                 f"{'s' if gpus != 1 else ''} of this computer (one process "
                                 "per GPU)")
        elif self.nproc > (os.cpu_count() or 1):
            raise ValueError(f"--nproc {self.nproc} is more than the {os.cpu_count()} CPU cores "
                             "of this computer")
        if config.batch_size % self.world:
            raise ValueError(f"--batch-size {config.batch_size} does not split evenly across "
                             f"{self.world} processes; use a multiple of {self.world}")

    def torchrun_args(self) -> list[str]:
        args = ["--nproc-per-node", str(self.nproc), "--nnodes", str(self.nnodes)]
        if self.rdzv_endpoint is None and self.nnodes == 1:
            args.append("--standalone")  # a free local port: two runs on one box do not clash
        for flag, value in (("--node-rank", self.node_rank),
                            ("--rdzv-endpoint", self.rdzv_endpoint),
                            ("--rdzv-id", self.rdzv_id), ("--rdzv-backend", self.rdzv_backend)):
            if value is not None:
                args += [flag, str(value)]
        return args


# -- the request the workers read ------------------------------------------------------------

def request_to_json(request: TrainRequest) -> dict[str, Any]:
    data = asdict(request)
    data["spec"] = request.spec.to_dict() if request.spec is not None else None
    data["config"] = request.config.to_dict() if request.config is not None else None
    data["resume_overrides"] = dict(request.resume_overrides)
    return data


def request_from_json(data: dict[str, Any]) -> TrainRequest:
    fields = dict(data)
    if fields.get("spec") is not None:
        fields["spec"] = ArchSpec.from_dict(fields["spec"])
    if fields.get("config") is not None:
        fields["config"] = TrainConfig.from_dict(fields["config"])
    return TrainRequest(**fields)


def read_request(path: str | Path) -> TrainRequest:
    """The request a launcher wrote for its workers (marked distributed)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return replace(request_from_json(data), distributed=True)
    except (TypeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is not a training request a launcher wrote ({e})") from None


# -- the launcher ----------------------------------------------------------------------------

def torchrun_main(argv: list[str]) -> int:
    """torchrun (`torch.distributed.run.main`) with `argv`; a SIGTERM (our stop, passed on to
    the workers, who write their checkpoint) ends it with 128 + the signal, quietly. A worker's
    failure: its own message, torchrun's summary of which rank ended how, exit code 1 (no
    launcher traceback)."""
    import logging

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main

    # a stop's warnings ("Sending process 123 closing signal SIGTERM") are not the user's news
    logging.getLogger("torch.distributed.elastic").setLevel(logging.ERROR)
    try:
        main(argv)
    except SignalException as e:
        return 128 + int(e.sigval)
    except ChildFailedError:
        return 1
    return 0


class DistributedTraining:
    """torchrun and its workers, as a child process (see the module doc)."""

    def __init__(self, request: TrainRequest, launch: LaunchSettings, *,
                 worker_flags: tuple[str, ...] = ()):
        self.request = request
        self.launch = launch
        self.worker_flags = worker_flags  # e.g. --json, --quiet for rank 0's output
        self.process: subprocess.Popen | None = None
        self._folder: tempfile.TemporaryDirectory | None = None
        self._stopping = False

    @property
    def run_id(self) -> str | None:
        return self.request.run_id

    @classmethod
    def prepare(cls, request: TrainRequest, launch: LaunchSettings, *,
                worker_flags: tuple[str, ...] = ()) -> DistributedTraining:
        """Check everything a worker would (settings, checkpoint, memory; as one ValueError /
        OSError here, not N tracebacks there), fetch a dataset that downloads, and choose the
        run id. Loads torch."""
        from resnet_studio.app.training import TrainingRun

        launch.check()
        checked = TrainingRun.build(replace(request, record=False, gradient_every=0))
        trainer = checked.trainer
        launch.check(trainer.config)
        if launch.nnodes == 1 or launch.node_rank in (None, 0):
            request = replace(request, run_id=trainer.run_id)
        cls._fetch_dataset(trainer.config, request.download)
        return cls(request, launch, worker_flags=worker_flags)

    @staticmethod
    def _fetch_dataset(config: TrainConfig, download: bool) -> None:
        from resnet_studio.core.data import load_dataset, parse_dataset

        if download and parse_dataset(config.dataset)[0] in DOWNLOADED:
            load_dataset(config.dataset, val_fraction=config.val_fraction, download=True)

    def command(self, request_file: str | Path) -> list[str]:
        return [sys.executable, "-c", TORCHRUN, *self.launch.torchrun_args(),
                "--shutdown-timeout", str(SHUTDOWN_TIMEOUT_S),
                "-m", "resnet_studio", "train", "--distributed-worker", str(request_file),
                *self.worker_flags]

    def environment(self) -> dict[str, str]:
        """The workers' environment: this resnet_studio first on the path; on the CPU each
        worker its share of the cores (unless OMP_NUM_THREADS says otherwise), and no
        concurrent speed measurement (it would measure the other workers' load)."""
        import resnet_studio

        env = dict(os.environ)
        package_root = str(Path(resnet_studio.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH"))
                                            if p)
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1)
                                                  // self.launch.nproc)))
        env["RESNET_STUDIO_AUTOTUNE"] = "0"
        env.setdefault("LOGLEVEL", "ERROR")  # torch.distributed.elastic's agent logger
        return env

    def start(self, *, stdout: IO | int | None = None, stderr: IO | int | None = None) -> None:
        """Write the request and start torchrun (its own session: a Ctrl+C in the terminal
        reaches this process, which stops the run through `stop`, not every worker twice)."""
        self._folder = tempfile.TemporaryDirectory(prefix="resnet-studio-launch-")
        path = Path(self._folder.name) / "request.json"
        path.write_text(json.dumps(request_to_json(self.request)), encoding="utf-8")
        self.process = subprocess.Popen(self.command(path), env=self.environment(),
                                        stdout=stdout, stderr=stderr, start_new_session=True)

    def stop(self) -> None:
        """Every worker stops after the step they agree on; rank 0 writes a checkpoint (torchrun
        passes SIGTERM on to the workers; the launch exits once they have)."""
        self._stopping = True
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def wait(self, timeout: float | None = None) -> int:
        """torchrun's exit code (0: every worker finished or stopped cleanly)."""
        try:
            return self.process.wait(timeout)
        except KeyboardInterrupt:  # asked twice: end it now
            self.process.kill()
            self.process.wait()
            raise
        finally:
            if self.process.poll() is not None and self._folder is not None:
                self._folder.cleanup()
                self._folder = None


__all__ = ["DistributedTraining", "LaunchSettings", "read_request",
           "request_from_json", "request_to_json", "torchrun_main"]
