"""The inspector's shapes, parameters and multiply-adds, checked against real forward passes.

The inspector computes the table from the spec's geometry without building the model; these
tests hold it to the model code: hooks on a real forward pass (names, call order, shapes), the
built model's parameters, and torch's flop counter, for every preset and for random specs."""

import json
import random
import subprocess
import sys

import pytest
import torch
from torch import nn

from resnet_studio.app.summary import layers_csv
from resnet_studio.core.inspect import summarize
from resnet_studio.core.models import build_model
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.summary import InputTooSmall
from resnet_studio.core.zoo import PRESETS, get_spec

# torchvision's published GFLOPS are multiply-adds (its model docs, IMAGENET1K_V1 weights).
TORCHVISION_GMACS = {"resnet18": 1.81, "resnet34": 3.66, "resnet50": 4.09, "resnet101": 7.80,
                     "resnet152": 11.51, "resnext50_32x4d": 4.23, "wide_resnet50_2": 11.40}


@pytest.mark.parametrize("name,gmacs", TORCHVISION_GMACS.items())
def test_macs_within_one_percent_of_torchvision(name, gmacs):
    summary = summarize(get_spec(name))
    assert abs(summary.total_macs / 1e9 - gmacs) / gmacs < 0.01


def test_resnet20_is_41_million_flops_as_in_the_paper():
    # He et al. 2015 §4.2 quotes ~41M "FLOPs" (multiply-adds) for the CIFAR ResNet-20.
    assert round(summarize(get_spec("resnet20")).total_macs / 1e6) == 41


def _real_forward(spec, input_shape):
    """(name, call, type, output shape, MACs) of every leaf module call of a real forward pass,
    in call order; MACs from torch's flop counter (2 FLOPs per multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    # Real CPU tensors and real arithmetic. Only shapes matter here, so the weights are zeros:
    # Kaiming init of 126M weights is slow, and garbage memory can hold denormals (slower still).
    model = build_model(spec, "meta").to_empty(device="cpu").eval()
    with torch.no_grad():
        for tensor in model.state_dict().values():
            tensor.zero_()
    rows: list[tuple] = []
    calls: dict[str, int] = {}
    counters: dict[str, FlopCounterMode] = {}

    def start(name):
        def enter(mod, inp):
            counters[name] = FlopCounterMode(display=False)
            counters[name].__enter__()
        return enter

    def record(name):
        def leave(mod, inp, out):
            counter = counters.pop(name)
            counter.__exit__(None, None, None)
            calls[name] = calls.get(name, 0) + 1
            rows.append((name, calls[name], type(mod).__name__, tuple(out.shape[1:]),
                         counter.get_total_flops() // 2))
        return leave

    for name, m in model.named_modules():
        if name and not list(m.children()):
            m.register_forward_pre_hook(start(name))
            m.register_forward_hook(record(name))
    with torch.no_grad():
        out = model(torch.randn(1, *input_shape))
    return rows, tuple(out.shape[1:])


def _real_shapes(spec, input_shape):
    rows, out = _real_forward(spec, input_shape)
    return {(name, call): shape for name, call, _, shape, _ in rows}, out


def _assert_like_the_model(spec, input_shape):
    summary = summarize(spec, input_shape)
    rows, out = _real_forward(spec, input_shape)
    assert [(r.name, r.call, r.type, r.output_shape, r.macs) for r in summary.layers] == rows
    assert summary.output_shape == out
    assert summary.total_params == sum(p.numel() for p in build_model(spec, "meta").parameters())


def _input_for(spec):
    # Every ImageNet preset at 64x64 keeps the test quick; the inspector runs at the same size.
    return (3, 64, 64) if spec.stem == "imagenet" else spec.default_input


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_layer_shape_equals_a_real_forward_pass(name):
    spec = PRESETS[name].spec
    shape = _input_for(spec)
    summary = summarize(spec, shape)
    real, out = _real_shapes(spec, shape)
    assert {(r.name, r.call): r.output_shape for r in summary.layers} == real
    assert summary.output_shape == out == (spec.num_classes,)
    assert summary.total_params == sum(p.numel() for p in build_model(spec, "meta").parameters())


@pytest.mark.parametrize("name", ["resnet20", "plain_resnet20", "preact_resnet20", "resnet18",
                                  "preact_resnet18", "resnext50_32x4d", "plain_resnet50"])
def test_rows_follow_the_forward_pass_call_by_call_with_torchs_macs(name):
    _assert_like_the_model(PRESETS[name].spec, _input_for(PRESETS[name].spec))


def _random_spec(rng: random.Random) -> ArchSpec:
    block = rng.choice(["basic", "bottleneck"])
    stages = rng.randint(1, 4)
    bottleneck = block == "bottleneck"
    shortcut = rng.choice(["A", "B", "C", "none"])
    widths = sorted(rng.choice([4, 6, 8, 12]) for _ in range(stages))  # A only widens
    return ArchSpec(name="random", block=block, layers=tuple(rng.randint(1, 3) for _ in range(stages)),
                    widths=tuple(widths), groups=rng.choice([1, 2]) if bottleneck else 1,
                    width_per_group=rng.choice([16, 64]) if bottleneck else 64,
                    stem=rng.choice(["imagenet", "cifar"]), shortcut=shortcut,
                    preact=rng.random() < 0.5, norm=rng.choice(["batch", "none"]),
                    in_channels=rng.choice([1, 3]), num_classes=rng.randint(2, 12))


def test_random_specs_match_the_model_row_by_row():
    rng = random.Random(2015)
    for _ in range(40):
        spec = _random_spec(rng)
        side = spec.min_input_side * rng.choice([1, 2, 3]) + rng.choice([0, 1, 5])
        _assert_like_the_model(spec, (spec.in_channels, side, side + rng.choice([0, 3])))


def test_the_inspector_needs_no_torch():
    # The window shows a model's graph and table before PyTorch has loaded.
    code = ("import sys; from resnet_studio.core.inspect import summarize; "
            "from resnet_studio.core.zoo import get_spec; "
            "assert summarize(get_spec('resnet1202')).total_params == 19_421_274; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_resnet50_at_224_matches_real_forward_and_torchvision_counts():
    spec = get_spec("resnet50")
    summary = summarize(spec)
    real, _ = _real_shapes(spec, (3, 224, 224))
    assert {(r.name, r.call): r.output_shape for r in summary.layers} == real
    assert summary.graph.node("layer4.2").out_shape == (2048, 7, 7)


def test_conv_macs_follow_the_textbook_formula():
    summary = summarize(get_spec("resnet20"))
    row = next(r for r in summary.layers if r.name == "layer2.0.conv1")
    # 3x3 conv, 16 -> 32 channels, stride 2 on 32x32: 16x16 outputs of 32 channels.
    assert row.output_shape == (32, 16, 16)
    assert row.macs == 32 * 16 * 16 * 16 * 3 * 3
    assert row.params == 32 * 16 * 3 * 3


def test_block_graph_types_every_shortcut():
    kinds = {n.id: n.shortcut for n in summarize(get_spec("resnet20")).graph.nodes
             if n.kind == "block"}
    assert len(kinds) == 9
    assert kinds["layer2.0"] == kinds["layer3.0"] == "zero_pad"
    assert sorted(kinds.values()).count("identity") == 7

    resnet18 = summarize(get_spec("resnet18")).graph
    projections = [n.id for n in resnet18.nodes if n.shortcut == "projection"]
    assert projections == ["layer2.0", "layer3.0", "layer4.0"]

    plain = summarize(get_spec("resnet56", plain=True)).graph
    assert {n.shortcut for n in plain.nodes if n.kind == "block"} == {"none"}

    option_c = summarize(get_spec("resnet20").with_shortcut("C")).graph
    assert {n.shortcut for n in option_c.nodes if n.kind == "block"} == {"projection"}


def test_graph_edges_carry_shapes_and_stages_sum_up():
    summary = summarize(get_spec("resnet56"))
    graph = summary.graph
    shortcut_edges = [e for e in graph.edges if e.kind == "shortcut"]
    assert len(shortcut_edges) == 27
    assert [s.name for s in graph.stages] == ["layer1", "layer2", "layer3"]
    assert [len(s.blocks) for s in graph.stages] == [9, 9, 9]
    assert [s.out_shape for s in graph.stages] == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]
    node_params = sum(n.params for n in graph.nodes)
    assert node_params == summary.total_params == 853_018
    assert graph.node_of_layer("layer3.8.conv2") == "layer3.8"
    assert graph.node_of_layer("fc") == "head"


def test_preact_graph_ends_with_final_bn_in_head():
    summary = summarize(get_spec("preact_resnet164"))
    assert "final_bn" in summary.graph.node("head").layers
    assert summary.graph.node("layer1.0").label == "PreActBottleneck"


def test_inspector_allocates_no_weights():
    # 126M parameters would be ~500 MB of float32; the inspector allocates none.
    import tracemalloc

    tracemalloc.start()
    summarize(get_spec("wide_resnet101_2"), (3, 64, 64))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 100e6


def test_too_small_input_is_a_clear_error():
    with pytest.raises(InputTooSmall, match="at least 32x32"):
        summarize(get_spec("resnet18"), (3, 16, 16))
    with pytest.raises(InputTooSmall, match="expects 3"):
        summarize(get_spec("resnet18"), (1, 224, 224))


def test_json_and_csv_exports_hold_the_totals():
    summary = summarize(get_spec("resnet20"))
    data = json.loads(json.dumps(summary.to_dict()))
    assert data["total_params"] == 269_722
    assert data["layers"][0] == {"name": "conv1", "type": "Conv2d", "output_shape": [16, 32, 32],
                                 "params": 432, "macs": 442_368, "detail": "3x3, 3→16, stride 1",
                                 "call": 1, "block": None, "stage": None, "rf": 3, "jump": 1,
                                 "rf_start": 0.0}
    assert {e["shortcut"] for e in data["graph"]["edges"] if e["kind"] == "shortcut"} == {
        "identity", "zero_pad"}
    csv_text = layers_csv(summary)
    assert csv_text.splitlines()[-1].startswith("TOTAL,,10,269722,40551040")


def test_one_channel_model_for_mnist_like_data():
    spec = get_spec("resnet20")
    from dataclasses import replace

    summary = summarize(replace(spec, in_channels=1), (1, 28, 28))
    assert summary.layers[0].params == 16 * 1 * 3 * 3
    assert summary.output_shape == (10,)
    assert isinstance(build_model(replace(spec, in_channels=1)).conv1, nn.Conv2d)
