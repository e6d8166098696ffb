"""Shortcut strength α (y = F(x) + α·shortcut(x)): the spec field, the models, the dial from the
plain twin (α = 0) to the residual net (α = 1), and `gradients --alpha`."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from resnet_studio.cli import main
from resnet_studio.core.analysis.gradients import analyze_gradients, measure, plain_twin_of
from resnet_studio.core.analysis.shortcut_strength import ShortcutDial, alpha_profiles
from resnet_studio.core.models.builder import build_model, set_shortcut_scale
from resnet_studio.core.spec import ArchSpec, SpecError
from resnet_studio.core.zoo import get_spec

SMALL = dict(block="basic", layers=(2, 2), widths=(8, 16), stem="cifar", num_classes=5)
VARIANTS = {  # identity + zero-pad, projection, projection everywhere, pre-activation, bottleneck
    "A": ArchSpec(name="a", shortcut="A", **SMALL),
    "B": ArchSpec(name="b", shortcut="B", **SMALL),
    "C": ArchSpec(name="c", shortcut="C", **SMALL),
    "preact_B": ArchSpec(name="p", shortcut="B", preact=True, **SMALL),
    "bottleneck_B": dataclasses.replace(ArchSpec(name="n", shortcut="B", **SMALL),
                                        block="bottleneck"),
}


def test_spec_field_round_trips_and_is_checked():
    spec = dataclasses.replace(get_spec("resnet56"), shortcut_scale=0.25)
    assert ArchSpec.from_json(spec.to_json()) == spec and spec.to_dict()["shortcut_scale"] == 0.25
    assert ArchSpec().shortcut_scale == 1.0
    old = json.loads(get_spec("resnet20").to_json())
    del old["shortcut_scale"]  # a file from before the field: residual
    assert ArchSpec.from_dict(old).shortcut_scale == 1.0
    assert spec.plain_twin().shortcut_scale == 1.0 and spec.plain_twin().plain
    for value, message in ((1.5, "must be between 0 (plain) and 1 (residual)"),
                           (-0.1, "must be between 0 (plain) and 1 (residual)")):
        errs = dataclasses.replace(spec, shortcut_scale=value).errors()
        assert [(e.field, e.message) for e in errs] == [("shortcut_scale", message)]
    plain = dataclasses.replace(spec.plain_twin(), shortcut_scale=0.5)
    assert [(e.field, e.message) for e in plain.errors()] == [
        ("shortcut_scale", "a plain network has no shortcut to scale (set it to 1)")]
    with pytest.raises(SpecError, match="expected a finite number"):
        ArchSpec.from_json(spec.to_json().replace('"shortcut_scale": 0.25',
                                                  '"shortcut_scale": "half"'))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_alpha_zero_is_the_plain_twin_and_one_the_residual_net(variant):
    spec = VARIANTS[variant]
    dial = ShortcutDial(spec, seed=3, batch_size=8)
    assert list(dial.model.state_dict()) == list(build_model(spec).state_dict())  # names kept
    twin, _ = plain_twin_of(dial.model, dial.spec)
    plain = measure(twin, dial.images, dial.labels)
    at0 = dial.measure(0.0)
    assert at0.shortcut_scale == 0.0 and at0.label == f"{spec.name} (α=0)"
    np.testing.assert_allclose(at0.conv_grad_norms, plain.conv_grad_norms, rtol=1e-5)
    np.testing.assert_allclose(at0.input_grad_norms, plain.input_grad_norms, rtol=1e-5)
    assert at0.loss == pytest.approx(plain.loss, rel=1e-6)
    # a projection still runs at α = 0 but contributes nothing: its weights get no gradient
    assert all(c.weight_grad_norm == 0.0 for c in at0.convs if c.shortcut)
    residual = analyze_gradients(spec, seed=3, batch_size=8).net
    at1 = dial.measure(1.0)
    assert [c.weight_grad_norm for c in at1.convs] == [c.weight_grad_norm for c in residual.convs]
    assert [b.input_grad_norm for b in at1.blocks] == [b.input_grad_norm for b in residual.blocks]
    assert at1.loss == residual.loss and at1.label == spec.name


def test_forward_is_branch_plus_alpha_times_shortcut():
    spec = VARIANTS["B"]
    model = build_model(spec).eval()
    block = model.layer2[0]  # a projection shortcut
    x = torch.randn(2, 8, 8, 8)
    with torch.no_grad():
        full = block.residual(x) + block.downsample(x)
        set_shortcut_scale(model, 0.5)
        assert model.spec.shortcut_scale == 0.5
        torch.testing.assert_close(block(x), torch.relu(block.residual(x) + 0.5 * block.downsample(x)))
        torch.testing.assert_close(block.identity(x), 0.5 * block.downsample(x))
        set_shortcut_scale(model, 1.0)
        torch.testing.assert_close(block(x), torch.relu(full))
    with pytest.raises(SpecError, match="between 0"):
        set_shortcut_scale(model, 2.0)


def test_first_to_last_ratio_falls_monotonically_with_alpha_on_resnet56():
    alphas = [0.0, 0.25, 0.5, 0.75, 1.0]
    dial, profiles = alpha_profiles(get_spec("resnet56"), alphas, seed=0, batch_size=32)
    ratios = [p.net.first_to_last for p in profiles]
    assert [p.alpha for p in profiles] == alphas
    assert all(a > b for a, b in zip(ratios, ratios[1:])), ratios
    assert ratios[0] > 1000 > ratios[-1]  # plain-like "exploding" down to the residual net's
    assert [p.net.status for p in profiles][::4] == ["exploding", "growing"]


def test_cli_one_profile_per_alpha(capsys):
    assert main(["gradients", "resnet20", "--alpha", "0,0.5,1", "--batch", "8", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [p["alpha"] for p in data["profiles"]] == [0.0, 0.5, 1.0]
    assert [p["shortcut_scale"] for p in data["profiles"]] == [0.0, 0.5, 1.0]
    assert len(data["profiles"][0]["blocks"]) == 9 and data["spec"]["name"] == "resnet20"
    ratios = [p["first_to_last"] for p in data["profiles"]]
    assert ratios[0] > ratios[1] > ratios[2]
    assert main(["gradients", "resnet20", "--alpha", "0,1", "--batch", "8"]) == 0
    out = capsys.readouterr().out
    assert "α=0" in out and "α=1" in out and "layer3.2" in out and "first/last" in out
    assert main(["gradients", "resnet20", "--alpha", "0,1", "--batch", "8", "--csv"]) == 0
    assert capsys.readouterr().out.startswith("alpha,kind,name,depth,value\n0.0,")
    for args, message in ((["resnet20", "--alpha", "0,2"], "outside 0 (plain) … 1 (residual)"),
                          (["resnet20", "--alpha", "0,x"], "'x' is not a number"),
                          (["plain20", "--alpha", "0,1"], "has no shortcut to scale"),
                          (["resnet20", "--alpha", "0", "--compare-plain"],
                           "α = 0 is the plain twin")):
        assert main(["gradients", *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("resnet-studio gradients: error: ") and message in err, err


def test_the_slider_dial_gives_what_a_fresh_measurement_gives():
    from resnet_studio.app.gradients import InitRequest, measure_at_init
    from resnet_studio.app.shortcut_strength import AlphaDial, measure_with_dial

    request = InitRequest(spec=VARIANTS["B"], batch_size=8, seed=2, compare_plain=True)
    dial = AlphaDial(request)
    for alpha in (0.3, 1.0):
        at = dataclasses.replace(request, spec=dataclasses.replace(request.spec,
                                                                   shortcut_scale=alpha))
        fast, fresh = measure_with_dial(at, dial=dial), measure_at_init(at)
        assert fast.request == fresh.request == at
        assert fast.report.to_dict() == fresh.report.to_dict()
    other = dataclasses.replace(request, seed=5)
    assert not dial.answers(other) and measure_with_dial(other, dial=dial).report.seed == 5
    with pytest.raises(ValueError, match="between 0 and 1"):
        dial.measure(1.5)
