"""Gradient / signal-propagation analysis: numbers checked against hand-written autograd, and
the depth behaviour measured at initialisation (plain stacks explode, residual ones do not; cf.
Yang et al. 2019, "A Mean Field Theory of Batch Normalization")."""

import json
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from resnet_studio.cli import main
from resnet_studio.core.analysis.gradients import (
    analyze_gradients,
    build_seeded,
    classify,
    plain_twin_of,
    without_bn,
)
from resnet_studio.core.zoo import get_spec
from tests.helpers import cifar_net

TINY = cifar_net((1, 1), (4, 8), shortcut="B", num_classes=3)


def _hand_computed(spec, images, labels, seed):
    """Forward block by block and ask torch.autograd.grad for everything directly."""
    model = build_seeded(spec, seed).train()
    x = model.stem(images)
    block_inputs, responses = [], []
    for stage in model.stages():
        for blk in stage:
            block_inputs.append(x)
            responses.append(float(blk.residual(x).detach().std()))
            x = blk(x)
    loss = F.cross_entropy(model.head(x), labels)
    convs = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    grads = torch.autograd.grad(loss, [m.weight for _, m in convs] + block_inputs)
    conv_norms = {n: float(g.norm()) for (n, _), g in zip(convs, grads)}
    input_norms = [float(g.norm()) for g in grads[len(convs):]]
    return float(loss.detach()), conv_norms, input_norms, responses


@pytest.mark.parametrize("spec", [TINY, TINY.with_shortcut("none"),
                                  replace(TINY, name="tiny_preact", preact=True), without_bn(TINY)],
                         ids=["residual", "plain", "preact", "no-bn"])
def test_numbers_equal_a_hand_written_autograd_computation(spec):
    g = torch.Generator().manual_seed(5)
    images = torch.randn(4, 3, 8, 8, generator=g)
    labels = torch.tensor([0, 2, 1, 2])
    report = analyze_gradients(spec, (images, labels), seed=3)
    loss, conv_norms, input_norms, responses = _hand_computed(spec, images, labels, seed=3)

    net = report.net
    assert net.loss == pytest.approx(loss, rel=1e-5)
    assert {c.name: c.weight_grad_norm for c in net.convs} == pytest.approx(conv_norms, rel=1e-4)
    assert [b.input_grad_norm for b in net.blocks] == pytest.approx(input_norms, rel=1e-4)
    assert [b.response_std for b in net.blocks] == pytest.approx(responses, rel=1e-4)
    assert net.first_to_last == pytest.approx(conv_norms["conv1"] / conv_norms["layer2.0.conv2"],
                                              rel=1e-4)
    depths = {c.name: (c.depth, c.block, c.shortcut) for c in net.convs}
    assert depths["conv1"] == (1, "stem", False)
    assert depths["layer1.0.conv2"] == (3, "layer1.0", False)
    assert depths["layer2.0.conv2"] == (5, "layer2.0", False)
    if not spec.plain:
        assert depths["layer2.0.downsample.0"] == (4, "layer2.0", True)
    assert [b.depth for b in net.blocks] == [2, 4]


def test_a_given_model_is_left_as_it_was():
    model = build_seeded(TINY, 0).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    analyze_gradients(TINY, torch.randn(4, 3, 8, 8), model=model, compare_plain=True)
    assert not model.training
    assert all(p.grad is None for p in model.parameters())
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


@pytest.fixture(scope="module")
def resnet56_vs_plain():
    # 128 random 32x32 images, seed 0: the batch the module docstring's numbers come from
    return analyze_gradients(get_spec("resnet56"), compare_plain=True, seed=0, batch_size=128)


def test_plain_gradients_explode_with_depth_and_residual_ones_do_not(resnet56_vs_plain):
    r56 = resnet56_vs_plain
    plain20 = analyze_gradients(get_spec("resnet20", plain=True), seed=0).net
    plain110 = analyze_gradients(get_spec("resnet110", plain=True), seed=0).net
    res, plain56 = r56.net.first_to_last, r56.plain.first_to_last
    print(f"first/last: resnet56 {res:.3g}, plain20 {plain20.first_to_last:.3g}, "
          f"plain56 {plain56:.3g}, plain110 {plain110.first_to_last:.3g}")
    assert plain56 >= 50 * res
    assert plain20.first_to_last < plain56 < plain110.first_to_last
    assert r56.plain.status == "exploding" and plain110.status == "exploding"
    assert r56.net.status in ("healthy", "growing")
    assert "grow" in r56.plain.verdict and "exploding" in r56.plain.verdict


def test_ratio_strip_and_same_weights(resnet56_vs_plain):
    r = resnet56_vs_plain
    assert len(r.ratio_strip) == 55 and len(r.block_ratio_strip) == 27
    first = r.ratio_strip[0]
    assert first.name == "conv1" and first.depth == 1
    assert first.ratio == pytest.approx(r.plain.convs[0].weight_grad_norm
                                        / r.net.convs[0].weight_grad_norm)
    assert "layer2.3.conv1.weight" in r.shared_weights

    model = build_seeded(get_spec("resnet56"), 0)
    twin, shared = plain_twin_of(model)
    assert torch.equal(twin.layer2[3].conv1.weight, model.layer2[3].conv1.weight)
    assert len(shared) == len(model.state_dict())  # option A: nothing without a counterpart

    # projection shortcuts (B): everything but the projection is shared
    tiny = build_seeded(TINY, 1)
    twin, shared = plain_twin_of(tiny)
    assert twin.layer2[0].downsample is None
    assert torch.equal(twin.layer2[0].conv2.weight, tiny.layer2[0].conv2.weight)
    assert set(tiny.state_dict()) - set(shared) == {
        k for k in tiny.state_dict() if k.startswith("layer2.0.downsample.")}


def test_without_batchnorm_residual_responses_grow_and_plain_ones_fade():
    r = analyze_gradients(without_bn(get_spec("resnet20")), compare_plain=True, seed=0,
                          batch_size=32)
    assert r.net.norm == "none" and "(no BN)" in r.verdicts[0]
    assert r.net.response_growth > 2 and r.plain.response_growth < 0.5
    # the residual sum grows forward, so its gradient grows backward; the plain one fades
    assert r.net.input_grad_ratio > 2 and r.plain.input_grad_ratio < 1


def test_verdict_thresholds():
    assert classify(8000) == ("exploding", "gradients grow 8,000× from the last to the first "
                                           "layer: exploding")
    assert classify(1 / 8000)[0] == "vanishing" and "shrink 8,000×" in classify(1 / 8000)[1]
    assert classify(6.0) == ("healthy", "gradients stay within a 6.0× band from the last to the "
                                        "first layer: healthy")
    assert classify(0.2)[0] == "healthy"
    assert classify(33)[0] == "growing" and classify(1 / 33)[0] == "shrinking"
    assert classify(float("nan"))[0] == "non-finite"
    assert classify(float("inf"))[0] == "non-finite"


def test_compare_plain_of_a_plain_model_is_refused():
    with pytest.raises(ValueError, match="already a plain"):
        analyze_gradients(get_spec("resnet20", plain=True), compare_plain=True)


def test_cli_json_has_both_reports(capsys):
    assert main(["gradients", "resnet20", "--compare-plain", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["net"]["model"] == "resnet20" and data["plain"]["model"] == "plain_resnet20"
    assert data["plain"]["plain"] is True and data["batch_size"] == 128
    assert len(data["ratio_strip"]) == 19 and len(data["net"]["blocks"]) == 9
    assert data["net"]["first_to_last"] > 0 and len(data["verdicts"]) == 3
    json.dumps(data, allow_nan=False)


def test_cli_table_and_errors(capsys):
    assert main(["gradients", "resnet20", "--no-bn", "--batch", "8", "--input", "1,16,16"]) == 0
    out = capsys.readouterr().out
    assert "resnet20 (no BN)" in out and "layer3.2" in out and "first conv ÷ last conv" in out
    assert main(["gradients", "plain20", "--compare-plain"]) == 2
    assert "already a plain" in capsys.readouterr().err
