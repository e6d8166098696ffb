"""Attributions: each method equals a direct Captum call, IG completeness, cancel, sanity check."""

import numpy as np
import pytest
import torch

from resnet_studio.core.analysis import attribution as A
from resnet_studio.core.analysis.attribution_models import prepare_model
from resnet_studio.core.analysis.attribution_names import COLORMAPS, METHODS
from resnet_studio.core.analysis.attribution_pictures import heatmap, lut, overlay
from resnet_studio.core.analysis.attribution_sanity import (
    SanityStep,
    cascading_randomization,
    spearman,
)
from resnet_studio.core.common.progress import Cancelled, Progress
from resnet_studio.core.weights import random_source

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def source():
    return random_source("resnet20", seed=0)


@pytest.fixture(scope="module")
def x():
    g = torch.Generator().manual_seed(1)
    return torch.randn(3, 32, 32, generator=g)


def _direct(model, prepared, x, method, target, mean, std):
    """The same attribution, written against Captum directly."""
    import captum.attr as ca

    xb = x[None].clone().requires_grad_(True)
    black = ((0 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
             ).expand_as(xb).contiguous()
    torch.manual_seed(0)
    np.random.seed(0)  # GradientSHAP's alphas
    if method == "integrated_gradients":
        return ca.IntegratedGradients(model).attribute(
            xb, baselines=black, target=target, n_steps=12, internal_batch_size=5)
    if method == "saliency":
        return ca.Saliency(model).attribute(xb, target=target)
    if method == "input_x_gradient":
        return ca.InputXGradient(model).attribute(xb, target=target)
    if method == "guided_backprop":
        return ca.GuidedBackprop(prepared).attribute(xb, target=target)
    if method == "deconvolution":
        return ca.Deconvolution(prepared).attribute(xb, target=target)
    if method == "deeplift":
        return ca.DeepLift(prepared).attribute(xb, baselines=black, target=target)
    if method == "gradient_shap":
        return ca.GradientShap(model).attribute(xb, baselines=black, target=target, n_samples=6)
    if method == "occlusion":
        return ca.Occlusion(model).attribute(xb, sliding_window_shapes=(3, 8, 8),
                                             strides=(3, 4, 4), baselines=black, target=target,
                                             perturbations_per_eval=7)
    if method == "layer_gradcam":
        m = ca.LayerGradCam(model, model.layer3[2]).attribute(xb, target=target,
                                                              relu_attributions=True)
        return ca.LayerAttribution.interpolate(m, (32, 32), interpolate_mode="bilinear")
    if method == "guided_gradcam":
        return ca.GuidedGradCam(prepared, prepared.layer3[2]).attribute(xb, target=target)
    raise AssertionError(method)


PARAMS = {"integrated_gradients": {"steps": 12, "internal_batch_size": 5},
          "gradient_shap": {"samples": 6},
          "occlusion": {"window": 8, "stride": 4, "perturbations_per_eval": 7}}


@pytest.mark.parametrize("method", METHODS)
def test_each_method_equals_direct_captum(source, x, method):
    model, pre = source.model, source.preprocess
    prepared = prepare_model(model, (3, 32, 32))
    target = A.predicted_class(model, x[None])
    r = A.attribute(model, x, method, mean=pre.mean, std=pre.std, prepared=prepared,
                    **PARAMS.get(method, {}))
    assert r.target == target and r.method == method and r.seconds > 0
    want = _direct(model, prepared, x, method, target, pre.mean, pre.std)[0].detach().numpy()
    assert r.attribution.shape == want.shape
    assert np.allclose(r.attribution, want, rtol=1e-4, atol=1e-6)
    assert np.isfinite(r.attribution).all() and np.abs(r.attribution).sum() > 0
    assert (r.delta is not None) == (method == "integrated_gradients")


def test_gradcam_and_target_choice(source, x):
    r = A.attribute(source.model, x, "layer_gradcam", target=3, layer="layer2")
    assert r.target == 3 and r.attribution.shape == (1, 32, 32)
    assert r.params["layer"] == "layer2"
    assert A.attribute(source.model, x, "layer_gradcam").params["layer"] == "layer3.2"
    with pytest.raises(KeyError):
        A.attribute(source.model, x, "layer_gradcam", layer="nope")


def test_noise_tunnel_equals_direct_captum(source, x):
    import captum.attr as ca

    model = source.model
    r = A.attribute(model, x, "saliency", target=2, noise_tunnel="vargrad", nt_samples=6,
                    nt_batch_size=4, nt_stdevs=0.2)
    torch.manual_seed(0)
    want = ca.NoiseTunnel(ca.Saliency(model)).attribute(
        x[None].clone().requires_grad_(True), nt_type="vargrad", nt_samples=6,
        nt_samples_batch_size=4, stdevs=0.2, target=2, abs=True)
    assert np.allclose(r.attribution, want[0].detach().numpy(), rtol=1e-4, atol=1e-7)
    assert r.forward_passes == 2 and r.noise_tunnel == "vargrad"
    with pytest.raises(ValueError):
        A.attribute(model, x, "occlusion", noise_tunnel="smoothgrad")
    with pytest.raises(ValueError):
        A.attribute(model, x, "saliency", steps=3)


def test_model_is_not_changed(source, x):
    model = source.model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    A.attribute(model, x, "deeplift", target=1)
    A.attribute(model, x, "guided_backprop", target=1)
    assert all(m.inplace for m in model.modules() if isinstance(m, torch.nn.ReLU))
    assert not model._forward_pre_hooks and not model._forward_hooks
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_prepared_copy_splits_shared_relus(source, x):
    prepared = prepare_model(source.model, (3, 32, 32))
    relus = [m for m in prepared.modules() if isinstance(m, torch.nn.ReLU)]
    assert relus and not any(m.inplace for m in relus)
    calls = {}
    hs = [m.register_forward_hook(lambda m, i, o: calls.__setitem__(m, calls.get(m, 0) + 1))
          for m in relus]
    with torch.no_grad():
        out = prepared(x[None])
        out2 = prepared(x[None])
    for h in hs:
        h.remove()
    assert set(calls.values()) == {2}  # two forward passes, each ReLU once per pass
    with torch.no_grad():
        assert torch.allclose(out, source.model(x[None]), atol=1e-5)
        assert torch.equal(out, out2)


def test_ig_completeness(source, x):
    model, pre = source.model, source.preprocess
    r = A.attribute(model, x, "integrated_gradients", steps=64, internal_batch_size=32,
                    mean=pre.mean, std=pre.std)
    base = A.make_baseline(x[None], "black", mean=pre.mean, std=pre.std)
    with torch.no_grad():
        fx = model(x[None])[0, r.target].item()
        fb = model(base)[0, r.target].item()
    gap = abs(float(r.attribution.astype(np.float64).sum()) - (fx - fb))
    assert gap <= r.delta + 1e-4  # what Captum reports is the completeness error
    assert r.delta < 0.05 * abs(fx - fb) + 1e-3  # and it is small with enough steps


def test_cancel_within_one_internal_batch(source, x):
    model = source.model
    forwards = []
    handle = model.register_forward_hook(lambda m, i, o: forwards.append(i[0].shape[0]))
    seen = []

    def report(done, total, message):
        seen.append((done, total))
        progress.cancel()  # ask to stop as soon as the first batch starts

    progress = Progress(report)
    try:
        with pytest.raises(Cancelled):
            A.attribute(model, x, "integrated_gradients", target=0, steps=40,
                        internal_batch_size=8, progress=progress)
    finally:
        handle.remove()
    assert forwards == [8]  # one internal batch ran, not the other four
    assert seen == [(0, 7)]
    stopped = Progress()
    stopped.cancel()
    with pytest.raises(Cancelled):  # module-hooked methods stop too
        A.attribute(model, x, "deeplift", target=0, progress=stopped)


def test_spearman_matches_definition():
    rng = np.random.default_rng(0)
    a = rng.normal(size=200)
    b = a + rng.normal(scale=0.5, size=200)
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    want = np.corrcoef(ra, rb)[0, 1]
    assert spearman(a, b) == pytest.approx(want)
    assert spearman(a, a) == pytest.approx(1.0)
    assert spearman(a, -a) == pytest.approx(-1.0)
    assert spearman([1, 2, 2, 3], [1, 2, 2, 3]) == pytest.approx(1.0)  # ties


def test_cascading_randomization(source, x):
    steps_seen = []
    rep = cascading_randomization(source.model, x, "saliency", target=0,
                                    progress=lambda d, t, m: steps_seen.append(d))
    assert [s.randomized for s in rep.steps] == ["fc", "layer3", "layer2", "layer1", "bn1",
                                                 "conv1"]
    assert all(-1 <= s.spearman_abs <= 1 for s in rep.steps)
    assert steps_seen[-1] == len(rep.steps) + 1
    d = rep.to_dict()
    assert d["flagged"] == rep.flagged and len(d["steps"]) == 6
    # a "method" that ignores the weights is flagged
    rep.steps = [SanityStep(s.randomized, 0.95, 0.95) for s in rep.steps]
    assert rep.flagged


def test_heatmap_and_overlay():
    a = np.zeros((3, 8, 8), np.float32)
    a[0, 2, 2], a[1, 5, 5] = 10.0, -4.0
    h = heatmap(a, signed=True, clip_percentile=100)
    assert h.max() == pytest.approx(1.0) and h.min() == pytest.approx(-0.4)
    h_abs = heatmap(a, clip_percentile=100)
    assert h_abs.min() >= 0 and h_abs[5, 5] == pytest.approx(0.4)
    img = np.full((8, 8, 3), 128, np.uint8)
    out = overlay(img, h, colormap="bwr", signed=True, opacity=1.0)
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    assert tuple(out[2, 2]) == (255, 0, 0)  # full positive: red
    assert overlay(img, h_abs, opacity=0.0).tolist() == img.tolist()
    for name in COLORMAPS:
        assert lut(name).shape == (256, 3)


def test_cli_attribute(tmp_path, capsys):
    import json

    from PIL import Image

    from resnet_studio.cli import main

    img = tmp_path / "in.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 50, 3), dtype=np.uint8)).save(img)
    out, npy = tmp_path / "heat.png", tmp_path / "heat.npy"
    rc = main(["attribute", str(img), "--model", "resnet20", "--weights", "random", "--method",
               "integrated_gradients", "--steps", "8", "--target", "cat", "--out", str(out),
               "--npy", str(npy), "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["target"] == 3 and doc["target_label"] == "cat" and doc["delta"] >= 0
    assert doc["seconds"] > 0 and doc["params"]["steps"] == 8
    assert Image.open(out).size == (32, 32) and np.load(npy).shape == (3, 32, 32)
    rc = main(["attribute", str(img), "--model", "resnet20", "--method", "saliency",
               "--noise-tunnel", "smoothgrad", "--samples", "3", "--signed", "--out", str(out)])
    assert rc == 0 and "Saliency + smoothgrad" in capsys.readouterr().out
    assert main(["attribute", str(img), "--model", "resnet20", "--method", "occlusion",
                 "--noise-tunnel", "vargrad"]) == 2
