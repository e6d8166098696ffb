"""What the tab knows of each of its three views (initialisation, during training, lesion)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from resnet_studio.app.gradients import GradientsState
    from resnet_studio.qt.kit.job import Job


class GradientsView(QWidget):
    """A view with its own controls, a figure (`figure.view` is what "Export figure…" saves)
    and jobs; it writes what it shows into the tab's shared `GradientsState`."""

    statusMessage = Signal(str)
    runningChanged = Signal(bool)  # one of its jobs started, or the last one ended

    def __init__(self, state: GradientsState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.figure: QWidget | None = None
        self.jobs: tuple[Job, ...] = ()

    def _set_running(self, name: str, on: bool) -> None:
        """Record in the state that `name` runs (or not) and say so, once per change."""
        if on != (name in self.state.running):
            (self.state.running.add if on else self.state.running.discard)(name)
            self.runningChanged.emit(on)

    def stop(self) -> None:
        """The window closes: stop timers and cancel the jobs (the tab then waits for them)."""
        for job in self.jobs:
            job.cancel()
