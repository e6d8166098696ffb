"""The attribution job both front-ends run: the same maps as core's `attribute`, one request
from the tab's state and from the command's flags, cancel keeps what was made, the sanity
check, the export, and the tab's Qt-free state.

Random ResNet-20 weights at 32x32 keep it fast (no download)."""

import argparse
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from resnet_studio.app.attribution import (
    AttributionRequest,
    MethodParams,
    compute_attributions,
    model_choices,
    resolve_target,
    sanity_check,
    tunnel_for,
)
from resnet_studio.app.attribution_export import Display, render, write_map
from resnet_studio.app.attribution_state import (
    LOADING,
    SANITY,
    AttributionSettings,
    AttributionsState,
)
from resnet_studio.app.model_sources import ModelSourceCache
from resnet_studio.core.analysis.attribution import attribute
from resnet_studio.core.analysis.attribution_pictures import heatmap, overlay
from resnet_studio.core.analysis.attribution_sanity import cascading_randomization
from resnet_studio.core.common.progress import Cancelled, Progress
from resnet_studio.core.images import load_image
from resnet_studio.core.weights import random_source

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
PARAMS = MethodParams(steps=8, batch_size=4, samples=3)


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "cat.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path)
    return str(path)


@pytest.fixture(scope="module")
def models():
    return ModelSourceCache()


def test_params_are_named_the_way_each_method_takes_them():
    p = MethodParams(steps=12, batch_size=4, samples=6, stdevs=0.3, window=5, layer="layer2")
    assert p.for_method("integrated_gradients") == {"steps": 12, "internal_batch_size": 4}
    assert p.for_method("integrated_gradients", "smoothgrad") == {
        "steps": 12, "internal_batch_size": 4, "nt_batch_size": 4, "nt_samples": 6,
        "nt_stdevs": 0.3}
    assert p.for_method("gradient_shap") == {"samples": 6, "stdevs": 0.3}
    assert p.for_method("occlusion") == {"window": 5, "perturbations_per_eval": 4}
    assert p.for_method("layer_gradcam") == {"layer": "layer2"}
    assert MethodParams().for_method("saliency", "vargrad") == {}
    assert tunnel_for("occlusion", "vargrad") is None
    assert tunnel_for("gradient_shap", "vargrad") is None
    assert tunnel_for("saliency", "vargrad") == "vargrad"


@pytest.mark.parametrize("params, message", [
    (MethodParams(window=0), "occlusion window (--window) must be 1 or more, not 0"),
    (MethodParams(steps=0), "integration steps (--steps) must be 1 or more, not 0"),
    (MethodParams(batch_size=-1), "internal batch size (--batch-size) must be 1 or more, not -1"),
])
def test_parameters_out_of_range_fail_before_a_model_loads(params, message, image):
    class NoModels:  # the check comes first: nothing is loaded for a request that cannot run
        def lease(self, *args, **kwargs):
            raise AssertionError("a model was loaded")

    request = AttributionRequest(image=image, model="resnet20", weights="random",
                                 methods=("occlusion",), params=params)
    for job in (compute_attributions, sanity_check):
        with pytest.raises(ValueError) as caught:
            job(request, models=NoModels())
        assert str(caught.value) == message


def test_target_by_index_or_name():
    cats = ("airplane", "automobile", "bird", "cat")
    assert resolve_target(None, cats) is None and resolve_target("pred", cats) is None
    assert resolve_target(3, cats) == resolve_target("3", cats) == resolve_target("Cat", cats) == 3
    for bad in (4, "-1", "dog"):
        with pytest.raises(ValueError):
            resolve_target(bad, cats)


def test_maps_equal_core_attribute_for_the_model_and_its_twin(image, models):
    request = AttributionRequest(image=image, model="resnet20", weights="random",
                                 methods=("integrated_gradients", "layer_gradcam"), target="cat",
                                 params=PARAMS, compare="plain")
    streamed = []
    run = compute_attributions(request, models=models, on_cell=streamed.append)
    assert [(c.row, c.method) for c in run.cells] == [
        ("model", "integrated_gradients"), ("model", "layer_gradcam"),
        ("plain twin", "integrated_gradients"), ("plain twin", "layer_gradcam")]
    assert streamed == run.cells and run.sanity is None
    loaded = load_image(image)
    for row, source in (("model", random_source("resnet20")),
                        ("plain twin", random_source(random_source("resnet20").spec.plain_twin()))):
        pre = source.preprocess
        x = pre(loaded)
        for cell in (c for c in run.cells if c.row == row):
            want = attribute(source.model, x, cell.method, target=3, mean=pre.mean, std=pre.std,
                             **PARAMS.for_method(cell.method))
            assert np.array_equal(cell.result.attribution, want.attribution)
            assert cell.result.target == 3 and cell.target_label == "cat"
            assert cell.image.shape == (32, 32, 3) and cell.model_name == source.spec.name
    model_ig = run.cells[0]
    assert model_ig.title == "resnet20: " + model_ig.weights_label
    assert run.cells[2].title == "plain_resnet20: plain twin, random weights"
    # IG's completeness: the map sums to f(x) - f(black) up to the delta Captum reports
    source = random_source("resnet20")
    pre = source.preprocess
    black = torch.tensor([(0 - m) / s for m, s in zip(pre.mean, pre.std, strict=True)])
    with torch.no_grad():
        fx = source.model(pre(loaded)[None])[0, 3].item()
        fb = source.model(black.view(1, 3, 1, 1).expand(1, 3, 32, 32))[0, 3].item()
    r = model_ig.result
    assert abs(float(r.attribution.astype(np.float64).sum()) - (fx - fb)) <= r.delta + 1e-4


def test_the_tab_and_the_command_send_the_same_request(image):
    from resnet_studio.commands import attribute as command

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["attribute", image, "--model", "resnet20", "--weights", "random",
                              "--method", "saliency", "--noise-tunnel", "vargrad",
                              "--target", "3", "--steps", "8", "--batch-size", "4",
                              "--samples", "3"])
    from_cli = command.request_from_args(args)
    state = AttributionsState(model="resnet20", weights="random", image=image, compare=None)
    settings = AttributionSettings(methods=("saliency",), target=3, noise_tunnel="vargrad",
                                   params=PARAMS)
    from_tab = state.request(settings)
    assert from_tab == replace(from_cli, target=3)  # the command's target is text until resolved
    models = ModelSourceCache()
    a = compute_attributions(from_cli, models=models).cells[0].result
    b = compute_attributions(from_tab, models=models).cells[0].result
    assert np.array_equal(a.attribution, b.attribution) and a.forward_passes == 1


def test_cancel_keeps_the_maps_made_so_far(image, models):
    request = AttributionRequest(image=image, model="resnet20", weights="random",
                                 methods=("saliency", "integrated_gradients"), params=PARAMS)

    def report(done, total, text):
        if "2 of 2" in text:
            progress.cancel()

    progress = Progress(report)
    streamed = []
    with pytest.raises(Cancelled):
        compute_attributions(request, models=models, progress=progress, on_cell=streamed.append)
    assert [c.method for c in streamed] == ["saliency"]
    with models.lease("resnet20", "random") as source:  # the lease was given back
        assert not source.model._forward_pre_hooks


def test_sanity_check_equals_core(image, models):
    request = AttributionRequest(image=image, model="resnet20", weights="random",
                                 methods=("saliency", "layer_gradcam"), target=2)
    seen = []
    report = sanity_check(request, models=models, progress=lambda d, t, text: seen.append(text))
    source = random_source("resnet20")
    pre = source.preprocess
    want = cascading_randomization(source.model, pre(load_image(image)), "saliency", target=2,
                                   mean=pre.mean, std=pre.std)
    assert report.to_dict() == want.to_dict() and report.target == 2
    assert "Sanity check: randomised down to layer3" in seen
    run = compute_attributions(replace(request, sanity=True), models=models)
    assert len(run.cells) == 2 and run.sanity.to_dict() == want.to_dict()


def test_render_and_write_map(image, models, tmp_path):
    request = AttributionRequest(image=image, model="resnet20", weights="random",
                                 methods=("saliency",))
    cell = compute_attributions(request, models=models).cells[0]
    display = Display().with_signed(True)
    assert display.colormap == "bwr" and display.with_signed(False).colormap == "viridis"
    assert Display(colormap="hot").with_signed(True).colormap == "hot"
    want = overlay(cell.image, heatmap(cell.result.attribution, signed=True), colormap="bwr",
                   signed=True, opacity=0.6)
    assert np.array_equal(render(cell, display), want)
    png, npy = write_map(cell, tmp_path / "out" / "map.png", display, tmp_path / "map.npy")
    assert np.array_equal(np.asarray(Image.open(png)), want)
    assert np.array_equal(np.load(npy), cell.result.attribution)
    assert write_map(cell, tmp_path / "only.png", display) == (tmp_path / "only.png", None)


def test_model_choices_from_the_spec():
    choices = model_choices("resnet20")
    assert choices.categories[3] == "cat" and len(choices.categories) == 10
    assert choices.layers[:3] == ("layer3.2", "layer3.1", "layer3.0")
    assert "conv1" in choices.layers


def test_state_waits_for_a_model_that_brings_its_image():
    state = AttributionsState(model="resnet56", resolving=True)  # "auto": maybe the shipped net
    settings = AttributionSettings()
    assert state.missing(settings) == state.missing(settings, SANITY) == LOADING
    assert LOADING == "Loading the model and its sample image…"
    state.choose_checkpoint("run/model.safetensors", None)  # brings no image
    assert state.missing(settings) == "Open an image and choose a model first."


def test_state_follows_a_job(image):
    state = AttributionsState()
    settings = AttributionSettings(methods=("saliency", "occlusion"))
    assert state.missing(settings) == "Open an image and choose a model first."
    state.image, state.model = image, "resnet50"
    assert state.missing(replace(settings, methods=())) == "Tick at least one method."
    assert state.missing(settings) is None and state.missing(settings, SANITY) is None
    state.compare = "plain"
    maps, sanity = state.request(settings), state.request(settings, SANITY)
    assert maps.weights == "auto"  # ImageNet weights if on this machine, else the shipped pair
    assert maps.methods == ("saliency", "occlusion") and maps.compare == "plain"
    assert sanity.methods == ("saliency",) and sanity.compare is None

    state.start("maps", settings)
    assert state.running == "maps" and state.status == "Computing attributions…"
    state.progressed("Saliency (model, 1 of 2)")
    state.cancel()
    state.progressed("Occlusion (model, 2 of 2)")
    assert state.status == "Cancelling…"
    state.cancelled()
    state.finished()
    assert (state.outcome, state.running, state.status) == ("cancelled", None,
                                                            "Cancelled; 0 map(s) kept.")
    state.start(SANITY, settings)
    state.failed("no such weights file")
    assert state.status == "Failed: no such weights file" and state.outcome == "failed"


@pytest.mark.parametrize("name", ["resnet20", "preact_resnet18", "resnext50_32x4d", "plain_resnet56"])
def test_gradcam_layer_names_from_the_spec_equal_the_built_models(name):
    from resnet_studio.app.attribution import gradcam_layer_names
    from resnet_studio.core.analysis.attribution_models import gradcam_layers
    from resnet_studio.core.models import build_model
    from resnet_studio.core.zoo import get_spec

    spec = get_spec(name)
    assert gradcam_layer_names(spec) == gradcam_layers(build_model(spec, "meta"))
