"""What the main window knows of a tab: one protocol, one context handed to every tab.

The window builds each tab from `TabContext`, connects `statusMessage` and `busyChanged`,
tells it the current model with `model_changed(summary)`, asks `confirm_close` before quitting and
calls `shutdown` after (stop work, wait for threads). Tabs never import one another; what one
tab offers another (an image dropped on the window, a layer clicked in the graph) goes through
the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from resnet_studio.app.model_sources import ModelSourceCache
from resnet_studio.app.shared_images import SharedImages
from resnet_studio.qt.kit.settings import Settings

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance

    from resnet_studio.core.summary import ModelSummary


@dataclass
class TabContext:
    """What every tab gets: the settings (remembered or not), the run store to use (None: the
    user's own, in the data folder), the shared cache of loaded models and the images opened
    this session."""

    settings: Settings = field(default_factory=lambda: Settings(remember=False))
    store_path: str | None = None
    models: ModelSourceCache = field(default_factory=ModelSourceCache)
    images: SharedImages = field(default_factory=SharedImages)


class Tab(Protocol):
    title: str
    statusMessage: SignalInstance  # one line for the status bar
    busyChanged: SignalInstance  # bool: background work started / ended
    useRequested: SignalInstance  # (run id, target tab): open a run's trained model there

    def model_changed(self, summary: ModelSummary) -> None:
        """The model picked in the sidebar, inspected (spec, layers, graph)."""

    def confirm_close(self, parent: QWidget) -> bool:
        """Ask before quitting while work would be lost; True: go ahead."""

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Stop timers and work (writing checkpoints), wait for threads; True if all ended."""


class TabWidget(QWidget):
    """What every tab starts from: the window's two signals, the context, and hooks that do
    nothing until a tab has something to do (most tabs ignore the sidebar's model or never
    need to ask before quitting)."""

    title = ""
    statusMessage = Signal(str)
    busyChanged = Signal(bool)
    useRequested = Signal(str, str)  # run id, target tab: "Use in…" (the window routes it)

    def __init__(self, context: TabContext | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context or TabContext()

    def model_changed(self, summary: ModelSummary) -> None:
        pass

    def confirm_close(self, parent: QWidget) -> bool:
        return True

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        return True

    def save_or_warn(self, save, what: str) -> None:
        """Run an export (`save()` returns the path written); a failure is one warning naming
        `what` (the figure, the numbers), a success one line in the status bar."""
        try:
            written = save()
        except (OSError, ValueError) as e:
            QMessageBox.warning(self, "Export failed", f"Could not save the {what}: {e}")
            return
        self.statusMessage.emit(f"Saved {written}")
