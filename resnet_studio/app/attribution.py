"""The attribution job, once for the Attributions tab and `resnet-studio attribute`.

An `AttributionRequest` names an image, a model and its weights, optionally a second model to
show beside it (the plain twin, or another checkpoint), the methods, the target class and the
parameters. `compute_attributions(request, models=..., progress=...)` takes the models from a
`ModelSourceCache` (the window's shared one; the command makes its own), computes every
(model, method) map and returns them as plain data (`AttributionRun`: numpy maps, the pictures
the models saw, IG's convergence delta, the target classes); with `request.sanity`, also the
cascading-randomisation check of the first method on the model. `sanity_check(request, ...)`
runs that check alone.

Both front-ends build the same request for the same choices, so they get the same numbers.
The second model explains the same class as the model (`same_target`, the default: the model's
predicted class unless a target is named), so that the two maps answer the same question; or
each its own prediction. Where the model and a second checkpoint differ (a target class or a
Grad-CAM layer the second one lacks), the second falls back to its predicted class and its last
block; for the model itself such a request is an error. Weights "auto" / "shipped" stand for
what `app.samples.default_source` chooses (the shipped trained ResNet-20 and its trained plain
twin, or ImageNet weights where they are on the machine).

Threading: these functions run on one worker thread (a Qt `Job`'s, or the command's main
thread). `progress` is reported from that thread, and every report is a cancellation point
(`Cancelled` within one internal batch of Captum). `on_cell(cell)` is called on the same
thread as each map is done, before the function returns: the tab forwards it as a queued
signal, so its cells reach the GUI thread before the Job's result does. Each model is used
under `models.lease(...)`: Captum puts hooks on it, so no other job runs it meanwhile.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from resnet_studio.app.model_sources import ModelSourceCache
from resnet_studio.core.analysis.attribution_names import (
    NOISE_TUNNEL_METHODS,
    accepted_params,
    method_label,
)
from resnet_studio.core.common.progress import Progress, ProgressFn

if TYPE_CHECKING:
    from resnet_studio.core.analysis.attribution import AttributionResult
    from resnet_studio.core.analysis.attribution_sanity import SanityReport
    from resnet_studio.core.spec import ArchSpec
    from resnet_studio.core.weights import ModelSource

PLAIN = "plain"  # `compare`: the plain twin (same stack, no shortcuts) with random weights
STAGE = 1000  # progress units per map, so that the bar moves within each one


@dataclass(frozen=True)
class MethodParams:
    """The parameters both front-ends offer, by what they mean; None: the method's default.
    `for_method` names them the way each method (and the noise tunnel) takes them."""

    steps: int | None = None  # Integrated Gradients' integration steps
    baseline: str | None = None  # IG, DeepLift, GradientSHAP, occlusion: black, blurred, noise
    batch_size: int | None = None  # every internal batch: IG steps, occlusion windows, noise
    samples: int | None = None  # the noise tunnel's samples, or GradientSHAP's
    stdevs: float | None = None  # the noise tunnel's noise, or GradientSHAP's
    window: int | None = None  # occlusion window side
    stride: int | None = None  # occlusion stride
    layer: str | None = None  # Grad-CAM layer; None: the last residual block
    seed: int | None = None  # the random parts (default 0)

    def check(self) -> None:
        """ValueError naming the first parameter out of its range (and its command-line flag),
        before any model is loaded."""
        at_least_one = (("steps", "integration steps", "--steps"),
                        ("window", "occlusion window", "--window"),
                        ("stride", "occlusion stride", "--stride"),
                        ("batch_size", "internal batch size", "--batch-size"),
                        ("samples", "samples", "--samples"))
        for name, what, flag in at_least_one:
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{what} ({flag}) must be 1 or more, not {value}")
        if self.stdevs is not None and not self.stdevs >= 0:
            raise ValueError(f"noise standard deviation (--stdevs) must be 0 or more, "
                             f"not {self.stdevs}")

    def for_method(self, method: str, noise_tunnel: str | None = None) -> dict[str, Any]:
        named = {"steps": self.steps, "baseline": self.baseline, "window": self.window,
                 "stride": self.stride, "layer": self.layer, "seed": self.seed,
                 "internal_batch_size": self.batch_size,
                 "perturbations_per_eval": self.batch_size, "nt_batch_size": self.batch_size}
        if noise_tunnel:
            named.update(nt_samples=self.samples, nt_stdevs=self.stdevs)
        else:
            named.update(samples=self.samples, stdevs=self.stdevs)
        allowed = accepted_params(method, noise_tunnel)
        return {k: v for k, v in named.items() if v is not None and k in allowed}


@dataclass(frozen=True)
class AttributionRequest:
    image: str  # an image file
    model: str | ArchSpec | None  # a preset, a spec file or spec; None: a checkpoint's own
    weights: str | None = None  # "imagenet[:VARIANT]", "random", a path; None: ImageNet
    # weights where torchvision has them, else random
    methods: tuple[str, ...] = ("integrated_gradients",)
    target: int | str | None = None  # None / "pred": the predicted class; an index; a name
    noise_tunnel: str | None = None  # wraps the methods that take one (NOISE_TUNNEL_METHODS)
    params: MethodParams = field(default_factory=MethodParams)
    compare: str | None = None  # PLAIN, or a second checkpoint shown beside the model
    twin: str | None = None  # the plain twin's checkpoint (a trained twin); None: random weights
    same_target: bool = True  # the second model explains the model's target class; False: its
    # own predicted class
    sanity: bool = False  # also the cascading randomisation check of methods[0]
    device: str = "cpu"
    download: bool = True
    allow_partial: bool = False  # a state_dict that only partly fits: load what fits


@dataclass
class AttributionCell:
    """One map of the grid: one model (row), one method. Plain data."""

    row: str  # "model", "plain twin", "checkpoint"
    title: str  # the row's model: "resnet20: random weights (untrained)"
    method: str
    result: AttributionResult
    image: np.ndarray  # the uint8 picture the model saw (resized, centre-cropped)
    target_label: str  # the target's class name
    model_name: str = ""
    weights_label: str = ""
    predicted_label: str = ""  # the class this row's model predicts for the image


@dataclass
class AttributionRun:
    cells: list[AttributionCell] = field(default_factory=list)
    sanity: SanityReport | None = None


@dataclass(frozen=True)
class ModelChoices:
    """What a model offers the form: class names (index = class) and Grad-CAM layers."""

    categories: tuple[str, ...]
    layers: tuple[str, ...]  # residual blocks, last first, then the convs


def tunnel_for(method: str, noise_tunnel: str | None) -> str | None:
    """The noise tunnel `method` runs in: none for occlusion and GradientSHAP."""
    return noise_tunnel if method in NOISE_TUNNEL_METHODS else None


def resolve_target(target: int | str | None, categories: tuple[str, ...] | list[str]) -> int | None:
    """None for the predicted class, else a class index: `target` is None, "pred", an index
    or a class name (any case). ValueError when it is none of the model's classes."""
    if target is None:
        return None
    text = str(target).strip()
    if text.lower() in ("pred", "predicted", ""):
        return None
    if text.lstrip("-").isdigit():
        i = int(text)
        if not 0 <= i < len(categories):
            raise ValueError(f"target {i} is not a class index (0..{len(categories) - 1})")
        return i
    low = [c.lower() for c in categories]
    if text.lower() in low:
        return low.index(text.lower())
    raise ValueError(f"target '{text}' is neither 'pred', a class index nor a class name")


def model_choices(model: str | ArchSpec, progress: Progress | None = None) -> ModelChoices:
    """Class names and Grad-CAM layers of a model, from its spec (no weights, no compute)."""
    from resnet_studio.core.weights import default_categories, resolve_spec

    spec = resolve_spec(model)
    return ModelChoices(default_categories(spec), tuple(gradcam_layer_names(spec)))


@dataclass(frozen=True)
class ResolvedInputs:
    """What the tab's model and weights stand for, before any map: the name it shows, the
    classes and layers the form offers, and whether it is the shipped trained pair."""

    label: str  # "resnet20: trained ResNet-20 (built-in glyphs), shipped", "resnet50: ImageNet…"
    choices: ModelChoices
    shipped: bool = False


def resolve_inputs(model: str | ArchSpec | None, weights: str, *, models: ModelSourceCache,
                   progress: Progress | None = None) -> ResolvedInputs:
    """Name, classes and layers of what (model, weights) will show: "auto" / "shipped" as
    `app.samples.default_source` chooses (no download); a checkpoint (its own spec and class
    names) is loaded into `models`; ImageNet and random weights are read off the spec."""
    from resnet_studio.app.samples import AUTO, SHIPPED, default_source, shipped_label

    shipped = False
    if weights in (AUTO, SHIPPED):
        chosen = default_source(model, weights)
        model, weights, shipped = chosen.model, chosen.weights, chosen.shipped
    if weights in ("imagenet", "random") or model is not None and not Path(weights).exists():
        choices = model_choices(model)
        name = model if isinstance(model, str) else model.name
        from resnet_studio.core.weights import default_weights

        imagenet = weights == "imagenet" and default_weights(model) == "imagenet"
        what = "ImageNet weights" if imagenet else "random weights (untrained)"
        return ResolvedInputs(f"{name}: {what}", choices)
    src = models.get(model, weights, progress=progress)
    choices = ModelChoices(tuple(src.categories), tuple(gradcam_layer_names(src.spec)))
    label = shipped_label(weights) or src.label
    return ResolvedInputs(f"{src.spec.name}: {label}", choices, shipped=shipped)


def gradcam_layer_names(spec: ArchSpec) -> list[str]:
    """What `attribution_models.gradcam_layers` lists for the built model (the residual blocks,
    last first, then the convs), read off the inspector's table: building ResNet-1202 to list
    its layers would hold the interpreter for most of a second while the window redraws."""
    from resnet_studio.core.inspect import summarize

    summary = summarize(spec)
    blocks = [n.id for n in summary.graph.nodes if n.kind == "block"]
    convs = [r.name for r in summary.layers if r.type == "Conv2d" and r.call == 1]
    return blocks[::-1] + convs[::-1]


def compute_attributions(request: AttributionRequest, *, models: ModelSourceCache,
                         progress: Progress | ProgressFn | None = None,
                         on_cell: Callable[[AttributionCell], None] | None = None
                         ) -> AttributionRun:
    """Every (model, method) map of the request, the model's row first (see the module doc)."""
    from resnet_studio.core.images import load_image

    request.params.check()
    progress = Progress.of(progress)
    _quiet_captum()
    loaded = load_image(request.image)
    request = resolve_default_weights(request)
    rows = ["model"]
    if request.compare:
        rows.append("plain twin" if request.compare == PLAIN else "checkpoint")
    n = len(rows) * len(request.methods)
    total = (n + bool(request.sanity)) * STAGE
    run = AttributionRun()
    main_spec, target = None, None
    for r, row in enumerate(rows):
        model, weights = _row_model(row, request, main_spec)
        progress(0, 0, "Loading the model…")
        with _leased(models, model, weights, request, progress) as src:
            title = _title(row, src, request)
            pre = src.preprocess
            x, picture = pre(loaded), _picture(pre, loaded)
            predicted = _predicted(src, x)
            if row == "model":
                main_spec = src.spec
                # the model's own prediction unless a class is named; the second model
                # explains the same class (`same_target`)
                target = resolve_target(request.target, src.categories)
                if target is None and request.same_target:
                    target = predicted
            row_target = target if row == "model" or request.same_target else None
            for m, method in enumerate(request.methods):
                i = r * len(request.methods) + m
                text = f"{method_label(method)} ({row}, {i + 1} of {n})"
                result = _attribute(src, x, method, row == "model", row_target, request,
                                    progress.span(i * STAGE, (i + 1) * STAGE, total), text)
                cell = AttributionCell(row=row, title=title, method=method, result=result,
                                       image=picture, target_label=_class_name(src, result.target),
                                       model_name=src.spec.name, weights_label=src.label,
                                       predicted_label=_class_name(src, predicted))
                run.cells.append(cell)
                if on_cell is not None:
                    on_cell(cell)
            if request.sanity and row == "model":
                stage = progress.span(n * STAGE, total, total)
                run.sanity = _sanity(src, x, target, request, stage)
    return run


@dataclass
class SanityCascade:
    """The sanity check with what its maps are drawn over: the report (its `maps`: the
    original's, then one per randomisation step), the picture the model saw, the target."""

    report: SanityReport
    image: np.ndarray
    title: str  # the model: "resnet20: trained ResNet-20 (built-in glyphs), shipped"
    target_label: str


def sanity_check(request: AttributionRequest, *, models: ModelSourceCache,
                 progress: Progress | ProgressFn | None = None) -> SanityReport:
    """The cascading randomisation check (Adebayo et al. 2018) of `request.methods[0]` on the
    model (not the comparison)."""
    return sanity_cascade(request, models=models, progress=progress).report


def sanity_cascade(request: AttributionRequest, *, models: ModelSourceCache,
                   progress: Progress | ProgressFn | None = None) -> SanityCascade:
    """`sanity_check` with the picture and names the tab draws the cascade's maps with."""
    from resnet_studio.core.images import load_image

    request.params.check()
    progress = Progress.of(progress)
    _quiet_captum()
    loaded = load_image(request.image)
    request = resolve_default_weights(request)
    progress(0, 0, "Loading the model…")
    with _leased(models, request.model, _weights(request.model, request.weights), request,
                 progress) as src:
        target = resolve_target(request.target, src.categories)
        stage = progress.span(0, STAGE, STAGE)
        # the check's own texts ("randomised down to layer3") say which step runs; every
        # report still passes through `stage`, the cancellation point
        labelled = Progress(lambda done, total, text: stage(done, total, f"Sanity check: {text}"))
        report = _sanity(src, src.preprocess(loaded), target, request, labelled)
        return SanityCascade(report=report, image=_picture(src.preprocess, loaded),
                             title=_title("model", src, request),
                             target_label=_class_name(src, report.target))


# -- the steps ---------------------------------------------------------------------------------

def _quiet_captum() -> None:
    # Captum announces on every call that it sets (and later removes) hooks on the ReLUs: on
    # the prepared copy, as intended; nothing the user can act on
    warnings.filterwarnings("ignore", category=UserWarning, module=r"captum\.")


def resolve_default_weights(request: AttributionRequest) -> AttributionRequest:
    """The request with weights "auto" / "shipped" made concrete (`app.samples.default_source`:
    no download); a shipped pair brings its trained plain twin."""
    from resnet_studio.app.samples import AUTO, SHIPPED, default_source

    if request.weights not in (AUTO, SHIPPED):
        return request
    chosen = default_source(request.model, request.weights)
    return replace(request, model=chosen.model, weights=chosen.weights,
                   twin=request.twin or chosen.twin)


def _predicted(src: ModelSource, x) -> int:
    from resnet_studio.core.analysis.attribution import predicted_class

    return predicted_class(src.model, x if x.dim() == 4 else x[None])


def _weights(model: str | ArchSpec | None, weights: str | None) -> str | None:
    """None means ImageNet weights where torchvision has them, else random ones."""
    if weights is not None or model is None:
        return weights
    from resnet_studio.core.weights import default_weights

    return default_weights(model) or "random"


def _row_model(row: str, request: AttributionRequest,
               main_spec: ArchSpec | None) -> tuple[str | ArchSpec | None, str | None]:
    """The (model, weights) a row of the grid loads. A second checkpoint of this app (a run
    folder, its checkpoint.json) brings its own spec; a bare state_dict is taken as the
    request's model."""
    if row == "plain twin":
        return (None, request.twin) if request.twin else (main_spec.plain_twin(), "random")
    if row == "checkpoint":
        compare = str(request.compare)
        own_spec = Path(compare).is_dir() or compare.endswith(".json")
        return (None if own_spec else request.model), compare
    return request.model, _weights(request.model, request.weights)


@contextlib.contextmanager
def _leased(models: ModelSourceCache, model, weights, request: AttributionRequest,
            progress: Progress) -> Iterator[ModelSource]:
    """The model for this job alone, on the request's device (and back on the CPU after: the
    cache keeps CPU models)."""
    from resnet_studio.core.common.device import resolve_device

    lease = models.lease(model, weights, allow_partial=request.allow_partial,
                         download=request.download, progress=progress)
    device = resolve_device(request.device)
    with lease as src:
        if device == "cpu":
            yield src
            return
        src.model.to(device)
        try:
            yield src
        finally:
            src.model.to("cpu")


def _title(row: str, src: ModelSource, request: AttributionRequest) -> str:
    from resnet_studio.app.samples import shipped_label

    if row == "plain twin":
        if not request.twin:
            return f"{src.spec.name}: plain twin, random weights"
        return f"{src.spec.name}: {shipped_label(request.twin) or src.label}"
    if row == "checkpoint":
        return f"{src.spec.name}: {Path(str(request.compare)).name}"
    shipped = shipped_label(request.weights)
    return f"{src.spec.name}: {shipped}" if shipped else src.describe()


def _picture(preprocess, loaded) -> np.ndarray:
    from resnet_studio.core.analysis.attribution_pictures import preprocessed_image

    return preprocessed_image(preprocess, loaded)


def _class_name(src: ModelSource, index: int) -> str:
    return src.categories[index] if index < len(src.categories) else f"class {index}"


def _attribute(src: ModelSource, x, method: str, main: bool, target: int | None,
               request: AttributionRequest, progress: Progress, text: str) -> AttributionResult:
    from resnet_studio.core.analysis.attribution import attribute

    nt = tunnel_for(method, request.noise_tunnel)
    kw = request.params.for_method(method, nt)
    if not main:
        # a second model of another architecture: its own last block and predicted class
        if kw.get("layer") and kw["layer"] not in dict(src.model.named_modules()):
            kw["layer"] = None
        if target is not None and target >= src.num_classes:
            target = None
    pre = src.preprocess
    return attribute(src.model, x, method, target=target, noise_tunnel=nt, mean=pre.mean,
                     std=pre.std, progress=progress, text=text, **kw)


def _sanity(src: ModelSource, x, target: int | None, request: AttributionRequest,
            progress: Progress) -> SanityReport:
    from resnet_studio.core.analysis.attribution_sanity import cascading_randomization

    method = request.methods[0]
    nt = tunnel_for(method, request.noise_tunnel)
    pre = src.preprocess
    return cascading_randomization(src.model, x, method, target=target, noise_tunnel=nt,
                                   mean=pre.mean, std=pre.std, progress=progress,
                                   **request.params.for_method(method, nt))
