"""The architecture tab."""

from resnet_studio.qt.tabs.architecture.tab import ArchitectureTab

__all__ = ["ArchitectureTab"]
