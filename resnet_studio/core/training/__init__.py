"""Training: TrainConfig, Trainer (hooks, pause/resume/stop), checkpoints and the run store.

Import the submodules directly for the heavy parts (`trainer` imports torch); this package
itself imports nothing heavy so a window can read presets before torch is loaded.
"""

from resnet_studio.core.training.config import PRESETS, ConfigError, TrainConfig, get_preset

__all__ = ["PRESETS", "ConfigError", "TrainConfig", "get_preset"]
