"""Live training curves: loss (raw + smoothed + validation), error %, learning rate.

Each curve is created once and updated with setData; downsampling and clip-to-view keep a
64k-step run smooth. Past runs can be overlaid as dashed curves.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from resnet_studio.core.common.curves import smooth
from resnet_studio.core.training.curves import RunCurves
from resnet_studio.qt.kit.palette import INFO, OK
from resnet_studio.qt.kit.plotting import layout_widget, style_plot

SMOOTHING = 0.9  # exponential moving average weight, as TensorBoard's default-ish slider
TRAIN, TRAIN_RAW, VALIDATION = INFO, "#90caf9", "#ef6c00"
OVERLAY_COLOURS = ["#8e24aa", "#00897b", "#f4511e", "#3949ab", "#c0ca33", "#6d4c41"]


def _smoothed(values: list[float], scale: float = 1.0) -> np.ndarray:
    return scale * np.asarray(smooth(values, SMOOTHING), dtype=float)


class TrainPlots(QWidget):
    """The live run's curves (`curves`, shared with the tab's TrainState: errors as fractions,
    drawn in %) and dashed overlays of stored runs."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = layout_widget()
        self.loss_plot = self._plot("Loss", row=0)
        self.error_plot = self._plot("Error (%)", row=1)
        self.lr_plot = self._plot("Learning rate", row=2, bottom="step (iterations)")
        self.error_plot.setXLink(self.loss_plot)
        self.lr_plot.setXLink(self.loss_plot)
        self.loss_plot.addLegend(offset=(-10, 10), labelTextSize="8pt")
        self.error_plot.addLegend(offset=(-10, 10), labelTextSize="8pt")

        pen = lambda c, w=1.0: pg.mkPen(c, width=w)
        val = dict(pen=pen(VALIDATION, 2), symbol="o", symbolSize=6, symbolBrush=VALIDATION,
                   name="validation")
        self.loss_raw = self.loss_plot.plot(pen=pen(TRAIN_RAW, 1), name="training (raw)")
        self.loss_smooth = self.loss_plot.plot(pen=pen(TRAIN, 2.2), name="training")
        self.loss_val = self.loss_plot.plot(**val)
        self.err_train = self.error_plot.plot(pen=pen(TRAIN, 2.2), name="training")
        self.err_val = self.error_plot.plot(**val)
        self.lr_curve = self.lr_plot.plot(pen=pen(OK, 2))
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

    def _plot(self, title: str, row: int, bottom: str | None = None):
        return style_plot(self.view.addPlot(row=row, col=0), title, bottom, live=True)

    # -- the live run ---------------------------------------------------------------------------
    def draw(self, curves: RunCurves) -> None:
        """Draw `curves` as the main run (call `redraw()` after they grow)."""
        self.curves = curves
        self.redraw()

    def redraw(self) -> None:
        c = self.curves
        x = np.asarray(c.steps, dtype=float)
        self.loss_raw.setData(x, np.asarray(c.loss, dtype=float))
        self.loss_smooth.setData(x, _smoothed(c.loss))
        self.err_train.setData(x, _smoothed(c.error, 100))
        self.lr_curve.setData(x, np.asarray(c.lr, dtype=float))
        vx = np.asarray(c.val_steps, dtype=float)
        self.loss_val.setData(vx, np.asarray(c.val_loss, dtype=float))
        self.err_val.setData(vx, 100 * np.asarray(c.val_error, dtype=float))

    # -- overlays of past runs ----------------------------------------------------------------
    def set_overlay(self, run_id: str, label: str, curves: RunCurves | None) -> None:
        for item in self.overlays.pop(run_id, []):
            item.getViewBox().removeItem(item) if item.getViewBox() else None
        if curves is None:
            return
        colour = OVERLAY_COLOURS[len(self.overlays) % len(OVERLAY_COLOURS)]
        dash = pg.mkPen(colour, width=1.6, style=Qt.PenStyle.DashLine)
        x = np.asarray(curves.steps, dtype=float)
        items = [self.loss_plot.plot(x, _smoothed(curves.loss), pen=dash, name=label),
                 self.error_plot.plot(x, _smoothed(curves.error, 100), pen=dash, name=label)]
        if curves.val_steps:
            items.append(self.error_plot.plot(np.asarray(curves.val_steps, dtype=float),
                                              100 * np.asarray(curves.val_error, dtype=float),
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
                f"(smoothed {smooth(c.loss[: i + 1], SMOOTHING)[-1]:.4f}) · "
                f"error {100 * c.error[i]:.1f}% · lr {c.lr[i]:.3g}")
        if c.val_steps:
            j = int(np.argmin(np.abs(np.asarray(c.val_steps) - step)))
            text += f" · val loss {c.val_loss[j]:.4f}, val error {100 * c.val_error[j]:.1f}% " \
                    f"(step {c.val_steps[j]:,})"
        return text
