"""Running an experiment: its missing cells as a queue of ordinary training runs, one Trainer
at a time (or `concurrency` at once), with cancel / stop / add while it runs. Where the runs
train is the backend's business (backends.py: this process, or a Ray cluster); the queue, the
store and the listener are the same for both.

Threads: `ExperimentRunner.run()` blocks the thread that calls it (a command's main thread, the
Depth Lab's session thread) and trains there, or in `concurrency` worker threads it starts
(with a Ray backend each thread follows one run training on the cluster).
`ExperimentListener` methods are called on those training threads, after the run store has
recorded what they report: keep them short (post a record, print a line). `stop`, `cancel_run`
and `add_run` may be called from any thread.

A runner process that dies leaves finished runs as they are; `ExperimentRunner(...).run()` on
the same id later runs only what is missing, resuming interrupted runs from their checkpoints.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from resnet_studio.core.experiments.backends import LocalBackend, RunJob
from resnet_studio.core.experiments.plan import Cell, Experiment, make_spec
from resnet_studio.core.experiments.store import ExperimentStore
from resnet_studio.core.training.callbacks import Callback, EvalResult, TrainLog, TrainResult


class ExperimentListener:
    """What a front-end hears while an experiment runs (on the runner's threads; keep it short).
    Every method does nothing by default."""

    def on_experiment_start(self, experiment: Experiment) -> None: ...

    def on_run_start(self, cell: Cell, run_id: str, resumed: bool) -> None:
        """Also again, resumed, when a Ray worker died and its run goes on from a checkpoint."""

    def on_data_progress(self, done: int, total: int, message: str) -> None: ...

    def on_log(self, cell: Cell, log: TrainLog) -> None: ...

    def on_validation_end(self, cell: Cell, result: EvalResult) -> None: ...

    def on_run_end(self, cell: Cell, result: TrainResult | None, message: str) -> None: ...

    def on_cells_changed(self, experiment: Experiment) -> None: ...

    def on_experiment_end(self, experiment: Experiment) -> None: ...


class _CellCallback(Callback):
    """Forwards one trainer's records to the listener, tagged with its cell."""

    def __init__(self, runner: ExperimentRunner, cell: Cell):
        self.runner = runner
        self.cell = cell

    def on_train_start(self, trainer) -> None:
        self.runner._run_started(self.cell, trainer)

    def on_log(self, trainer, log) -> None:
        self.runner.listener.on_log(self.cell, log)

    def on_validation_end(self, trainer, result) -> None:
        self.runner.listener.on_validation_end(self.cell, result)

    def on_data_progress(self, trainer, done, total, message) -> None:
        self.runner.listener.on_data_progress(done, total, message)


class ExperimentRunner:
    """Runs an experiment's missing cells as a queue and records each as a normal run.

    `concurrency` > 1 trains that many small models at once in threads (worth it on a GPU,
    where one CIFAR ResNet leaves most of the device idle; on a CPU they only compete); None:
    one locally, as many as the cluster's resources fit with a Ray `backend`. Cells
    added while it runs (`add_run`, or `ExperimentStore.add_cell` from anywhere) are picked up.
    `cancel_run` stops one run (it is marked cancelled, the others go on); `stop` ends the
    experiment (the running runs write a checkpoint and are resumed by the next `run()`).
    """

    def __init__(self, store: ExperimentStore, experiment_id: str, *,
                 listener: ExperimentListener | None = None, concurrency: int | None = None,
                 callbacks: Sequence[Callback] = (), data: Any | None = None,
                 download: bool = True, backend: Any | None = None):
        self.store = store
        self.experiment_id = store.resolve(experiment_id)
        self.listener = listener or ExperimentListener()
        self.concurrency = None if concurrency is None else max(1, int(concurrency))
        self.backend = backend or LocalBackend()
        self._slots = 1
        self.extra_callbacks = list(callbacks)
        self.data = data
        self.download = download
        self._lock = threading.RLock()
        self._setup_lock = threading.Lock()
        self._active: dict[int, Any] = {}  # cell index -> Trainer
        self._claimed: set[int] = set()
        self._stop = False
        self._error: BaseException | None = None

    # -- control (any thread) ---------------------------------------------------------------------
    def stop(self) -> None:
        """End the experiment: running runs stop with a checkpoint; it stays resumable."""
        with self._lock:
            self._stop = True
            trainers = list(self._active.values())
        for t in trainers:
            t.resume()
            t.stop()

    def cancel_run(self, index: int) -> None:
        """Cancel one cell: skipped if it has not started, stopped if it is running."""
        self.store.set_cancelled(self.experiment_id, index, True)
        with self._lock:
            trainer = self._active.get(index)
        if trainer is not None:
            trainer.resume()
            trainer.stop()
        self.listener.on_cells_changed(self.experiment)

    def add_run(self, depth: int, variant: str, seed: int = 0) -> Cell:
        cell = self.store.add_cell(self.experiment_id, depth, variant, seed)
        self.listener.on_cells_changed(self.experiment)
        return cell

    def running_cells(self) -> list[int]:
        with self._lock:
            return sorted(self._active)

    @property
    def experiment(self) -> Experiment:
        return self.store.get(self.experiment_id)

    @property
    def stopping(self) -> bool:
        return self._stop

    # -- the queue ---------------------------------------------------------------------------------
    def run(self) -> Experiment:
        """Run every missing cell (new, stopped, interrupted or failed; not cancelled ones).
        Returns the experiment as stored at the end. Exceptions other than ordinary errors
        (KeyboardInterrupt, a crash) propagate; the experiment then stays resumable."""
        exp_id = self.experiment_id
        self.store.claim(exp_id)
        self.listener.on_experiment_start(self.experiment)
        status, message = "finished", ""
        try:
            if self.data is None:
                self.data = self._load_data()
            try:
                self.backend.open(self.store.runs, self.data, download=self.download)
                self._slots = self.backend.slots(self.concurrency)
                if self._slots == 1:
                    self._worker()
                else:
                    threads = [threading.Thread(target=self._worker, name=f"experiment-{i}",
                                                daemon=True) for i in range(self._slots)]
                    for t in threads:
                        t.start()
                    for t in threads:
                        t.join()
            finally:
                self.backend.close()
            if self._error is not None:
                raise self._error
            if self._stop:
                status, message = "stopped", "stopped; run it again to finish the missing runs"
        except Exception as e:  # the data could not be loaded, a store error
            status, message = "failed", f"{type(e).__name__}: {e}" if not str(e) else str(e)
            self.store.set_status(exp_id, status, message)
            self.listener.on_experiment_end(self.experiment)
            raise
        except BaseException:
            self.store.set_status(exp_id, "interrupted", "interrupted; run it again to finish "
                                  "the missing runs")
            raise
        exp = self.experiment
        if status == "finished" and exp.missing():
            status = "incomplete"
            message = "not finished: " + ", ".join(f"{c.label} ({c.status})"
                                                   for c in exp.missing())
        self.store.set_status(exp_id, status, message)
        exp = self.experiment
        self.listener.on_experiment_end(exp)
        return exp

    def _load_data(self):
        from resnet_studio.core.data import load_dataset

        cfg = self.store.get(self.experiment_id).config
        progress = lambda done, total, msg: self.listener.on_data_progress(done, total, msg)
        return load_dataset(cfg.dataset, val_fraction=cfg.val_fraction,
                            image_size=cfg.image_size or None, download=self.download,
                            progress=progress)

    def _next_cell(self) -> Cell | None:
        with self._lock:
            if self._stop:
                return None
            cells = self.store.get(self.experiment_id).cells
            if self._slots > 1:  # the deepest first, so that no long run trains alone at the end
                cells = sorted(cells, key=lambda c: -c.depth)
            for c in cells:
                # failed runs of this session are not retried in a loop; a new run() retries
                if c.index in self._claimed or c.done:
                    continue
                self._claimed.add(c.index)
                return c
            return None

    def _worker(self) -> None:
        while self._error is None:
            cell = self._next_cell()
            if cell is None:
                return
            try:
                self._run_cell(cell)
            except Exception as e:  # a run that could not even start: record it, go on
                self.listener.on_run_end(cell, None, f"{type(e).__name__}: {e}")
            except BaseException as e:  # a crash: end the experiment (resumable)
                with self._lock:
                    self._error = self._error or e
                    trainers = list(self._active.values())
                for t in trainers:
                    t.stop()
                return

    def _run_cell(self, cell: Cell) -> None:
        exp = self.store.get(self.experiment_id)
        runs = self.store.runs
        rec = runs.get(cell.run_id) if cell.run_id and runs.exists(cell.run_id) else None
        job = RunJob(cell=cell, spec=make_spec(cell.depth, cell.variant),
                     config=exp.run_config(cell), run_name=f"{exp.name}: {cell.label}",
                     experiment_id=exp.id)
        trainer = None
        if rec is not None and rec.status != "finished":
            trainer = self.backend.continue_run(replace(
                job, run_id=rec.id, run_dir=rec.run_dir, checkpoint=rec.checkpoint))
        if trainer is None:
            if rec is not None:  # interrupted before its first checkpoint: start over
                runs.delete(rec.id, delete_files=True)
                self.store.set_cell_run(exp.id, cell.index, None)
            trainer = self.backend.start_run(job)
        # after the trainer's RunRecorder, so the run's row exists when ours fire
        trainer.callbacks.append(_CellCallback(self, cell))
        for cb in self.extra_callbacks:
            trainer.callbacks.append(cb)
        with self._lock:
            self._active[cell.index] = trainer
            cancelled_meanwhile = self._stop or self.store.get(exp.id).cell(cell.index).cancelled
        if cancelled_meanwhile:
            trainer.stop()
        result, message = None, ""
        t0 = time.perf_counter()
        try:
            if self._slots > 1:
                # the model's initial weights come from the global RNG: one setup at a time
                with self._setup_lock:
                    trainer.setup()
            result = trainer.fit()
            message = result.message
        except Exception as e:  # bad dataset, impossible spec, an error inside the loop
            message = f"{type(e).__name__}: {e}"
            if runs.exists(trainer.run_id):
                runs.set_status(trainer.run_id, "failed", message)
        finally:
            with self._lock:
                self._active.pop(cell.index, None)
            if runs.exists(trainer.run_id):
                # a remote trainer knows whether it resumed once its task has started
                prior = (cell.seconds or 0.0) if trainer.resumed else 0.0
                self.store.set_cell_run(exp.id, cell.index, trainer.run_id,
                                        round(prior + time.perf_counter() - t0, 3))
        self.listener.on_run_end(self.store.get(exp.id).cell(cell.index), result, message)

    def _run_started(self, cell: Cell, trainer) -> None:
        # the run's row exists now (RunRecorder fires first): point the cell at it
        self.store.set_cell_run(self.experiment_id, cell.index, trainer.run_id)
        self.listener.on_run_start(self.store.get(self.experiment_id).cell(cell.index),
                                   trainer.run_id, trainer.resumed)


def run_experiment(store: ExperimentStore, experiment_id: str, **kwargs: Any) -> Experiment:
    return ExperimentRunner(store, experiment_id, **kwargs).run()
