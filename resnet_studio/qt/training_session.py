"""Runs one Trainer in a QThread and hands its records to the GUI at a UI tick, not per step.

The trainer's callbacks run on the training thread and only put plain records on a queue; a
timer on the GUI thread drains it 20 times a second, so a fast GPU loop never floods the event
loop and the curves redraw at most once per tick.
"""

from __future__ import annotations

import queue
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThread, QTimer, Signal

if TYPE_CHECKING:
    from resnet_studio.core.spec import ArchSpec
    from resnet_studio.core.training.config import TrainConfig

TICK_MS = 50


class _TrainingThread(QThread):
    def __init__(self, build, events: queue.SimpleQueue):
        super().__init__()
        self._build = build
        self._events = events
        self.trainer = None
        self.stop_early = False  # Stop pressed while the data was still loading

    def run(self) -> None:
        try:
            self.trainer = self._build(self._events)
            if self.stop_early:
                self.trainer.stop()
            result = self.trainer.fit()
            self._events.put(("finished", result))
        except BaseException as exc:  # noqa: BLE001 - shown to the user, the app stays up
            self._events.put(("failed", f"{type(exc).__name__}: {exc}"
                              if not str(exc) else str(exc)))


def _queue_callback(events: queue.SimpleQueue):
    from resnet_studio.core.training.callbacks import Callback

    class QueueCallback(Callback):
        def on_train_start(self, trainer):
            events.put(("started", (trainer.run_id, trainer.run_dir)))

        def on_log(self, trainer, log):
            events.put(("log", log))

        def on_validation_end(self, trainer, result):
            events.put(("eval", result))

        def on_checkpoint(self, trainer, info):
            events.put(("checkpoint", info))

        def on_status(self, trainer, status, message):
            events.put(("status", (status, message)))

        def on_data_progress(self, trainer, done, total, message):
            events.put(("data", (done, total, message)))

    return QueueCallback()


class TrainingSession(QObject):
    """One training run at a time. Signals carry plain records (TrainLog, EvalResult, ...)."""

    started = Signal(str, str)  # run id, run folder
    logged = Signal(list)  # TrainLog records since the last tick
    evaluated = Signal(object)  # EvalResult
    checkpointed = Signal(object)  # CheckpointInfo
    statusChanged = Signal(str, str)  # status, message
    dataProgress = Signal(int, int, str)
    finished = Signal(object)  # TrainResult
    failed = Signal(str)  # one line for the user
    runningChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: _TrainingThread | None = None
        self._timer = QTimer(self, interval=TICK_MS)
        self._timer.timeout.connect(self._drain)

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def start(self, spec: ArchSpec, config: TrainConfig, *, resume_from: str | None = None,
              store_path: str | None = None, run_name: str | None = None) -> None:
        if self.is_running():
            raise RuntimeError("a training run is already in progress")

        def build(events):
            from resnet_studio.core.training.gradlog import GradientLogger
            from resnet_studio.core.training.store import RunStore
            from resnet_studio.core.training.trainer import Trainer

            # Per-block gradient norms every 10 steps, for the Gradients tab's heatmaps.
            callbacks = [_queue_callback(events), GradientLogger(every=10)]
            store = RunStore(store_path, check_interrupted=False)
            if resume_from:
                return Trainer.from_checkpoint(resume_from, callbacks=callbacks, store=store,
                                               steps=config.steps)
            return Trainer(spec, config, callbacks=callbacks, store=store, run_name=run_name)

        self._events = queue.SimpleQueue()
        self._thread = _TrainingThread(build, self._events)
        self._thread.finished.connect(self._thread_done)
        self._thread.start()
        self._timer.start()
        self.runningChanged.emit(True)

    @property
    def trainer(self):
        return self._thread.trainer if self._thread is not None else None

    def pause(self) -> None:
        if self.trainer is not None:
            self.trainer.pause()

    def resume(self) -> None:
        if self.trainer is not None:
            self.trainer.resume()

    def stop(self) -> None:
        """Ask the run to stop; it writes a checkpoint and ends at the next step."""
        if self._thread is None:
            return
        self._thread.stop_early = True
        if self.trainer is not None:
            self.trainer.stop()

    def wait(self, timeout_ms: int = 60_000) -> bool:
        """Block until the training thread has ended (window close, tests)."""
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
        logs = []
        while True:
            try:
                kind, payload = self._events.get_nowait()
            except queue.Empty:
                break
            if kind == "log":
                logs.append(payload)
                continue
            if logs:  # keep the order: logs before the event that followed them
                self.logged.emit(logs)
                logs = []
            if kind == "started":
                self.started.emit(payload[0], str(payload[1]))
            elif kind == "eval":
                self.evaluated.emit(payload)
            elif kind == "checkpoint":
                self.checkpointed.emit(payload)
            elif kind == "status":
                self.statusChanged.emit(*payload)
            elif kind == "data":
                self.dataProgress.emit(*payload)
            elif kind == "finished":
                self.finished.emit(payload)
            elif kind == "failed":
                self.failed.emit(payload)
        if logs:
            self.logged.emit(logs)
