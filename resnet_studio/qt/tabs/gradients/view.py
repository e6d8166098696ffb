"""What the tab knows of each of its three views (initialisation, during training, lesion)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from resnet_studio.qt.kit.stale import Stale

if TYPE_CHECKING:
    from resnet_studio.app.gradients import GradientsState
    from resnet_studio.qt.kit.job import Job

# A periodic re-read of a training run usually takes a blink: greyed only if it lasts longer.
GREY_AFTER_MS = {"runs": 400}


class GradientsView(QWidget):
    """A view with its own controls, a figure (`figure.view` is what "Export figure…" saves)
    and jobs; it writes what it shows into the tab's shared `GradientsState`. While one of
    its jobs runs the figure is greyed with "measuring…" (`stale`): it shows the last answer."""

    statusMessage = Signal(str)
    runningChanged = Signal(bool)  # one of its jobs started, or the last one ended

    def __init__(self, state: GradientsState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.figure: QWidget | None = None
        self.jobs: tuple[Job, ...] = ()
        self.stale: Stale | None = None  # over `figure`, made when a job first runs

    def _set_running(self, name: str, on: bool) -> None:
        """Record in the state that `name` runs (or not) and say so, once per change."""
        if on != (name in self.state.running):
            (self.state.running.add if on else self.state.running.discard)(name)
            self.runningChanged.emit(on)
        self._grey(name, on)

    def _grey(self, name: str, on: bool) -> None:
        if self.figure is None:
            return
        if self.stale is None:
            self.stale = Stale(self.figure, delay_ms=GREY_AFTER_MS.get(name, 0))
        self.stale.set_shown(on)

    def stop(self) -> None:
        """The window closes: stop timers and cancel the jobs (the tab then waits for them)."""
        for job in self.jobs:
            job.cancel()
