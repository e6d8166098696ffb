"""What the notebook functions return: plain data (numbers, lists, dicts) with the app layer's
own result kept beside it (`report`), `to_dict()` for JSON, and `plot()` for a matplotlib
Figure (the optional extra `notebook`; drawn by `api.plots`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from resnet_studio.app.attribution import AttributionRun
    from resnet_studio.app.gradients import InitMeasurement
    from resnet_studio.app.landscape import LandscapeResult
    from resnet_studio.app.lesion import LesionResult
    from resnet_studio.core.experiments import ExperimentResults
    from resnet_studio.core.summary import ModelSummary
    from resnet_studio.core.training.callbacks import TrainResult
    from resnet_studio.core.training.curves import RunCurves


@dataclass(frozen=True)
class Summary:
    """A model's size: totals and one dict per layer (`resnet-studio summary --json`'s)."""

    model: str
    params: int
    macs: int  # multiply-adds of one image (a FLOP count is twice this)
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    layers: list[dict[str, Any]]
    report: ModelSummary = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return self.report.to_dict()

    def plot(self):
        """Parameters and multiply-adds of every block, stem and head: a matplotlib Figure."""
        from resnet_studio.api.plots import summary_figure

        return summary_figure(self)


@dataclass(frozen=True)
class Run:
    """A training run: how it ended (`resnet-studio train --json`'s numbers) and its history
    (the curves the Train tab draws: loss, error and learning rate by step; validations)."""

    id: str
    status: str  # finished | stopped | diverged | failed
    final_loss: float | None  # the last logged training loss
    result: dict[str, Any]
    history: RunCurves = field(repr=False)
    report: TrainResult = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        h = self.history
        return {**self.result, "history": {k: list(getattr(h, k)) for k in
                                           ("steps", "loss", "error", "lr", "val_steps",
                                            "val_loss", "val_error")}}

    def plot(self):
        """Training loss, error (and validation error) and learning rate by step."""
        from resnet_studio.api.plots import run_figure

        return run_figure(self)


@dataclass(frozen=True)
class Sweep:
    """A depth experiment: every run's final errors, the seed means and the degradation
    readout (`resnet-studio sweep --json`'s)."""

    experiment_id: str
    status: str
    runs: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    degradation: list[str]
    report: ExperimentResults = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return self.report.to_dict()

    def plot(self):
        """He et al.'s Fig. 6: training error (dashed) and test error (bold) by step, one
        colour per model."""
        from resnet_studio.api.plots import sweep_figure

        return sweep_figure(self)


@dataclass(frozen=True)
class Gradients:
    """Gradient norms at initialisation: per block |dL/dx| and the branch response std, for
    the net and (with `compare_plain`) its plain twin; the verdicts in words."""

    model: str
    blocks: list[dict[str, Any]]
    plain_blocks: list[dict[str, Any]] | None
    first_to_last: float  # first conv's weight-gradient norm / last conv's
    verdicts: list[str]
    report: InitMeasurement = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return self.report.report.to_dict()

    def plot(self):
        """|dL/dx| at every block's input over depth (log scale), net and plain twin."""
        from resnet_studio.api.plots import gradients_figure

        return gradients_figure(self)


@dataclass(frozen=True)
class Lesion:
    """The lesion study (Veit et al. 2016): accuracy intact and with each block deleted, one
    report per model (`resnet-studio lesion --json`'s)."""

    reports: list[dict[str, Any]]
    summary: list[str]
    advice: str
    report: LesionResult = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"reports": self.reports, "summary": self.summary, "advice": self.advice}

    def plot(self):
        """Accuracy with each block deleted, against the intact accuracy, per model."""
        from resnet_studio.api.plots import lesion_figure

        return lesion_figure(self)


@dataclass(frozen=True)
class Attribution:
    """Attribution maps: one per (model, method), as C x H x W arrays, with the picture the
    model saw, the target class and (Integrated Gradients) the convergence delta."""

    maps: list[dict[str, Any]]  # row, model, method, target, target_label, delta, attribution
    image: np.ndarray = field(repr=False)  # H x W x 3 uint8
    sanity: dict[str, Any] | None
    report: AttributionRun = field(repr=False)

    @property
    def attribution(self) -> np.ndarray:
        """The first map (the model's, first method)."""
        return self.maps[0]["attribution"]

    def to_dict(self) -> dict[str, Any]:
        return {"maps": [{k: v for k, v in m.items() if k != "attribution"} for m in self.maps],
                "sanity": self.sanity}

    def plot(self):
        """The picture, then |attribution| of every map over it."""
        from resnet_studio.api.plots import attribution_figure

        return attribution_figure(self)


__all__ = ["Attribution", "Gradients", "Lesion", "Run", "Summary", "Sweep"]


@dataclass(frozen=True)
class Landscape:
    """Loss around each run's trained weights (`resnet-studio landscape`'s numbers): per run
    its loss at the centre, the 2-D grid (`surface`, rows along the second direction), the
    1-D slice, the line from initialisation (empty unless asked for) and roughness."""

    runs: list[dict[str, Any]]
    report: LandscapeResult = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"settings": dict(vars(self.report.settings)),
                "runs": [{k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in r.items()}
                         for r in self.runs]}

    def plot(self):
        """The command's figure: contours on one colour scale, the 1-D slices, the init line."""
        from resnet_studio.app.landscape_figure import landscape_figure

        return landscape_figure(self.report)
