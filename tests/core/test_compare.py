"""Two models side by side: the differences and deltas the comparison reports, against the
papers' architectures and against torch's own parameter counts."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import pytest

from resnet_studio.app.compare import compare_models, resolve_pair
from resnet_studio.core.compare import activation_bytes, compare_summaries
from resnet_studio.core.inspect import summarize
from resnet_studio.core.summary import InputTooSmall
from resnet_studio.core.training_memory import training_memory
from resnet_studio.core.zoo import get_spec


@cache
def comparison(a: str, b: str):
    return compare_models(*resolve_pair(a, b))


def torch_params(builder_name: str, only: str = "") -> int:
    """Parameters of torchvision's model (on the meta device: no memory, no init), all of them
    or those whose name contains `only`."""
    import torch
    import torchvision

    with torch.device("meta"):
        model = getattr(torchvision.models, builder_name)()
    return sum(p.numel() for n, p in model.named_parameters() if only in n)


def test_resnet34_vs_plain34_differs_in_16_shortcuts_3_of_them_projections():
    cmp = comparison("resnet34", "plain-34")
    assert cmp.names == ("resnet34", "plain_resnet34")
    diffs = cmp.differing()
    assert len(diffs) == 16 and all(d.kinds == {"shortcut"} for d in diffs)
    assert all(d.shortcut_change == "removed" for d in diffs)
    projections = [f"{d.stage}.{d.index}" for d in diffs if d.involves("projection")]
    assert projections == ["layer2.0", "layer3.0", "layer4.0"]
    assert cmp.counts() == {"shortcut": 16, "type": 0, "width": 0, "groups": 0, "only_a": 0,
                            "only_b": 0, "projections": 3}
    assert diffs[3].changes == ("shortcut removed (projection)",)
    assert diffs[0].changes == ("shortcut removed (identity)",)


def test_resnet34_vs_plain34_params_differ_by_exactly_the_projection_weights():
    cmp = comparison("resnet34", "plain-34")
    # torchvision's ResNet-34: its `downsample` modules are the three projections (1x1 conv + BN)
    projections = torch_params("resnet34", only="downsample")
    assert projections == (64 * 128 + 2 * 128) + (128 * 256 + 2 * 256) + (256 * 512 + 2 * 512)
    params_a, params_b = cmp.total("params")
    assert params_a == torch_params("resnet34") == 21_797_672
    assert params_a - params_b == projections == 173_824
    # stage by stage: each projection where it sits, nothing elsewhere
    deltas = {p.name: p.delta("params") for p in cmp.parts}
    assert deltas == {"stem": 0, "layer1": 0, "layer2": -8_448, "layer3": -33_280,
                      "layer4": -132_096, "head": 0}


def test_resnet50_vs_resnext50_same_shortcuts_every_3x3_wider_and_grouped():
    cmp = comparison("resnet50", "resnext50_32x4d")
    assert len(cmp.blocks) == 16 and not cmp.counts()["shortcut"]
    assert all(d.a.shortcut == d.b.shortcut for d in cmp.blocks)
    for d in cmp.blocks:  # conv2 is the bottleneck's 3x3: twice as wide, 32 groups
        ca, cb = d.a.convs[1], d.b.convs[1]
        assert (ca.kernel, cb.kernel) == (3, 3)
        assert cb.out_channels == 2 * ca.out_channels and (ca.groups, cb.groups) == (1, 32)
        assert {"width", "groups"} <= d.kinds
    assert cmp.differing()[0].changes == ("conv1 (1x1): width 64 → 128",
                                          "conv2 (3x3): width 64 → 128, groups 1 → 32")
    params_a, params_b = cmp.total("params")
    assert (params_a, params_b) == (torch_params("resnet50"), torch_params("resnext50_32x4d"))


def test_stages_align_by_position_and_extra_blocks_are_only_in_one_model():
    cmp = comparison("resnet18", "resnet20")  # ImageNet 4 x 2 blocks, CIFAR 3 x 3 blocks
    assert [p.name for p in cmp.parts] == ["stem", "layer1", "layer2", "layer3", "layer4", "head"]
    layer4 = cmp.parts[4]
    assert layer4.a.blocks == 2 and layer4.b is None and layer4.delta("params") == -layer4.a.params
    assert cmp.counts()["only_a"] == 2 and cmp.counts()["only_b"] == 3
    change = next(d for d in cmp.blocks if d.stage == "layer2" and d.index == 0)
    assert change.shortcut_change == "changed"
    assert change.changes[0] == "shortcut projection → zero-pad (A)"
    # each model at its own input
    assert (cmp.a.input_shape, cmp.b.input_shape) == ((3, 224, 224), (3, 32, 32))


def test_block_types_differ_between_basic_and_bottleneck():
    cmp = comparison("resnet34", "resnet50")
    assert cmp.counts()["type"] == 16 and cmp.counts()["shortcut"] == 1  # layer1.0: + projection
    assert cmp.blocks[0].changes == ("shortcut identity → projection", "BasicBlock → Bottleneck")


def test_a_model_compared_with_itself_has_no_difference():
    spec = get_spec("resnet20")
    cmp = compare_models(spec, spec)
    assert not cmp.differing() and all(p.delta("params") == 0 for p in cmp.parts)


def test_memory_column_is_the_activations_a_training_step_saves():
    summary = summarize(get_spec("resnet50"))
    parts = activation_bytes(summary, batch_size=16)
    assert list(parts) == ["stem", "layer1", "layer2", "layer3", "layer4", "head"]
    estimate = training_memory(summary.spec, batch_size=16)
    assert sum(parts.values()) == sum(r.activations for r in estimate.layers)
    # what no layer saves: the loss's log-softmax of the 16x1000 logits (and the labels)
    assert 0 < estimate.activations - sum(parts.values()) <= 16 * 1000 * 4 + 1024
    # the stem saves the 16 input images and the conv's 16x64x112x112 output, at least
    assert parts["stem"] > 16 * 4 * (3 * 224 * 224 + 64 * 112 * 112)
    assert parts["layer2"] > 15 * activation_bytes(summary, 1)["layer2"]


def test_models_that_cannot_take_the_same_input_get_one_message_naming_both():
    gray = replace(get_spec("resnet20"), in_channels=1, name="gray20")
    with pytest.raises(InputTooSmall, match="cannot compare resnet18 with gray20: resnet18 takes "
                                            "3-channel images, gray20 1-channel"):
        compare_models(get_spec("resnet18"), gray)
    with pytest.raises(InputTooSmall, match="cannot compare resnet20 with resnet18 at 3×16×16: "
                                            "resnet18's input 16x16 is too small"):
        compare_models(get_spec("resnet20"), get_spec("resnet18"), "3,16,16")
    # one typed input adapts both models' channels, as `summary --input` does
    cmp = compare_models(get_spec("resnet18"), gray, "1,64,64")
    assert cmp.a.input_shape == cmp.b.input_shape == (1, 64, 64)


def test_the_plain_twin_is_the_default_second_model():
    a, b = resolve_pair("resnet56")
    assert (a.name, b.name, b.shortcut) == ("resnet56", "plain_resnet56", "none")
    assert resolve_pair("resnet56", "plain")[1] == b
    with pytest.raises(ValueError, match="plain_resnet56 has no shortcuts"):
        resolve_pair("plain-56")
    with pytest.raises(KeyError, match="unknown model 'resnet9'"):
        resolve_pair("resnet56", "resnet9")


def test_comparison_summaries_are_the_inspectors():
    cmp = compare_summaries(summarize(get_spec("resnet20")), summarize(get_spec("resnet32")))
    assert cmp.total("params") == (269_722, 464_154)
    assert [p.differing_blocks for p in cmp.parts] == [0, 2, 2, 2, 0]
