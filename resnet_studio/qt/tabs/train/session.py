"""One training run at a time on a QueueSession: `app.training.TrainingRun` builds and trains
the run on the session's thread, a callback posts its plain records (TrainLog, EvalResult,
CheckpointInfo...) and the GUI gets them at a UI tick. `pause`, `resume` and `stop` are called
on the GUI thread; the trainer's controls are thread-safe."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal

from resnet_studio.qt.kit.session import QueueSession

if TYPE_CHECKING:
    from resnet_studio.app.distributed import LaunchSettings
    from resnet_studio.app.training import TrainRequest
    from resnet_studio.core.training.trainer import Trainer


def _posting_callback(post):
    from resnet_studio.core.training.callbacks import Callback

    class PostingCallback(Callback):
        def on_train_start(self, trainer):
            post("started", (trainer.run_id, str(trainer.run_dir), trainer.speed.describe()))

        def on_log(self, trainer, log):
            post("log", log)

        def on_validation_end(self, trainer, result):
            post("eval", result)

        def on_checkpoint(self, trainer, info):
            post("checkpoint", info)

        def on_status(self, trainer, status, message):
            post("status", (status, message))

        def on_data_progress(self, trainer, done, total, message):
            post("data", (done, total, message))

    return PostingCallback()


class _PostingListener:
    """A run of several processes (app.followed_training) posts what a local run's callback
    would."""

    def __init__(self, post):
        self.post = post

    def started(self, run_id, run_dir, text):
        self.post("started", (run_id, run_dir, text))

    def logged(self, logs):
        for log in logs:
            self.post("log", log)

    def evaluated(self, result):
        self.post("eval", result)

    def status(self, status, message):
        self.post("status", (status, message))

    def data_progress(self, done, total, text):
        self.post("data", (done, total, text))


class TrainingSession(QueueSession):
    started = Signal(str, str, str)  # run id, run folder, speed settings (SpeedSettings.describe)
    logged = Signal(list)  # TrainLog records since the last tick
    evaluated = Signal(object)  # EvalResult
    checkpointed = Signal(object)  # CheckpointInfo
    statusChanged = Signal(str, str)  # status, message
    dataProgress = Signal(int, int, str)
    finished = Signal(object)  # TrainResult
    noticed = Signal(str)  # about the run store: a damaged one was moved aside (names the backup)
    pausedChanged = Signal(bool)  # for the jobs panel: a paused run's time left stands still

    SIGNALS = {"started": "started", "log": "logged", "eval": "evaluated",
               "checkpoint": "checkpointed", "status": "statusChanged", "data": "dataProgress",
               "finished": "finished", "notice": "noticed"}

    def __init__(self, parent=None):
        super().__init__(parent)
        self.logged.connect(self._report_steps)

    def _report_steps(self, logs: list) -> None:
        if logs:
            last = logs[-1]
            self.report(last.step, last.total_steps, f"step {last.step:,} / {last.total_steps:,}")

    def start(self, request: TrainRequest) -> None:
        self.title = _title(request)

        def build(post):
            from resnet_studio.app.training import TrainingRun

            run = TrainingRun.build(request, [_posting_callback(post)])
            if run.store is not None and run.store.notice:
                post("notice", run.store.notice)
            return run

        self._run(build, lambda run: run.run())

    def start_processes(self, request: TrainRequest, launch: LaunchSettings) -> None:
        """`launch.nproc` processes through torchrun, followed in the run store (no pause)."""
        listener: list[_PostingListener] = []  # made on the thread, with its post
        self.title = f"{_title(request)} on {launch.nproc} processes"

        def build(post):
            from resnet_studio.app.followed_training import FollowedTraining

            listener.append(_PostingListener(post))
            return FollowedTraining(request, launch)

        self._run(build, lambda followed: followed.run(listener[0]))

    @property
    def trainer(self) -> Trainer | None:
        """The run's Trainer once built (its `step` may be read from any thread); None for a
        run of several processes."""
        return getattr(self.target, "trainer", None)

    def pause(self) -> None:
        if self.trainer is not None:
            self.trainer.pause()
            self.pausedChanged.emit(True)

    def resume(self) -> None:
        if self.trainer is not None:
            self.trainer.resume()
            self.pausedChanged.emit(False)

    def cancel(self) -> None:
        """The jobs panel's Cancel: as the tab's Stop (a paused run wakes up to stop)."""
        self.resume()
        self.stop()


def _title(request: TrainRequest) -> str:
    if request.spec is None or request.config is None:
        return f"Train: resuming {request.name or request.resume_from}"
    return (f"Train: {request.spec.name} on {request.config.dataset}, "
            f"{request.config.steps:,} steps")
