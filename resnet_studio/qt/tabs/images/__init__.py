"""The images tab."""

from resnet_studio.qt.tabs.images.tab import ImagesTab

__all__ = ["ImagesTab"]
