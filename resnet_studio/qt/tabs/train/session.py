"""One training run at a time on a QueueSession: the Trainer's callbacks post plain records
(TrainLog, EvalResult, CheckpointInfo...) and the GUI gets them at a UI tick."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal

from resnet_studio.qt.kit.session import QueueSession

if TYPE_CHECKING:
    from resnet_studio.core.spec import ArchSpec
    from resnet_studio.core.training.config import TrainConfig


def _posting_callback(post):
    from resnet_studio.core.training.callbacks import Callback

    class PostingCallback(Callback):
        def on_train_start(self, trainer):
            post("started", (trainer.run_id, str(trainer.run_dir)))

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


class TrainingSession(QueueSession):
    started = Signal(str, str)  # run id, run folder
    logged = Signal(list)  # TrainLog records since the last tick
    evaluated = Signal(object)  # EvalResult
    checkpointed = Signal(object)  # CheckpointInfo
    statusChanged = Signal(str, str)  # status, message
    dataProgress = Signal(int, int, str)
    finished = Signal(object)  # TrainResult

    SIGNALS = {"started": "started", "log": "logged", "eval": "evaluated",
               "checkpoint": "checkpointed", "status": "statusChanged", "data": "dataProgress",
               "finished": "finished"}

    def start(self, spec: ArchSpec, config: TrainConfig, *, resume_from: str | None = None,
              store_path: str | None = None, run_name: str | None = None) -> None:
        def build(post):
            from resnet_studio.core.training.gradlog import GradientLogger
            from resnet_studio.core.training.store import RunStore
            from resnet_studio.core.training.trainer import Trainer

            # Per-block gradient norms every 10 steps, for the Gradients tab's heatmaps.
            callbacks = [_posting_callback(post), GradientLogger(every=10)]
            store = RunStore(store_path, check_interrupted=False)
            if resume_from:
                return Trainer.from_checkpoint(resume_from, callbacks=callbacks, store=store,
                                               steps=config.steps)
            return Trainer(spec, config, callbacks=callbacks, store=store, run_name=run_name)

        self._run(build, lambda trainer: trainer.fit())

    @property
    def trainer(self):
        return self.target

    def pause(self) -> None:
        if self.trainer is not None:
            self.trainer.pause()

    def resume(self) -> None:
        if self.trainer is not None:
            self.trainer.resume()
