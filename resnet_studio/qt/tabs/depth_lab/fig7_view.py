"""The Depth Lab's "Fig. 7" page: for a finished experiment, every layer's response std on the
trained nets (He et al. 2015 Fig. 7; app.responses), plain dashed and residual solid, one colour
per depth, in the layers' order (left) and sorted by magnitude (right). Measured in the
background on request: it loads each net's checkpoint and the dataset."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from resnet_studio.qt.kit.job import Job
from resnet_studio.qt.kit.palette import MUTED
from resnet_studio.qt.kit.plotting import layout_widget, style_plot
from resnet_studio.qt.tabs.depth_lab.plots import depth_colour

if TYPE_CHECKING:
    from resnet_studio.core.analysis.responses import ResponseProfile

HINT = ("He et al. 2015 Fig. 7: the std of each layer's response (after BN, before the "
        "addition; BN with its trained statistics). Residual functions respond less than plain "
        "layers, deeper ResNets less still.")


def _shipped_responses(progress):
    from resnet_studio.app.responses import shipped_responses  # torch: not at start-up

    progress(0, 1, "measuring the shipped trained nets…")
    return shipped_responses()


class Fig7View(QWidget):
    def __init__(self, store_path: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.store_path = store_path
        self.experiment_id: str | None = None
        self.profiles: list[ResponseProfile] = []
        self.job = Job(self, title="Depth Lab: measuring Fig. 7 responses", heavy=True)
        self.job.bind(succeeded=self._show, failed=self._say, progressed=self._progress,
                      finished=self._enable)
        self.measure_button = QPushButton("Measure Fig. 7")
        self.measure_button.setToolTip("Load each trained net and measure its layer responses "
                                       "on 256 validation images")
        self.measure_button.clicked.connect(self.measure)
        self.shipped_button = QPushButton("Shipped nets")
        self.shipped_button.setToolTip("Measure the trained ResNet-20/56 and plain-20/56 that "
                                       "come with the app (the quick demo's nets, seed 0): no "
                                       "experiment of your own needed")
        self.shipped_button.clicked.connect(self.measure_shipped)
        self.status = QLabel(HINT, wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        self.status.setStyleSheet(f"color: {MUTED}")
        self.view = layout_widget()
        self.by_layer = style_plot(self.view.addPlot(row=0, col=0, enableMenu=False), "std",
                                   "layer index (original)")
        self.ranked = style_plot(self.view.addPlot(row=0, col=1, enableMenu=False), None,
                                 "layer index (sorted by magnitude)")
        self.ranked.setYLink(self.by_layer)
        self.legend = self.by_layer.addLegend(offset=(-8, 8), labelTextSize="8pt")
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.measure_button)
        top.addWidget(self.shipped_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        self.set_experiment(None, finished=False)

    def set_experiment(self, experiment_id: str | None, *, finished: bool) -> None:
        """The experiment the page measures; a new one clears what was drawn."""
        if experiment_id != self.experiment_id:
            self.experiment_id = experiment_id
            self._draw([])
            self.status.setText(HINT)
        self._finished = finished
        self._enable()

    def _enable(self) -> None:
        idle = not self.job.is_running()
        self.measure_button.setEnabled(bool(self.experiment_id) and self._finished and idle)
        self.shipped_button.setEnabled(idle)

    def measure(self) -> None:
        from resnet_studio.app.responses import experiment_responses  # torch: not at start-up

        if self.experiment_id and self.job.start(experiment_responses, self.experiment_id,
                                                     store=self.store_path):
            self._enable()
            self.status.setText("measuring…")

    def measure_shipped(self) -> None:
        if self.job.start(_shipped_responses):
            self._enable()
            self.status.setText("measuring…")

    def _progress(self, _done: int, _total: int, text: str) -> None:
        self.status.setText(text)

    def _say(self, line: str) -> None:
        self.status.setText(line)

    def _show(self, profiles: list[ResponseProfile]) -> None:
        self._draw(profiles)
        self.status.setText("mean response std: " + ", ".join(
            f"{p.label} {p.mean:.3f}" for p in profiles))

    def _draw(self, profiles: list[ResponseProfile]) -> None:
        self.profiles = list(profiles)
        self.by_layer.clear()
        self.ranked.clear()
        self.legend.clear()
        depths = sorted({p.depth for p in profiles})
        for p in profiles:
            pen = pg.mkPen(depth_colour(p.depth, depths), width=1.6 if p.plain else 2.4,
                           style=Qt.PenStyle.DashLine if p.plain else Qt.PenStyle.SolidLine)
            x = list(range(1, len(p.stds) + 1))
            self.by_layer.plot(x, list(p.stds), pen=pen, name=p.label)
            self.ranked.plot(x, list(p.ranked), pen=pen)
