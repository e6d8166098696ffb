"""Sweeps on Ray: each run of an experiment is a Ray task with its own resources (`--cpus-per-run`,
`--gpus-per-run 0.25` packs four small nets on a GPU), its numbers recorded in the same SQLite
store as a local run's. Imported only when a Ray backend is asked for (backends.make_backend).

Why tasks and not Tune trials: the experiment already has its plan, its store, its checkpoints
and resume; a task is "train this run", and Ray's own `max_retries` re-runs it when its worker
dies. Tune would bring a second experiment folder, its own checkpoint syncing and reporting,
and trial bookkeeping that would have to be mirrored back into the store.

Who does what, and on which thread:
  driver   the ExperimentRunner as for local runs (a command's main thread, the Depth Lab's
           session thread). Each of its worker threads follows one run: it submits the run's
           task, takes the run's records from the channel every POLL_S and fires them into the
           run's callbacks (RunRecorder -> the store, the runner's listener) on that thread, in
           the order a local Trainer fires them. `RemoteTrainer` is the Trainer it stands in for.
  task     a Ray worker process anywhere in the cluster: a Trainer without a store, in the run's
           folder under the checkpoint storage, continuing the folder's checkpoint when it has
           one (a retry after the worker died, a resumed experiment). `_Reporter` batches its
           records and sends them at most every REPORT_EVERY_S (at once for the start, a
           validation, a checkpoint, a status change and the end); the reply says whether the
           driver asked the run to stop (it then stops at the next step with a checkpoint).
  channel  `_RunChannel`, an actor without CPUs (it never takes a run's place), holding each
           run's records until the driver takes them.
The dataset is loaded once by the driver and put in Ray's object store: workers need neither
the files nor a network connection.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import time
from dataclasses import asdict
from pathlib import Path

import ray

from resnet_studio.core.experiments.backends import ClusterOptions, ClusterUnavailable, RunJob
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.training.callbacks import (
    Callback,
    CallbackList,
    CheckpointInfo,
    EvalResult,
    TrainLog,
    TrainResult,
)
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.core.training.recorder import RunRecorder

POLL_S = 0.2  # how often the driver takes a run's records (the Depth Lab draws at 20 Hz)
REPORT_EVERY_S = 0.25  # how often a task sends its batched records and hears about a stop
MAX_SLOTS = 256  # runs followed at once (one driver thread each)


class _RunChannel:
    """Each run's records on their way from its task to the driver; the driver's stop requests
    on their way back (the answer to every `put`)."""

    def __init__(self) -> None:
        self._records: dict[str, list] = {}
        self._stops: set[str] = set()

    def put(self, run_id: str, records: list) -> bool:
        self._records.setdefault(run_id, []).extend(records)
        return run_id in self._stops

    def take(self, run_id: str) -> list:
        return self._records.pop(run_id, [])

    def stop(self, run_id: str) -> None:
        self._stops.add(run_id)


class _Reporter(Callback):
    """In the task: the Trainer's hooks as plain records for the channel."""

    def __init__(self, channel, run_id: str):
        self.channel = channel
        self.run_id = run_id
        self.records: list[tuple] = []
        self.sent = 0.0
        self.trainer = None

    def send(self) -> None:
        records, self.records = self.records, []
        self.sent = time.monotonic()
        if ray.get(self.channel.put.remote(self.run_id, records)) and self.trainer is not None:
            self.trainer.stop()  # the driver asked: stop at the next step, with a checkpoint

    def _add(self, record: tuple, now: bool = False) -> None:
        self.records.append(record)
        if now or time.monotonic() - self.sent >= REPORT_EVERY_S:
            self.send()

    def on_train_start(self, trainer) -> None:
        self.trainer = trainer
        self._add(("start", {"run_dir": str(trainer.run_dir), "resumed": trainer.resumed,
                             "step": trainer.step, "spec": trainer.spec.to_dict(),
                             "config": trainer.config.to_dict(), "warnings": trainer.warnings,
                             "pid": os.getpid(), "node": socket.gethostname()}), now=True)

    def on_train_batch_end(self, trainer, step) -> None:
        if time.monotonic() - self.sent >= REPORT_EVERY_S:  # long log windows: still hear a stop
            self.send()

    def on_log(self, trainer, log) -> None:
        self._add(("log", log.to_dict()))

    def on_validation_end(self, trainer, result) -> None:
        self._add(("eval", result.to_dict()), now=True)

    def on_checkpoint(self, trainer, info) -> None:
        self._add(("checkpoint", asdict(info)), now=True)

    def on_status(self, trainer, status, message) -> None:
        self._add(("status", status, message), now=True)

    def on_data_progress(self, trainer, done, total, message) -> None:
        self._add(("data", done, total, message))

    def on_exception(self, trainer, exc, message) -> None:
        self._add(("exception", message), now=True)

    def on_train_end(self, trainer, result) -> None:
        self._add(("end", result.to_dict()), now=True)


def _node_share(config) -> dict:
    """The run's share of its node. A run given no GPU sees none, even on a GPU node: Ray
    leaves CUDA_VISIBLE_DEVICES alone then, and the node's GPUs belong to the runs that asked
    for them (every run of a sweep asks the same, and a worker serves one sweep, so no CUDA was
    set up in this process before). Threads: the CPUs Ray gave the run, not every core of the
    node (the app's remembered choice is for a machine to itself)."""
    context = ray.get_runtime_context()
    if not context.get_accelerator_ids().get("GPU"):
        if config.device == "cuda":
            raise ValueError("a run on the 'cuda' device needs a GPU: pass --gpus-per-run "
                             "(1, or 0.25 to pack four small nets on one GPU)")
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    cpus = context.get_assigned_resources().get("CPU", 1.0)
    return {"threads": config.threads or max(1, round(cpus))}


def _train_run(job: RunJob, run_id: str, run_dir: str, storage: str, data, channel,
               download: bool) -> dict:
    """The Ray task: train one run in `run_dir`, continuing its checkpoint if it has one."""
    from resnet_studio.core.training.checkpoint import SIDECAR
    from resnet_studio.core.training.trainer import Trainer

    if not Path(storage).is_dir():
        raise OSError(f"the checkpoint storage {storage} is not there on {socket.gethostname()}: "
                      "pass --storage a folder that every node of the cluster mounts")
    folder = Path(run_dir)
    share = _node_share(job.config)
    reporter = _Reporter(channel, run_id)
    trainer = None
    if (folder / SIDECAR).exists():
        try:
            trainer = Trainer.from_checkpoint(folder, run_dir=folder, data=data, **share,
                                              download=download, callbacks=[reporter])
        except (ValueError, OSError):  # unreadable or incompatible: the run starts over
            shutil.rmtree(folder, ignore_errors=True)
    if trainer is None:
        trainer = Trainer(job.spec, job.config.replace(**share), run_dir=folder,
                          data=data, download=download, callbacks=[reporter])
        trainer.run_id = run_id  # the driver's id, so that a retry continues the same run
    try:
        return trainer.fit().to_dict()
    finally:
        reporter.send()


class RemoteTrainer:
    """The driver's stand-in for a Trainer training in a Ray task (see the module's notes):
    what the runner and the hooks read of a trainer, filled in from the task's records.
    `worker_pid` / `worker_node`: where the current attempt trains; `attempts`: how many have
    started (more than one: its worker died and Ray retried it from its checkpoint)."""

    def __init__(self, backend: RayBackend, job: RunJob, run_id: str, run_dir: Path):
        self.backend = backend
        self.job = job
        self.run_id = run_id
        self.run_dir = run_dir
        self.run_name = job.run_name
        self.spec: ArchSpec = job.spec
        self.config: TrainConfig = job.config
        self.step = 0
        self.status = "created"
        self.message = ""
        self.warnings: list[str] = []
        self.model = self.device = self.data = None  # all of them live in the task
        self.worker_pid: int | None = None
        self.worker_node = ""
        self.attempts = 0
        self._recorder = RunRecorder(backend.store, name=job.run_name,
                                     experiment_id=job.experiment_id)
        self.callbacks = CallbackList([self._recorder])
        self._resumed = False
        self._stop_requested = False
        self._result: TrainResult | None = None

    @property
    def resumed(self) -> bool:
        return self._resumed

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    def setup(self) -> None:
        """Nothing to do here: the task sets up (in its own process, with its own RNG)."""

    def resume(self) -> None:
        """Nothing to do: a remote run is never paused."""

    def stop(self) -> None:
        """Stop at the task's next step, with a checkpoint (any thread, a signal handler too:
        only a flag here; `fit`'s loop tells the task, which hears it at its next report)."""
        self._stop_requested = True

    def fit(self) -> TrainResult:
        channel = self.backend.channel
        ref = self.backend.submit(self)
        stop_sent = False
        try:
            while True:
                ready, _ = ray.wait([ref], timeout=POLL_S)
                if self._stop_requested and not stop_sent:
                    channel.stop.remote(self.run_id)
                    stop_sent = True
                self._replay(ray.get(channel.take.remote(self.run_id)))
                self._recorder.on_train_batch_end(self, self.step)  # the run's heartbeat
                if ready:
                    break
        except BaseException:  # the store failed, a second Ctrl+C: nothing trains unrecorded
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
            raise
        try:
            ray.get(ref)
        except ray.exceptions.RayTaskError as e:  # the task raised: the same error as locally
            cause = getattr(e, "cause", None)
            raise cause if isinstance(cause, Exception) else RuntimeError(str(e)) from None
        except ray.exceptions.RayError as e:  # its worker or node died once too often
            raise RuntimeError(
                f"its Ray worker died {self.attempts or 1} time(s) ({type(e).__name__}); "
                "resume the experiment to continue it from its last checkpoint") from None
        if self._result is None:
            raise RuntimeError("the Ray task ended without reporting its result")
        return self._result

    # -- the task's records, fired into the hooks on this thread ---------------------------------
    def _replay(self, records: list) -> None:
        for kind, *payload in records:
            getattr(self, f"_on_{kind}")(*payload)

    def _on_start(self, info: dict) -> None:
        self.attempts += 1
        if self.attempts > 1:
            # a retry: what the dead attempt had not sent is past its checkpoint, and the
            # store drops that part of the run when the new attempt claims it
            fresh = RunRecorder(self.backend.store, name=self.job.run_name,
                                experiment_id=self.job.experiment_id)
            hooks = self.callbacks.callbacks
            hooks[hooks.index(self._recorder)] = fresh
            self._recorder = fresh
        self.step, self._resumed = info["step"], info["resumed"]
        self.spec = ArchSpec.from_dict(info["spec"])
        self.config = TrainConfig.from_dict(info["config"])
        self.run_dir = Path(info["run_dir"])
        self.warnings = list(info["warnings"])
        self.worker_pid, self.worker_node = info["pid"], info["node"]
        self.callbacks.on_train_start(self)
        if self.job.run_dir and self.job.run_dir != str(self.run_dir):  # copied to the storage
            self.backend.store.update(self.run_id, run_dir=str(self.run_dir))

    def _on_status(self, status: str, message: str) -> None:
        self.status, self.message = status, message
        self.callbacks.on_status(self, status, message)

    def _on_log(self, log: dict) -> None:
        record = TrainLog(**log)
        self.step = record.step
        self.callbacks.on_log(self, record)

    def _on_eval(self, result: dict) -> None:
        self.callbacks.on_validation_end(self, EvalResult(**result))

    def _on_checkpoint(self, info: dict) -> None:
        self.callbacks.on_checkpoint(self, CheckpointInfo(**info))

    def _on_data(self, done: int, total: int, message: str) -> None:
        self.callbacks.on_data_progress(self, done, total, message)

    def _on_exception(self, message: str) -> None:
        self.callbacks.on_exception(self, RuntimeError(message), message)

    def _on_end(self, result: dict) -> None:
        self._result = TrainResult(**result)
        self.step = self._result.steps
        self.callbacks.on_train_end(self, self._result)


class RayBackend:
    """Runs train as Ray tasks (see the module's notes). `open` joins or starts Ray (a Ray this
    process has already joined is used as it is, and left running at `close`)."""

    label = "Ray cluster"

    def __init__(self, options: ClusterOptions):
        self.options = options
        self.store = None
        self.download = True
        self.storage = options.storage_dir()
        self.channel = None
        self._data = None
        self._task = None
        self._started_ray = False

    def open(self, store, data, *, download: bool = True) -> None:
        self.store, self.download = store, download
        self.storage.mkdir(parents=True, exist_ok=True)
        self.connect()
        opts = self.options
        self._data = ray.put(data)
        self.channel = ray.remote(num_cpus=0)(_RunChannel).remote()
        self._task = ray.remote(_train_run).options(
            num_cpus=opts.cpus_per_run, num_gpus=opts.gpus_per_run,
            max_retries=opts.max_retries, retry_exceptions=False)

    def connect(self) -> None:
        """Join (or start) Ray now: ClusterUnavailable when the address answers nothing.
        `open` does it too; calling it first lets a command fail before it stores anything."""
        if ray.is_initialized():
            return
        address = self.options.address.strip() or None
        # a local Ray for this sweep: this machine's CPUs and GPUs, no dashboard to serve
        local = {"include_dashboard": False} if address is None else {}
        try:
            ray.init(address=address, logging_level=logging.WARNING, **local)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise ClusterUnavailable(f"cannot reach the Ray cluster at {address}: {e}") from None
        self._started_ray = True

    def slots(self, requested: int | None) -> int:
        """Runs followed at once: --concurrency if given, else as many as the live nodes fit."""
        if requested:
            return min(MAX_SLOTS, requested)
        cpus, gpus = self.options.cpus_per_run, self.options.gpus_per_run
        fits = 0
        for node in ray.nodes():
            if node.get("Alive"):
                have = node.get("Resources", {})
                n = have.get("CPU", 0) // cpus
                fits += int(min(n, have.get("GPU", 0) // gpus) if gpus else n)
        if fits < 1:
            raise ClusterUnavailable(f"no node of the Ray cluster has {cpus:g} CPU(s)"
                                     + (f" and {gpus:g} GPU(s)" if gpus else "")
                                     + " free for a run; lower --cpus-per-run/--gpus-per-run")
        return min(MAX_SLOTS, fits)

    def continue_run(self, job: RunJob) -> RemoteTrainer:
        """A stored run continues in its folder; one outside the storage (begun on this
        computer) is copied there first, so that any worker can read its checkpoint."""
        folder = self.storage / job.run_id
        old = Path(job.run_dir) if job.run_dir else None
        if old is not None and old.resolve() != folder.resolve() and old.is_dir() \
                and not folder.exists():
            shutil.copytree(old, folder)
        return RemoteTrainer(self, job, job.run_id, folder)

    def start_run(self, job: RunJob) -> RemoteTrainer:
        from resnet_studio.core.training.store import new_run_id

        run_id = new_run_id()
        return RemoteTrainer(self, job, run_id, self.storage / run_id)

    def submit(self, trainer: RemoteTrainer):
        return self._task.remote(trainer.job, trainer.run_id, str(trainer.run_dir),
                                 str(self.storage), self._data, self.channel, self.download)

    def close(self) -> None:
        if self.channel is not None:
            with contextlib.suppress(Exception):  # Ray may be gone already (a lost cluster)
                ray.kill(self.channel)
        self.channel = self._data = self._task = None
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False


__all__ = ["POLL_S", "REPORT_EVERY_S", "RayBackend", "RemoteTrainer"]
