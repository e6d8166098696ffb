"""The gradients tab."""

from resnet_studio.qt.tabs.gradients.tab import GradientsTab

__all__ = ["GradientsTab"]
