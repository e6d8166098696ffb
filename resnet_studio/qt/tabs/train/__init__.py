"""The train tab."""

from resnet_studio.qt.tabs.train.tab import TrainTab

__all__ = ["TrainTab"]
