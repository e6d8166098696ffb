"""Live training curves: loss (raw + smoothed + validation), error %, learning rate.

Each curve is created once and updated with setData; downsampling and clip-to-view keep a
64k-step run smooth. Past runs can be overlaid. One rule for every run, live or overlaid, in
the plots and in the legend: a colour per run, solid for training, dashed for validation.
The live run is blue; overlays take the other Okabe-Ito colours (distinguishable with every
common colour-vision deficiency), each run keeping its colour for the session. The smoothing
slider is TensorBoard's: a debiased exponential moving average (`core.common.curves.smooth`).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from resnet_studio.core.common.curves import DEFAULT_SMOOTHING, smooth
from resnet_studio.core.training.curves import RunCurves
from resnet_studio.qt.kit.palette import OK
from resnet_studio.qt.kit.plotting import layout_widget, style_plot

# Okabe & Ito (2008): the live run's blue (its raw loss a pale blue); overlays the others that
# read on white (their yellow and sky blue do not, or too close to the live run's).
LIVE, LIVE_RAW = "#0072b2", "#a6cde6"
OVERLAY_COLOURS = ("#e69f00", "#009e73", "#cc79a7", "#d55e00", "#000000")
SLIDER_STEPS = 100  # the slider's weight in hundredths, 0 .. 0.99


def _pen(colour: str, width: float, *, dashed: bool = False):
    return pg.mkPen(colour, width=width,
                    style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)


class TrainPlots(QWidget):
    """The live run's curves (`curves`, shared with the tab's TrainState: errors as fractions,
    drawn in %) and overlays of stored runs."""

    smoothingChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = layout_widget()
        self.loss_plot = self._plot("Loss", row=0)
        self.error_plot = self._plot("Error (%)", row=1)
        self.lr_plot = self._plot("Learning rate", row=2, bottom="step (iterations)")
        self.error_plot.setXLink(self.loss_plot)
        self.lr_plot.setXLink(self.loss_plot)
        # one legend for the loss and error plots (they draw the runs alike), in a column of
        # its own beside them: it never covers a curve, however many runs are overlaid
        self.legend = pg.LegendItem(labelTextSize="8pt", verSpacing=-4)
        self.view.addItem(self.legend, row=0, col=1, rowspan=2)
        self.legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.view.ci.layout.setAlignment(self.legend, Qt.AlignmentFlag.AlignTop)

        val = dict(pen=_pen(LIVE, 2, dashed=True), symbol="o", symbolSize=6, symbolBrush=LIVE)
        self.loss_raw = self.loss_plot.plot(pen=_pen(LIVE_RAW, 1))
        self.loss_smooth = self.loss_plot.plot(pen=_pen(LIVE, 2.2))
        self.loss_val = self.loss_plot.plot(**val)
        self.err_train = self.error_plot.plot(pen=_pen(LIVE, 2.2))
        self.err_val = self.error_plot.plot(**val)
        self.lr_curve = self.lr_plot.plot(pen=_pen(OK, 2))
        self.curves = RunCurves()
        self.overlays: dict[str, list] = {}
        self._overlay_curves: dict[str, tuple[str, RunCurves]] = {}  # run id -> (label, curves)
        self._legend_names: dict[str, list[tuple[pg.PlotDataItem, str]]] = {}  # run id -> entries
        self._colours: dict[str, str] = {}  # run id -> its colour, kept for the session
        self._weight = DEFAULT_SMOOTHING

        self.log_scale = QCheckBox("Log-scale loss")
        self.log_scale.toggled.connect(lambda on: self.loss_plot.setLogMode(y=on))
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal, maximumWidth=140,
                                        minimum=0, maximum=SLIDER_STEPS - 1,
                                        value=round(DEFAULT_SMOOTHING * SLIDER_STEPS))
        self.smoothing_slider.setToolTip(
            "TensorBoard's smoothing: a debiased exponential moving average of the logged "
            "points (0: raw). The bold line; the raw loss stays pale beneath it.")
        self.smoothing_label = QLabel()
        self.smoothing_slider.valueChanged.connect(
            lambda v: self.set_smoothing(v / SLIDER_STEPS))
        self.readout = QLabel("", objectName="readout")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        bar = QHBoxLayout()
        bar.addWidget(self.log_scale)
        bar.addSpacing(12)
        bar.addWidget(QLabel("Smoothing:"))
        bar.addWidget(self.smoothing_slider)
        bar.addWidget(self.smoothing_label)
        bar.addStretch(1)
        bar.addWidget(self.readout)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self._show_weight()

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

    # -- smoothing ------------------------------------------------------------------------------
    def smoothing(self) -> float:
        return self._weight

    def set_smoothing(self, weight: float) -> None:
        """The EMA weight of the bold lines, 0 (raw) .. 0.99; redraws every run."""
        weight = min(max(float(weight), 0.0), (SLIDER_STEPS - 1) / SLIDER_STEPS)
        if weight == self._weight:
            return
        self._weight = weight
        self.smoothing_slider.blockSignals(True)
        self.smoothing_slider.setValue(round(weight * SLIDER_STEPS))
        self.smoothing_slider.blockSignals(False)
        self._show_weight()
        self.redraw()
        for run_id, (label, curves) in list(self._overlay_curves.items()):
            self.set_overlay(run_id, label, curves)
        self.smoothingChanged.emit(weight)

    def _show_weight(self) -> None:
        self.smoothing_label.setText(f"{self._weight:.2f}")

    def _smoothed(self, values: list[float], scale: float = 1.0) -> np.ndarray:
        return scale * np.asarray(smooth(values, self._weight), dtype=float)

    # -- the live run ---------------------------------------------------------------------------
    def draw(self, curves: RunCurves) -> None:
        """Draw `curves` as the main run (call `redraw()` after they grow)."""
        self.curves = curves
        self.redraw()

    def redraw(self) -> None:
        c = self.curves
        x = np.asarray(c.steps, dtype=float)
        self.loss_raw.setData(x, np.asarray(c.loss, dtype=float))
        self.loss_smooth.setData(x, self._smoothed(c.loss))
        self.err_train.setData(x, self._smoothed(c.error, 100))
        self.lr_curve.setData(x, np.asarray(c.lr, dtype=float))
        vx = np.asarray(c.val_steps, dtype=float)
        self.loss_val.setData(vx, np.asarray(c.val_loss, dtype=float))
        self.err_val.setData(vx, 100 * np.asarray(c.val_error, dtype=float))
        self._update_legend()

    def _update_legend(self) -> None:
        """The legend lists what is drawn: the live run's lines once they have points, then
        each overlay's; rebuilt only when that list changes."""
        c = self.curves
        wanted = [(item, name) for item, name, drawn in (
            (self.loss_raw, "training (raw)", bool(c.steps)),
            (self.loss_smooth, "training", bool(c.steps)),
            (self.loss_val, "validation", bool(c.val_steps))) if drawn]
        for entries in self._legend_names.values():
            wanted += entries
        if [(s.item, label.text) for s, label in self.legend.items] != wanted:
            self.legend.clear()
            for item, name in wanted:
                self.legend.addItem(item, name)

    # -- overlays of past runs ----------------------------------------------------------------
    def colour_of(self, run_id: str) -> str:
        """The run's colour: the one it had before if no other overlay took it since, else
        the first one no shown overlay uses (they repeat beyond five overlays)."""
        taken = {self._colours[r] for r in self.overlays if r != run_id}
        own = self._colours.get(run_id)
        if own is None or own in taken:
            free = [c for c in OVERLAY_COLOURS if c not in taken]
            own = free[0] if free else OVERLAY_COLOURS[len(self.overlays) % len(OVERLAY_COLOURS)]
        self._colours[run_id] = own
        return own

    def set_overlay(self, run_id: str, label: str, curves: RunCurves | None) -> None:
        """Show a stored run's curves (None: remove them) in its colour: training solid,
        validation dashed, in both plots and in the legend."""
        for item in self.overlays.pop(run_id, []):
            for plot in (self.loss_plot, self.error_plot):
                if item in plot.listDataItems():
                    plot.removeItem(item)
        self._overlay_curves.pop(run_id, None)
        self._legend_names.pop(run_id, None)
        if curves is not None:
            self._add_overlay(run_id, label, curves)
        self._update_legend()

    def _add_overlay(self, run_id: str, label: str, curves: RunCurves) -> None:
        colour = self.colour_of(run_id)
        x = np.asarray(curves.steps, dtype=float)
        vx = np.asarray(curves.val_steps, dtype=float)
        solid, dashed = _pen(colour, 1.8), _pen(colour, 1.8, dashed=True)
        items = [self.loss_plot.plot(x, self._smoothed(curves.loss), pen=solid),
                 self.error_plot.plot(x, self._smoothed(curves.error, 100), pen=solid)]
        legend = [(items[0], label)]
        if curves.val_steps:
            items += [self.loss_plot.plot(vx, np.asarray(curves.val_loss, dtype=float),
                                          pen=dashed),
                      self.error_plot.plot(vx, 100 * np.asarray(curves.val_error, dtype=float),
                                           pen=dashed)]
            legend.append((items[2], f"{label} · validation"))
        self.overlays[run_id] = items
        self._legend_names[run_id] = legend
        self._overlay_curves[run_id] = (label, curves)

    def overlay_ids(self) -> list[str]:
        return list(self.overlays)

    def legend_entries(self) -> list[tuple[str, str, bool]]:
        """(label, colour, dashed) of each legend entry, as its sample is drawn."""
        out = []
        for sample, label in self.legend.items:
            pen = pg.mkPen(sample.item.opts["pen"])
            out.append((label.text, pen.color().name(), pen.style() == Qt.PenStyle.DashLine))
        return out

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
                f"(smoothed {smooth(c.loss[: i + 1], self._weight)[-1]:.4f}) · "
                f"error {100 * c.error[i]:.1f}% · lr {c.lr[i]:.3g}")
        if c.val_steps:
            j = int(np.argmin(np.abs(np.asarray(c.val_steps) - step)))
            text += f" · val loss {c.val_loss[j]:.4f}, val error {100 * c.val_error[j]:.1f}% " \
                    f"(step {c.val_steps[j]:,})"
        return text
