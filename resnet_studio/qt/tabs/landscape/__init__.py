"""The Landscape tab."""

from resnet_studio.qt.tabs.landscape.tab import LandscapeTab

__all__ = ["LandscapeTab"]
