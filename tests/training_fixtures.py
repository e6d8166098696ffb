"""What the training tests share: a small config for the TINY net, and a callback that stops a
run at a given step."""

from resnet_studio.core.training.callbacks import Callback
from resnet_studio.core.training.config import TrainConfig
from tests.helpers import TINY_DATA


def tiny_config(**changes) -> TrainConfig:
    """30 steps of batch 32 on TINY_DATA on the CPU: logs every 5, validates every 10."""
    base = dict(dataset=TINY_DATA, steps=30, batch_size=32, log_every=5, eval_every=10,
                checkpoint_every=0, schedule="multistep", warmup_steps=3, device="cpu")
    return TrainConfig(**{**base, **changes})


class StopAt(Callback):
    """Asks the trainer to stop after step `step` (it checkpoints there)."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_end(self, trainer, step):
        if step == self.step:
            trainer.stop()
