"""Classification with torchvision-style weights in a temp TORCH_HOME, feature maps, mosaics,
residual-block decomposition, and the `classify` / `features` commands. Nothing is downloaded."""

import csv
import dataclasses
import io
import json

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from resnet_studio.app.classify import predictions_to_csv
from resnet_studio.cli import main
from resnet_studio.core.analysis.features import (
    block_decomposition,
    block_names,
    colorize,
    feature_maps,
    layer_names,
    list_layers,
    mosaic,
    mosaic_order,
)
from resnet_studio.core.classify import Preprocess, classify, preprocess_for_dataset
from resnet_studio.core.images import from_pil
from resnet_studio.core.models.builder import build_model
from resnet_studio.core.weights import load_model_source, random_source
from resnet_studio.core.zoo import get_spec


@pytest.fixture(scope="module")
def hub_home(tmp_path_factory):
    """A TORCH_HOME whose hub cache holds 'resnet18-f37072fd.pth' (our own random weights)."""
    home = tmp_path_factory.mktemp("torch-home")
    (home / "hub" / "checkpoints").mkdir(parents=True)
    torch.manual_seed(1)
    torch.save(torchvision.models.resnet18().state_dict(),
               home / "hub" / "checkpoints" / "resnet18-f37072fd.pth")
    return home


@pytest.fixture
def imagenet18(hub_home, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(hub_home))
    return load_model_source("resnet18", "imagenet", download=False)


@pytest.fixture
def one_thread():
    """80 tiny forward passes: with other processes busy on a 2-core machine, torch's two
    intra-op threads spend far longer synchronising than computing (1.5 s vs 20+ s)."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def _images(n, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        h, w = int(rng.integers(60, 140)), int(rng.integers(60, 140))
        arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        out.append(from_pil(Image.fromarray(arr), path=f"img{i:02d}.png"))
    return out


def test_preprocess_matches_the_weights_transforms():
    w = torchvision.models.ResNet50_Weights.DEFAULT
    pre = Preprocess.from_weights(w)
    assert (pre.resize, pre.crop, pre.interpolation) == (232, 224, "bilinear")
    img = _images(1)[0]
    assert torch.allclose(pre(img), w.transforms()(img.image), atol=1e-6)
    cifar = preprocess_for_dataset("CIFAR-10")
    assert cifar.crop == 32 and cifar.mean == (0.4914, 0.4822, 0.4465)
    assert cifar(img).shape == (3, 32, 32)
    mnist = preprocess_for_dataset("mnist")
    assert mnist(img).shape == (1, 28, 28)
    info = preprocess_for_dataset({"name": "synthetic", "mean": [0.5], "std": [0.2],
                                   "image_size": 16, "in_channels": 1})
    assert info(img).shape == (1, 16, 16)


def test_classify_imagenet_names_batching_cancel_and_csv(imagenet18, one_thread):
    full = classify(imagenet18, _images(2), topk=1000)
    assert all(abs(sum(p.probabilities) - 1) < 1e-4 for p in full)
    assert list(full[0].probabilities) == sorted(full[0].probabilities, reverse=True)
    # the rest at 56x56 (the ResNet's adaptive pooling takes any size): 16x less compute
    small = dataclasses.replace(imagenet18, preprocess=dataclasses.replace(
        imagenet18.preprocess, resize=64, crop=56))
    images = _images(40)
    seen = []
    batched = classify(small, images, topk=5, batch_size=16,
                       progress=lambda d, t, m: seen.append((d, t)))
    assert seen == [(16, 40), (32, 40), (40, 40)]
    assert [p.index for p in batched] == list(range(40))
    assert batched[3].name == "img03.png"
    cats = set(imagenet18.categories)
    assert "tench" in cats and all(lb in cats for p in batched for lb in p.labels)
    single = [classify(small, [im], topk=5, batch_size=1)[0] for im in images]
    assert [p.classes[0] for p in single] == [p.classes[0] for p in batched]
    assert np.allclose([p.probabilities for p in single],
                       [p.probabilities for p in batched], atol=1e-5)
    calls = iter(range(100))
    partial = classify(small, images, batch_size=8, should_stop=lambda: next(calls) >= 2)
    assert len(partial) == 16  # two batches ran, the third was never started
    rows = list(csv.DictReader(io.StringIO(predictions_to_csv(batched[:3]))))
    assert len(rows) == 15 and rows[0]["rank"] == "1" and rows[0]["image"] == "img00.png"
    assert not imagenet18.model.training


def test_layer_names_in_forward_order():
    m = build_model(get_spec("resnet20"))
    names = layer_names(m)
    assert names[:4] == ["conv1", "bn1", "relu", "layer1.0.conv1"]
    block = names[names.index("layer1.0.conv1"):names.index("layer1.0") + 1]
    assert block == ["layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu", "layer1.0.conv2",
                     "layer1.0.bn2", "layer1.0.relu:2", "layer1.0"]
    assert names.index("layer2.0.downsample") < names.index("layer2.0") < names.index("layer2")
    assert names[-1] == "layer3" and "avgpool" not in names and "fc" not in names
    refs = {r.name: r for r in list_layers(build_model(get_spec("resnet50")))}
    assert refs["layer1.0.relu:3"].shape == (256, 56, 56) and refs["layer4"].shape == (2048, 7, 7)
    assert block_names(m)[:2] == ["layer1.0", "layer1.1"] and len(block_names(m)) == 9


def test_feature_maps_and_mosaic():
    src = random_source("resnet20")
    x = torch.randn(3, 32, 32)
    fm = feature_maps(src.model, x, "layer2.0.conv1")
    assert fm.maps.shape == (32, 16, 16) and fm.maps.dtype == np.float32
    assert np.allclose(fm.mean, fm.maps.mean(axis=(1, 2)), atol=1e-5)
    assert np.allclose(fm.max, fm.maps.max(axis=(1, 2)))
    relu2 = feature_maps(src.model, x, "layer1.0.relu:2")
    out = feature_maps(src.model, x, "layer1.0")
    assert np.array_equal(relu2.maps, out.maps) and relu2.maps.min() >= 0
    with pytest.raises(KeyError, match="no layer"):
        feature_maps(src.model, x, "layer9.0")

    maps = np.random.default_rng(0).normal(size=(10, 4, 5)).astype(np.float32)
    maps[7] = 3.0  # constant channel with the highest mean
    g = mosaic(maps, cols=4)
    assert g.shape == (3 * 4 + 2, 4 * 5 + 3) and g.dtype == np.uint8
    assert mosaic_order(maps, "mean")[0] == 7
    assert (g[:4, :5] == 0).all()  # the constant channel, tile 0, is flat
    assert g[:4, 6:11].min() == 0 and g[:4, 6:11].max() == 255  # per-channel stretch
    assert mosaic(maps, sort_by=None).shape == (3 * 4 + 2, 4 * 5 + 3)  # cols = ceil(sqrt 10)
    rgb = colorize(g)
    assert rgb.shape == g.shape + (3,) and rgb[0, 0].tolist() == [68, 1, 84]


@pytest.mark.parametrize("name,block,kind", [("resnet20", "layer2.0", "zero_pad"),
                                             ("resnet20", "layer1.1", "identity"),
                                             ("resnet18", "layer3.0", "projection"),
                                             ("preact_resnet20", "layer2.0", "projection"),
                                             ("plain_resnet20", "layer1.1", "none")])
def test_block_decomposition_sums(name, block, kind):
    model = random_source(name).model
    side = 32 if get_spec(name).stem == "cifar" else 64
    torch.manual_seed(0)
    x = torch.randn(3, side, side)
    d = block_decomposition(model, x, block)
    shortcut, residual, total = d
    assert d.shortcut_kind == kind
    assert np.allclose(shortcut + residual, total)
    assert d.max_abs_error < 1e-5
    if d.final_relu:
        assert np.allclose(np.maximum(total, 0), d.output, atol=1e-6)
    else:
        assert np.allclose(total, d.output, atol=1e-6)
    if kind == "zero_pad":  # strided subsample of x, then zero channels
        x_in = feature_maps(model, x, "layer1").maps
        assert np.allclose(shortcut[:16], x_in[:, ::2, ::2]) and not shortcut[16:].any()
    if kind == "none":
        assert not shortcut.any()


def test_cli_features_writes_png(tmp_path, capsys):
    img = tmp_path / "cat.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (50, 70, 3), np.uint8)).save(img)
    out = tmp_path / "grid.png"
    assert main(["features", str(img), "--model", "resnet20", "--weights", "random",
                 "--layer", "layer2.0", "--out", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["channels"] == 32 and info["map_size"] == [16, 16]
    png = Image.open(out)
    assert png.mode == "RGB" and png.size == tuple(info["mosaic_size"])
    assert main(["features", str(img), "--model", "resnet20", "--list"]) == 0
    assert "layer1.0.relu:2" in capsys.readouterr().out


def test_cli_classify(tmp_path, hub_home, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(hub_home))
    for i, im in enumerate(_images(2)):
        im.image.save(tmp_path / f"p{i}.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    rc = main(["classify", str(tmp_path), "--model", "resnet18", "--topk", "3", "--json",
               "--csv", str(tmp_path / "out.csv"), "--offline"])
    assert rc == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["kind"] == "torchvision" and len(doc["predictions"]) == 2
    assert len(doc["predictions"][0]["top"]) == 3
    assert doc["failures"][0]["path"].endswith("broken.jpg")
    assert "broken.jpg" in captured.err
    assert (tmp_path / "out.csv").read_text().count("\n") == 1 + 2 * 3
    assert main(["classify", str(tmp_path / "broken.jpg"), "--model", "resnet18"]) == 2
    assert main(["classify", str(tmp_path / "p0.jpg"), "--model", "resnet34", "--offline"]) == 2
    assert "resnet34-b627a593.pth" in capsys.readouterr().err
