"""What each tour step does to the window (`setup`) and what it reads back (`check`).

A setup opens the step's tab and sets it up through the tab's own methods, as a user would with
its controls; it returns a note when part of it cannot be done in this build. A check reads the
numbers the tab shows (its state) and hands them to app/tour.py's checks. `image` is the sample
image the block and attributions steps open (None until it is ready).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from resnet_studio.app import tour
from resnet_studio.app.tour import TourCheck

LESION_PAGE, INIT_PAGE = 2, 0  # the Gradients tab's sections
BLOCK = "layer2.1"


def _shipped(name: str) -> Path:
    from resnet_studio.app.trained_nets import shipped_info

    return shipped_info(name).path


def _shipped_spec(name: str):
    from resnet_studio.app.trained_nets import shipped_info

    return shipped_info(name).spec


def _open_checkpoint(tab, net: str, twin: str | None) -> str:
    """The shipped net (and its twin) as the tab's model, through the tab's `use_checkpoint`."""
    if hasattr(tab, "use_checkpoint"):
        tab.use_checkpoint(_shipped(net), _shipped(twin) if twin else None)
        return ""
    if hasattr(tab, "load_weights_file"):  # the Images tab before `use_checkpoint`
        tab.set_model(_shipped_spec(net))
        tab.load_weights_file(_shipped(net))
        return ""
    return f"This build cannot open the shipped {net} here: choose it in the tab."


# -- 1: gradients at initialisation -----------------------------------------------------------------
def setup_gradients(window, image: Path | None) -> str:
    tab = window.show_tab("gradients")
    tab.sections.setCurrentIndex(INIT_PAGE)
    combo = tab.picker.model_combo
    combo.setCurrentIndex(combo.findData(56))
    tab.init_view.measure()  # the step asks for the measurement: it is what it shows
    return ""


def check_gradients(window) -> TourCheck:
    return tour.check_gradients(window.gradients.state.report)


# -- 2: degradation -----------------------------------------------------------------------------------
def setup_degradation(window, image: Path | None) -> str:
    tab = window.show_tab("depth_lab")
    if tab.session.is_running():
        return "An experiment is already running: the check waits for it."
    tab.form.apply_preset("quick")
    return ""


def check_degradation(window) -> TourCheck:
    tab = window.depth_lab
    results = tab.state.results if tab.state.experiment is not None else None
    return tour.check_degradation(results, running=tab.session.is_running())


# -- 3: the residual block ----------------------------------------------------------------------------
def setup_block(window, image: Path | None) -> str:
    tab = window.show_tab("images")
    note = _open_checkpoint(tab, tour.SHIPPED_NET, None)
    if image is not None and tab.image_count() == 0:
        tab.add_paths([image])
    tab.views.setCurrentWidget(tab.residual)
    tab.select_layer(BLOCK)  # chosen once the model's blocks are known
    return note


def check_block(window) -> TourCheck:
    tab = window.images
    result = tab.residual.result
    return tour.check_block(result.residual_ratio if result is not None else None,
                            tab.residual.block(), tab.image_count())


# -- 4: the lesion study --------------------------------------------------------------------------------
def setup_lesion(window, image: Path | None) -> str:
    tab = window.show_tab("gradients")
    tab.sections.setCurrentIndex(LESION_PAGE)
    if "lesion" in tab.state.running:
        return "A lesion study is running: the check waits for it."
    return _open_checkpoint(tab.lesion_view, tour.SHIPPED_NET, tour.SHIPPED_TWIN)


def check_lesion(window) -> TourCheck:
    state = window.gradients.state
    return tour.check_lesion(state.lesion_reports, running="lesion" in state.running)


# -- 5: attributions ----------------------------------------------------------------------------------
def setup_attributions(window, image: Path | None) -> str:
    tab = window.show_tab("attributions")
    if hasattr(tab, "use_checkpoint"):
        tab.use_checkpoint(_shipped(tour.SMALL_NET), _shipped(tour.SMALL_TWIN))
    else:
        tab.set_model(_shipped_spec(tour.SMALL_NET))
        tab.set_weights(_shipped(tour.SMALL_NET))
        tab.set_compare(_shipped(tour.SMALL_TWIN))
    if image is not None:
        tab.set_image(image)
    return ""


def check_attributions(window) -> TourCheck:
    tab = window.attributions
    return tour.check_attributions(tab.cells(), running=tab.is_busy())


# step key -> (setup(window, image) -> note, check(window) -> TourCheck)
ACTIONS: dict[str, tuple[Callable, Callable]] = {
    "gradients": (setup_gradients, check_gradients),
    "degradation": (setup_degradation, check_degradation),
    "block": (setup_block, check_block),
    "lesion": (setup_lesion, check_lesion),
    "attributions": (setup_attributions, check_attributions),
}
NEEDS_IMAGE = {"block", "attributions"}
