"""Runs one experiment (a queue of training runs) in a QThread; hands its records to the GUI at a
UI tick, as TrainingSession does for a single run.

The runner's listener runs on the training thread and only puts plain records on a queue; a timer
on the GUI thread drains it 20 times a second. Cancel one run, stop all, or add a run from the GUI
thread at any time: the runner's controls are thread-safe.
"""

from __future__ import annotations

import queue

from PySide6.QtCore import QObject, QThread, QTimer, Signal

TICK_MS = 50


def _listener(events: queue.SimpleQueue):
    from resnet_studio.core.experiments import ExperimentListener

    class QueueListener(ExperimentListener):
        def on_experiment_start(self, experiment):
            events.put(("cells", experiment))

        def on_run_start(self, cell, run_id, resumed):
            events.put(("run_start", (cell, run_id, resumed)))

        def on_data_progress(self, done, total, message):
            events.put(("data", (done, total, message)))

        def on_log(self, cell, log):
            events.put(("log", (cell.index, log)))

        def on_validation_end(self, cell, result):
            events.put(("eval", (cell.index, result)))

        def on_run_end(self, cell, result, message):
            events.put(("run_end", (cell, result, message)))

        def on_cells_changed(self, experiment):
            events.put(("cells", experiment))

    return QueueListener()


class _ExperimentThread(QThread):
    def __init__(self, store_path, experiment_id: str, concurrency: int,
                 events: queue.SimpleQueue):
        super().__init__()
        self._store_path = store_path
        self._experiment_id = experiment_id
        self._concurrency = concurrency
        self._events = events
        self.runner = None
        self.stop_early = False

    def run(self) -> None:
        store = None
        try:
            from resnet_studio.core.experiments import ExperimentRunner, ExperimentStore

            store = ExperimentStore(self._store_path)
            self.runner = ExperimentRunner(store, self._experiment_id,
                                           listener=_listener(self._events),
                                           concurrency=self._concurrency)
            if self.stop_early:
                self.runner.stop()
            experiment = self.runner.run()
            self._events.put(("finished", experiment))
        except BaseException as exc:  # noqa: BLE001 - shown to the user, the app stays up
            self._events.put(("failed", str(exc) or type(exc).__name__))
        finally:
            if store is not None:
                store.close()


class ExperimentSession(QObject):
    """One experiment at a time. Signals carry plain records (Cell, TrainLog, EvalResult...)."""

    cellsChanged = Signal(object)  # Experiment (cells added / cancelled, or at the start)
    runStarted = Signal(object, str, bool)  # Cell, run id, resumed
    logged = Signal(list)  # [(cell index, TrainLog)] since the last tick
    evaluated = Signal(list)  # [(cell index, EvalResult)]
    runFinished = Signal(object, object, str)  # Cell, TrainResult or None, message
    dataProgress = Signal(int, int, str)
    finished = Signal(object)  # Experiment as stored at the end
    failed = Signal(str)
    runningChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: _ExperimentThread | None = None
        self.experiment_id: str | None = None
        self._timer = QTimer(self, interval=TICK_MS)
        self._timer.timeout.connect(self._drain)

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def start(self, experiment_id: str, *, store_path: str | None = None,
              concurrency: int = 1) -> None:
        """Run the experiment's missing cells (all of them for a new one)."""
        if self.is_running():
            raise RuntimeError("an experiment is already running")
        self.experiment_id = experiment_id
        self._events = queue.SimpleQueue()
        self._thread = _ExperimentThread(store_path, experiment_id, concurrency, self._events)
        self._thread.finished.connect(self._thread_done)
        self._thread.start()
        self._timer.start()
        self.runningChanged.emit(True)

    @property
    def runner(self):
        return self._thread.runner if self._thread is not None else None

    def cancel_run(self, index: int) -> bool:
        if self.runner is None:
            return False
        self.runner.cancel_run(index)
        return True

    def add_run(self, depth: int, variant: str, seed: int = 0):
        if self.runner is None:
            return None
        return self.runner.add_run(depth, variant, seed)

    def stop(self) -> None:
        """Cancel all: the running run writes a checkpoint; the experiment stays resumable."""
        if self._thread is None:
            return
        self._thread.stop_early = True
        if self.runner is not None:
            self.runner.stop()

    def wait(self, timeout_ms: int = 60_000) -> bool:
        if self._thread is None:
            return True
        done = self._thread.wait(timeout_ms)
        self._drain()
        return done

    def _thread_done(self) -> None:
        self._drain()
        self._timer.stop()
        self.runningChanged.emit(False)

    def _drain(self) -> None:
        logs: list = []
        evals: list = []

        def flush():
            nonlocal logs, evals
            if logs:
                self.logged.emit(logs)
                logs = []
            if evals:
                self.evaluated.emit(evals)
                evals = []

        while True:
            try:
                kind, payload = self._events.get_nowait()
            except queue.Empty:
                break
            if kind == "log":
                logs.append(payload)
                continue
            if kind == "eval":
                evals.append(payload)
                continue
            flush()  # keep the order: numbers before the event that followed them
            if kind == "cells":
                self.cellsChanged.emit(payload)
            elif kind == "run_start":
                self.runStarted.emit(*payload)
            elif kind == "run_end":
                self.runFinished.emit(*payload)
            elif kind == "data":
                self.dataProgress.emit(*payload)
            elif kind == "finished":
                self.finished.emit(payload)
            elif kind == "failed":
                self.failed.emit(payload)
        flush()
