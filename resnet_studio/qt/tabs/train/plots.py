"""Live training curves: loss (raw + smoothed + validation), error %, learning rate.

Each curve is created once and updated with setData; downsampling and clip-to-view keep a
64k-step run smooth. Past runs can be overlaid as dashed curves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

SMOOTHING = 0.9  # exponential moving average weight, as TensorBoard's default-ish slider
OVERLAY_COLOURS = ["#8e24aa", "#00897b", "#f4511e", "#3949ab", "#c0ca33", "#6d4c41"]


@dataclass
class RunCurves:
    """The numbers of one run, appended as they arrive."""

    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    error: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    val_steps: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_error: list[float] = field(default_factory=list)

    @classmethod
    def from_metrics(cls, metrics: dict[str, list[tuple[int, float]]]) -> RunCurves:
        """From RunStore.metrics(run): {"train/loss": [(step, value)], ...}."""
        c = cls()
        for name, attr_steps, attr in [("train/loss", "steps", "loss"),
                                       ("train/error", None, "error"), ("lr", None, "lr"),
                                       ("val/loss", "val_steps", "val_loss"),
                                       ("val/error", None, "val_error")]:
            rows = metrics.get(name, [])
            if attr_steps:
                setattr(c, attr_steps, [s for s, _ in rows])
            setattr(c, attr, [v for _, v in rows])
        return c


def smooth(values: list[float], weight: float = SMOOTHING) -> np.ndarray:
    """Debiased exponential moving average (as TensorBoard draws it)."""
    out = np.empty(len(values))
    avg = 0.0
    for i, v in enumerate(values):
        avg = weight * avg + (1 - weight) * v
        out[i] = avg / (1 - weight ** (i + 1))
    return out


class TrainPlots(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=True)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground("w")
        self.loss_plot = self._plot("Loss", row=0)
        self.error_plot = self._plot("Error (%)", row=1)
        self.lr_plot = self._plot("Learning rate", row=2)
        self.error_plot.setXLink(self.loss_plot)
        self.lr_plot.setXLink(self.loss_plot)
        self.lr_plot.setLabel("bottom", "step (iterations)")
        self.loss_plot.addLegend(offset=(-10, 10), labelTextSize="8pt")
        self.error_plot.addLegend(offset=(-10, 10), labelTextSize="8pt")

        pen = lambda c, w=1.0, style=Qt.PenStyle.SolidLine: pg.mkPen(c, width=w, style=style)
        self.loss_raw = self.loss_plot.plot(pen=pen("#90caf9", 1), name="training (raw)")
        self.loss_smooth = self.loss_plot.plot(pen=pen("#1565c0", 2.2), name="training")
        self.loss_val = self.loss_plot.plot(pen=pen("#ef6c00", 2), symbol="o", symbolSize=6,
                                            symbolBrush="#ef6c00", name="validation")
        self.err_train = self.error_plot.plot(pen=pen("#1565c0", 2.2), name="training")
        self.err_val = self.error_plot.plot(pen=pen("#ef6c00", 2), symbol="o", symbolSize=6,
                                            symbolBrush="#ef6c00", name="validation")
        self.lr_curve = self.lr_plot.plot(pen=pen("#2e7d32", 2))
        self.curves = RunCurves()
        self.overlays: dict[str, list] = {}

        self.log_scale = QCheckBox("Log-scale loss")
        self.log_scale.toggled.connect(lambda on: self.loss_plot.setLogMode(y=on))
        self.readout = QLabel("", objectName="readout")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        bar = QHBoxLayout()
        bar.addWidget(self.log_scale)
        bar.addStretch(1)
        bar.addWidget(self.readout)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

        self._cross = []
        for plot in (self.loss_plot, self.error_plot, self.lr_plot):
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#9e9e9e", width=1))
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
            self._cross.append(line)
        self._mouse = pg.SignalProxy(self.view.scene().sigMouseMoved, rateLimit=30,
                                     slot=self._mouse_moved)

    def _plot(self, title: str, row: int):
        plot = self.view.addPlot(row=row, col=0)
        plot.setLabel("left", title)
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.setDownsampling(mode="peak")
        plot.setClipToView(True)
        return plot

    # -- the live run ---------------------------------------------------------------------------
    def clear(self) -> None:
        self.curves = RunCurves()
        self.redraw()

    def add_logs(self, logs) -> None:
        c = self.curves
        for log in logs:
            c.steps.append(log.step)
            c.loss.append(log.loss)
            c.error.append(100 * log.error)
            c.lr.append(log.lr)
        self.redraw()

    def add_eval(self, result) -> None:
        self.curves.val_steps.append(result.step)
        self.curves.val_loss.append(result.loss)
        self.curves.val_error.append(100 * result.error)
        self.redraw()

    def show_run(self, curves: RunCurves) -> None:
        """Show a stored run as the main curves (e.g. the run being resumed)."""
        curves.error = [100 * e for e in curves.error]
        curves.val_error = [100 * e for e in curves.val_error]
        self.curves = curves
        self.redraw()

    def redraw(self) -> None:
        c = self.curves
        x = np.asarray(c.steps, dtype=float)
        self.loss_raw.setData(x, np.asarray(c.loss))
        self.loss_smooth.setData(x, smooth(c.loss))
        self.err_train.setData(x, smooth(c.error))
        self.lr_curve.setData(x, np.asarray(c.lr))
        vx = np.asarray(c.val_steps, dtype=float)
        self.loss_val.setData(vx, np.asarray(c.val_loss))
        self.err_val.setData(vx, np.asarray(c.val_error))

    # -- overlays of past runs ----------------------------------------------------------------
    def set_overlay(self, run_id: str, label: str, curves: RunCurves | None) -> None:
        for item in self.overlays.pop(run_id, []):
            item.getViewBox().removeItem(item) if item.getViewBox() else None
        if curves is None:
            return
        colour = OVERLAY_COLOURS[len(self.overlays) % len(OVERLAY_COLOURS)]
        dash = pg.mkPen(colour, width=1.6, style=Qt.PenStyle.DashLine)
        x = np.asarray(curves.steps, dtype=float)
        items = [self.loss_plot.plot(x, smooth(curves.loss), pen=dash, name=label),
                 self.error_plot.plot(x, smooth([100 * e for e in curves.error]), pen=dash,
                                      name=label)]
        if curves.val_steps:
            items.append(self.error_plot.plot(np.asarray(curves.val_steps, dtype=float),
                                              [100 * e for e in curves.val_error],
                                              pen=pg.mkPen(colour, width=2.2)))
        self.overlays[run_id] = items

    def overlay_ids(self) -> list[str]:
        return list(self.overlays)

    # -- crosshair readout --------------------------------------------------------------------
    def _mouse_moved(self, event) -> None:
        pos = event[0]
        plot = next((p for p in (self.loss_plot, self.error_plot, self.lr_plot)
                     if p.sceneBoundingRect().contains(pos)), None)
        if plot is None or not self.curves.steps:
            for line in self._cross:
                line.setVisible(False)
            return
        step = plot.vb.mapSceneToView(pos).x()
        for line in self._cross:
            line.setPos(step)
            line.setVisible(True)
        self.readout.setText(self.readout_at(step))

    def readout_at(self, step: float) -> str:
        """The numbers of the live run at the logged step nearest to `step`."""
        c = self.curves
        if not c.steps:
            return ""
        i = int(np.argmin(np.abs(np.asarray(c.steps) - step)))
        text = (f"step <b>{c.steps[i]:,}</b> · loss {c.loss[i]:.4f} "
                f"(smoothed {smooth(c.loss[: i + 1])[-1]:.4f}) · error {c.error[i]:.1f}% · "
                f"lr {c.lr[i]:.3g}")
        if c.val_steps:
            j = int(np.argmin(np.abs(np.asarray(c.val_steps) - step)))
            text += f" · val loss {c.val_loss[j]:.4f}, val error {c.val_error[j]:.1f}% " \
                    f"(step {c.val_steps[j]:,})"
        return text
