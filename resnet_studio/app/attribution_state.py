"""What the Attributions tab shows, without Qt: its inputs, the maps, the sanity report, what
runs and the status line. The tab changes it from the GUI thread and draws from it; tests read
it instead of label texts. `AttributionSettings` is what the tab's form edits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from resnet_studio.app.attribution import (
    PLAIN,
    AttributionCell,
    AttributionRequest,
    MethodParams,
)
from resnet_studio.app.attribution_export import Display
from resnet_studio.app.samples import AUTO, SHIPPED
from resnet_studio.core.analysis.attribution_names import method_label

if TYPE_CHECKING:
    from resnet_studio.app.attribution import (
        AttributionRun,
        ModelChoices,
        ResolvedInputs,
        SanityCascade,
    )
    from resnet_studio.core.spec import ArchSpec

MAPS, SANITY = "maps", "sanity"  # what a job computes
DEFAULT_METHODS = ("integrated_gradients", "saliency", "layer_gradcam")
# what the tab says when Compute is pressed before the model the image comes with is loaded
LOADING = "Loading the model and its sample image…"
# the form's starting values: one batch size and one sample count for every method
FORM_PARAMS = MethodParams(steps=50, baseline="black", batch_size=16, samples=10, window=8,
                           stride=4)


@dataclass(frozen=True)
class AttributionSettings:
    """The methods, the target and the parameters, as the tab's form edits them."""

    methods: tuple[str, ...] = DEFAULT_METHODS
    target: int | None = None  # None: the predicted class
    same_target: bool = True  # the second model explains the model's class, not its own
    noise_tunnel: str | None = None
    params: MethodParams = FORM_PARAMS


@dataclass
class AttributionsState:
    model: str | ArchSpec | None = None
    # "auto" (ImageNet weights if they are on this machine, else the shipped trained ResNet-20
    # and its trained twin), "shipped", "imagenet" (where torchvision has them), "random", or a
    # path
    weights: str = AUTO
    compare: str | None = PLAIN  # None, "plain" or a second checkpoint
    twin: str | None = None  # the plain twin's checkpoint (`use_checkpoint`); None: random
    pinned: bool = False  # a checkpoint the window chose: it brings its own spec
    resolved: ResolvedInputs | None = None  # what the inputs stand for (names, classes)
    resolving: bool = False  # the tab's job is working `resolved` out
    image: str | None = None
    display: Display = field(default_factory=Display)
    choices: ModelChoices | None = None  # the model's class names and Grad-CAM layers
    cells: dict[tuple[str, str], AttributionCell] = field(default_factory=dict)  # (row, method)
    rows: list[str] = field(default_factory=list)  # the grid's rows, in the order they came
    sanity: SanityCascade | None = None
    running: str | None = None  # MAPS or SANITY while a job runs
    cancelling: bool = False
    outcome: str | None = None  # the last job's: "done", "cancelled" or "failed"
    status: str = ""

    # -- requests ------------------------------------------------------------------------------
    def missing(self, settings: AttributionSettings, kind: str = MAPS) -> str | None:
        """What to do before `kind` can run, or None; LOADING while the image is still to come
        with the model (`sample_may_come`): the tab runs `kind` once it has."""
        no_model = self.model is None and self.weights in ("imagenet", "random")
        if self.image is None and self.resolving and self.sample_may_come():
            return LOADING
        if kind == SANITY:
            if self.image is None or no_model or not settings.methods:
                return "Open an image, choose a model and tick a method first."
            return None
        if self.image is None or no_model:
            return "Open an image and choose a model first."
        if not settings.methods:
            return "Tick at least one method."
        return None

    def sample_may_come(self) -> bool:
        """Whether the weights may stand for the shipped trained net, whose tab opens its first
        sample glyph when no image is chosen."""
        return not self.pinned and self.weights in (AUTO, SHIPPED)

    def request(self, settings: AttributionSettings, kind: str = MAPS) -> AttributionRequest:
        """The request for the current inputs; the sanity check looks at the first method of
        the model alone."""
        sanity = kind == SANITY
        return AttributionRequest(
            image=str(self.image), model=None if self.pinned else self.model,
            weights=None if self.weights == "imagenet" else self.weights,
            methods=settings.methods[:1] if sanity else settings.methods,
            target=settings.target, noise_tunnel=settings.noise_tunnel, params=settings.params,
            compare=None if sanity else self.compare, twin=self.twin,
            same_target=settings.same_target)

    # -- the model -----------------------------------------------------------------------------
    def choose_model(self, model: str | ArchSpec) -> bool:
        """The sidebar's model; a checkpoint the window chose stays until the sidebar's model
        changes (not for its first model, which may arrive after "Use in…"). False: nothing
        to reload."""
        first, self.model = self.model is None, model
        if self.pinned and first:
            return False
        if self.pinned or self.weights not in ("imagenet", "random", AUTO, SHIPPED):
            self.weights, self.twin, self.pinned = AUTO, None, False
        return True

    def choose_weights(self, weights: str) -> None:
        self.weights, self.pinned = str(weights), False
        self.twin = None

    def choose_checkpoint(self, path: str, twin: str | None) -> None:
        """This app's checkpoint as the model (its own spec), and its plain twin's."""
        self.weights, self.twin, self.pinned = str(path), twin, True
        if twin is not None:
            self.compare = PLAIN

    def model_text(self) -> str:
        """What the Model line says: the name of what is shown, once known."""
        if self.resolved is not None:
            return self.resolved.label
        if self.pinned:
            return self.weights
        m = self.model
        return "no model" if m is None else m if isinstance(m, str) else m.name

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

    def succeeded(self, result: AttributionRun | SanityCascade) -> None:
        self.outcome = "done"
        if self.running == SANITY:
            self.sanity = result
            verdict = "flagged" if result.report.flagged else "passed"
            self.status = f"Sanity check of {method_label(result.report.method)}: {verdict}."
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
