"""What the Attributions tab shows, without Qt: its inputs, the maps, the sanity report, what
runs and the status line. The tab changes it from the GUI thread and draws from it; tests read
it instead of label texts. `AttributionSettings` is what the tab's form edits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from resnet_studio.app.attribution import AttributionCell, AttributionRequest, MethodParams
from resnet_studio.app.attribution_export import Display
from resnet_studio.core.analysis.attribution_names import method_label

if TYPE_CHECKING:
    from resnet_studio.app.attribution import AttributionRun, ModelChoices
    from resnet_studio.core.analysis.attribution_sanity import SanityReport
    from resnet_studio.core.spec import ArchSpec

MAPS, SANITY = "maps", "sanity"  # what a job computes
DEFAULT_METHODS = ("integrated_gradients", "saliency", "layer_gradcam")
# the form's starting values: one batch size and one sample count for every method
FORM_PARAMS = MethodParams(steps=50, baseline="black", batch_size=16, samples=10, window=8,
                           stride=4)


@dataclass(frozen=True)
class AttributionSettings:
    """The methods, the target and the parameters, as the tab's form edits them."""

    methods: tuple[str, ...] = DEFAULT_METHODS
    target: int | None = None  # None: the predicted class
    noise_tunnel: str | None = None
    params: MethodParams = FORM_PARAMS


@dataclass
class AttributionsState:
    model: str | ArchSpec | None = None
    weights: str = "imagenet"  # "imagenet" (where torchvision has them), "random", or a path
    compare: str | None = None  # None, "plain" or a second checkpoint
    image: str | None = None
    display: Display = field(default_factory=Display)
    choices: ModelChoices | None = None  # the model's class names and Grad-CAM layers
    cells: dict[tuple[str, str], AttributionCell] = field(default_factory=dict)  # (row, method)
    rows: list[str] = field(default_factory=list)  # the grid's rows, in the order they came
    sanity: SanityReport | None = None
    running: str | None = None  # MAPS or SANITY while a job runs
    cancelling: bool = False
    outcome: str | None = None  # the last job's: "done", "cancelled" or "failed"
    status: str = ""

    # -- requests ------------------------------------------------------------------------------
    def missing(self, settings: AttributionSettings, kind: str = MAPS) -> str | None:
        """What to do before `kind` can run, or None."""
        if kind == SANITY:
            if self.image is None or self.model is None or not settings.methods:
                return "Open an image, choose a model and tick a method first."
            return None
        if self.image is None or self.model is None and self.weights in ("imagenet", "random"):
            return "Open an image and choose a model first."
        if not settings.methods:
            return "Tick at least one method."
        return None

    def request(self, settings: AttributionSettings, kind: str = MAPS) -> AttributionRequest:
        """The request for the current inputs; the sanity check looks at the first method of
        the model alone."""
        sanity = kind == SANITY
        return AttributionRequest(
            image=str(self.image), model=self.model,
            weights=None if self.weights == "imagenet" else self.weights,
            methods=settings.methods[:1] if sanity else settings.methods,
            target=settings.target, noise_tunnel=settings.noise_tunnel, params=settings.params,
            compare=None if sanity else self.compare)

    # -- a job's life --------------------------------------------------------------------------
    def start(self, kind: str, settings: AttributionSettings) -> None:
        self.running, self.cancelling, self.outcome = kind, False, None
        if kind == MAPS:
            self.cells.clear()
            self.rows.clear()
            self.status = "Computing attributions…"
        else:
            self.sanity = None
            self.status = f"Sanity check of {method_label(settings.methods[0])}…"

    def add_cell(self, cell: AttributionCell) -> None:
        if cell.row not in self.rows:
            self.rows.append(cell.row)
        self.cells[(cell.row, cell.method)] = cell

    def progressed(self, text: str) -> None:
        if not self.cancelling:  # "Cancelling…" stays until the job has stopped
            self.status = text

    def cancel(self) -> None:
        self.cancelling = True
        self.status = "Cancelling…"

    def succeeded(self, result: AttributionRun | SanityReport) -> None:
        self.outcome = "done"
        if self.running == SANITY:
            self.sanity = result
            verdict = "flagged" if result.flagged else "passed"
            self.status = f"Sanity check of {method_label(result.method)}: {verdict}."
        else:
            self.status = f"{len(result.cells)} attribution map(s) computed."

    def failed(self, message: str) -> None:
        self.outcome = "failed"
        self.status = f"Failed: {message}"

    def cancelled(self) -> None:
        self.outcome = "cancelled"
        self.status = f"Cancelled; {len(self.cells)} map(s) kept."

    def finished(self) -> None:
        self.running, self.cancelling = None, False
