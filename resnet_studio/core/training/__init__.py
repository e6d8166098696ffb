"""Training: TrainConfig, Trainer (hooks, pause/resume/stop), checkpoints and the run store.

    config      TrainConfig and its presets
    callbacks   the hooks a Trainer fires and the plain records they carry
    trainer     the loop, over runtime (device, precision, failure messages), meters (on-device
                sums, the step clock), schedules (optimiser, learning rate) and resume (what
                may change when a run continues)
    checkpoint  safetensors + a JSON sidecar, written atomically
    store       every run and its metrics in SQLite; recorder writes a Trainer's run into it
    gradlog     per-block gradient norms while training
    curves      a run's curves as plain lists, live or from the store

Import the submodules directly for the heavy parts (`trainer`, `checkpoint` and `gradlog`'s
work import torch); config, callbacks, store, recorder and curves import nothing heavy, so a
window can read presets and the run history before torch is loaded. No module here imports one
that imports it back (tests/core/test_training.py checks).
"""

from resnet_studio.core.training.config import PRESETS, ConfigError, TrainConfig, get_preset

__all__ = ["PRESETS", "ConfigError", "TrainConfig", "get_preset"]
