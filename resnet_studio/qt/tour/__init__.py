"""Help > Tour of the 2015 paper: a small panel that sets the app up step by step."""

from resnet_studio.qt.tour.panel import TourPanel

__all__ = ["TourPanel"]
