"""The attributions tab."""

from resnet_studio.qt.tabs.attributions.tab import AttributionsTab

__all__ = ["AttributionsTab"]
