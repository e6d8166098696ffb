"""The depth lab tab."""

from resnet_studio.qt.tabs.depth_lab.tab import DepthLabTab

__all__ = ["DepthLabTab"]
