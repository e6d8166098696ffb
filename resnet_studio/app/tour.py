"""The guided tour of He et al. 2015 (Help > Tour of the 2015 paper): five steps as data, and the
checks that hold each step's claim against what the app measured.

A step says what it sets up, what to look for, and what its check reads. The checks take the
numbers the tabs show (never constants) and answer a `TourCheck`: whether the screen shows what
the step claims, in one or two sentences quoting those numbers, or what to do first when there
is nothing to check yet. No Qt here: the panel (qt/tour/) sets the tabs up and calls these.
"""

from __future__ import annotations

import io
import math
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SHIPPED_NET = "resnet56"  # the shipped trained pair the tour opens (app/trained_nets.py)
SHIPPED_TWIN = "plain56"
SMALL_NET = "resnet20"  # the pair of the attributions step (quick to explain)
SMALL_TWIN = "plain20"


@dataclass(frozen=True)
class TourStep:
    key: str
    title: str
    tab: str  # the tab key the step opens
    setup: str  # what the step sets up, in words
    look_for: str  # what to look at, and why it matters
    check: str  # what the check reads


@dataclass(frozen=True)
class TourCheck:
    ok: bool  # the screen shows what the step claims
    text: str  # the numbers read, or what to do first
    waiting: bool = False  # nothing to check yet (a measurement to wait for, a button to press)


STEPS: tuple[TourStep, ...] = (
    TourStep("gradients", "1 · Gradients at initialisation", "gradients",
             "The Gradients tab measures ResNet-56 and plain-56 (the same weights without the "
             "shortcuts) with one forward and backward pass at initialisation.",
             "The two cards and the first plot: the plain stack's weight gradients change far "
             "more from the last layer to the first than the residual net's. The shortcuts "
             "carry the gradient back unchanged (Sec. 3.1).",
             "the first-to-last gradient ratios of the two nets, as measured"),
    TourStep("degradation", "2 · Degradation in the Depth Lab", "depth_lab",
             "The Depth Lab's quick preset: plain and residual nets of depth 20 and 56 on the "
             "built-in data. Press Run experiment (Ctrl+Shift+R) — a few minutes on a CPU.",
             "The training error (left plot, the table): plain-56 ends higher than plain-20 — "
             "deeper is worse, and not from overfitting (it is the training error). ResNet-56 "
             "does not degrade (Fig. 1, Fig. 6).",
             "the training errors of the experiment shown, once it has finished"),
    TourStep("block", "3 · Inside a residual block: F(x) vs x", "images",
             "The Images tab opens the trained ResNet-56 and a sample image, on its Residual "
             "block view of layer2.1.",
             "x (the shortcut), F(x) (what the block learned) and their sum: in a trained "
             "ResNet F(x) is a small correction to x, so each block refines its input rather "
             "than replacing it (Sec. 3.1's hypothesis; Fig. 7's small responses).",
             "‖F(x)‖ ÷ ‖x‖ of the block shown"),
    TourStep("lesion", "4 · The lesion study on the trained pair", "gradients",
             "The Gradients tab's Lesion study on the shipped trained ResNet-56 and plain-56: "
             "each block is deleted in turn and the accuracy measured again. Press Run.",
             "Deleting one block of the ResNet costs little; deleting one of the plain net "
             "breaks it. A ResNet behaves like an ensemble of shorter paths (Veit et al. 2016).",
             "the mean accuracy drops of the two nets"),
    TourStep("attributions", "5 · What the two nets look at", "attributions",
             "The Attributions tab explains the trained ResNet-20 and its plain twin on one "
             "sample image, for the same target class. Press Compute.",
             "The maps of the two nets side by side: compare where each looks for the same "
             "class.",
             "that the two rows explain the same class"),
)


def step(key: str) -> TourStep:
    for s in STEPS:
        if s.key == key:
            return s
    raise KeyError(f"no tour step '{key}'; the steps are {', '.join(s.key for s in STEPS)}")


def _factor(x: float) -> str:
    """3.31 -> "3.3×", 3276.4 -> "3,276×": as the Gradients tab's cards write them."""
    from resnet_studio.core.analysis.gradients import format_factor

    return f"{format_factor(x)}×"


# -- the checks ------------------------------------------------------------------------------------
def check_gradients(report: Any, expected_model: str = "resnet56") -> TourCheck:
    """`report`: the Gradients tab's GradientReport at initialisation (None: not measured)."""
    if report is None:
        return TourCheck(False, "Nothing measured yet: wait for the measurement to finish "
                                "(the bar under the model row).", waiting=True)
    net, plain = report.net, report.plain
    if net.model != expected_model or plain is None:
        return TourCheck(False, f"The tab shows {net.model}, not {expected_model} with its "
                                "plain twin: press Set up again.")
    ok = plain.first_to_last > net.first_to_last
    text = (f"Measured: the first layer's weight gradient is {_factor(plain.first_to_last)} "
            f"the last one's in {plain.label}, {_factor(net.first_to_last)} in {net.label} "
            f"({plain.status} vs {net.status}).")
    if not ok:
        text += " On this batch the plain stack is not the more uneven one: try another seed."
    return TourCheck(ok, text)


def check_degradation(results: Any, running: bool = False) -> TourCheck:
    """`results`: the Depth Lab's ExperimentResults of the experiment shown (None: none)."""
    plain = [d for d in (results.degradation if results is not None else [])
             if d.variant == "plain"]
    if running:
        return TourCheck(False, "The experiment is running: check again when it has finished.",
                         waiting=True)
    if not plain:
        return TourCheck(False, "No finished plain nets of two depths shown yet: press Run "
                                "experiment (Ctrl+Shift+R), or open a stored quick demo.",
                         waiting=True)
    d = plain[0]
    residual = next((r for r in results.degradation if r.variant != "plain"), None)
    text = (f"Measured: plain-{d.deep} ends at {d.deep_error:.1f}% training error, plain-"
            f"{d.shallow} at {d.shallow_error:.1f}% ({d.delta:+.1f} points).")
    if residual is not None:
        text += (f" ResNet-{residual.deep}: {residual.deep_error:.1f}%, ResNet-"
                 f"{residual.shallow}: {residual.shallow_error:.1f}%.")
    if not d.degrades:
        text += " No degradation in this run: train for more steps (or more seeds)."
    return TourCheck(d.degrades, text)


def check_block(ratio: float | None, block: str, images: int) -> TourCheck:
    """`ratio`: ‖F(x)‖ ÷ ‖x‖ of the block view shown (None: not computed); `images`: how many
    images the tab holds."""
    if images == 0:
        return TourCheck(False, "No image loaded: open one (Open images…) or drop one on the "
                                "window.", waiting=True)
    if ratio is None or not math.isfinite(ratio):
        return TourCheck(False, "The block view shows nothing yet: select an image in the strip "
                                "(or see the tab's message).", waiting=True)
    ok = ratio < 1.0
    verdict = ("F(x) is smaller than x: the block refines its input." if ok else
               "F(x) is as large as x here: try a later block, or trained weights.")
    return TourCheck(ok, f"Measured at {block}: ‖F(x)‖ ÷ ‖x‖ = {ratio:.2f}. {verdict}")


def check_lesion(reports: list[Any], running: bool = False) -> TourCheck:
    """`reports`: the lesion study's LesionReports shown (the net's and its plain twin's)."""
    if running:
        return TourCheck(False, "The lesion study is running: check again when it has "
                                "finished.", waiting=True)
    residual = next((r for r in reports if not r.plain), None)
    plain = next((r for r in reports if r.plain), None)
    if residual is None or plain is None:
        return TourCheck(False, "No lesion study of a net and its plain twin shown yet: press "
                                "Run in the Lesion study page.", waiting=True)
    ok = residual.mean_drop < plain.mean_drop
    text = (f"Measured: deleting one block costs {residual.model} {100 * residual.mean_drop:.1f}"
            f" points of accuracy on average, {plain.model} {100 * plain.mean_drop:.1f} points "
            f"(intact: {100 * residual.intact_accuracy:.1f}% vs "
            f"{100 * plain.intact_accuracy:.1f}%).")
    if not ok:
        text += " Here the plain net suffers less: are both nets trained?"
    return TourCheck(ok, text)


def check_attributions(cells: Mapping[tuple[str, str], Any], running: bool = False) -> TourCheck:
    """`cells`: the Attributions tab's (row, method) -> AttributionCell shown."""
    if running:
        return TourCheck(False, "Computing: check again when the maps are shown.", waiting=True)
    targets: dict[str, set[str]] = {}
    for (row, _method), cell in cells.items():
        targets.setdefault(row, set()).add(cell.target_label)
    if len(targets) < 2:
        return TourCheck(False, "No maps of the net and its twin shown yet: press Compute.",
                         waiting=True)
    labels = set().union(*targets.values())
    rows = ", ".join(sorted(targets))
    if len(labels) == 1:
        return TourCheck(True, f"Shown: {rows}, all explaining the class "
                               f"'{next(iter(labels))}' — the maps are comparable.")
    return TourCheck(False, f"The rows ({rows}) explain different classes "
                            f"({', '.join(sorted(labels))}): choose one target class for both.")


__all__ = ["SHIPPED_NET", "SHIPPED_TWIN", "SMALL_NET", "SMALL_TWIN", "STEPS", "TourCheck",
           "TourStep", "check_attributions", "check_block", "check_degradation",
           "check_gradients", "check_lesion", "sample_image", "step"]


def sample_image(folder: str | Path | None = None) -> Path:
    """A validation image of the data the shipped nets were trained on, as PNG (written once,
    into `folder` or the temporary folder): the image the block and attributions steps open.
    Loading the data takes seconds: call it off the GUI thread."""
    from PIL import Image

    from resnet_studio.app.trained_nets import shipped_data
    from resnet_studio.core.common.files import write_bytes_atomic

    path = Path(folder or Path(tempfile.gettempdir()) / "resnet-studio-tour") / "sample.png"
    if path.is_file():
        return path
    data = shipped_data()
    pixels = data.val_x[0].permute(1, 2, 0).numpy()
    image = Image.fromarray(pixels if pixels.shape[2] == 3 else pixels[:, :, 0])
    buf = io.BytesIO()
    image.save(buf, "PNG")  # at the size the nets were trained on
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, buf.getvalue())
    return path
