"""Model sources: torchvision-style cache, this app's checkpoints, foreign state_dicts, random.

Nothing is downloaded: TORCH_HOME points at a temp folder holding files saved from our models."""

import json
import urllib.error

import pytest
import torch
import torchvision
from safetensors.torch import save_file

from resnet_studio.core import weights as W
from resnet_studio.core.common.progress import Cancelled
from resnet_studio.core.models.builder import build_model
from resnet_studio.core.training.checkpoint import load_weights, save_checkpoint
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.core.weights import torchvision as hub
from resnet_studio.core.zoo import get_spec


@pytest.fixture(scope="module")
def tv18_state():
    torch.manual_seed(0)
    return torchvision.models.resnet18().state_dict()


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return tmp_path / "torch-home"


def test_imagenet_weights_from_hub_cache(torch_home, tv18_state):
    path = W.imagenet_weights_file("resnet18")
    assert path == torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    path.parent.mkdir(parents=True)
    torch.save(tv18_state, path)
    src = W.load_imagenet("resnet18", download=False)
    assert src.kind == "torchvision" and src.path == path
    assert src.weights_name == "ResNet18_Weights.IMAGENET1K_V1"
    assert src.categories[0] == "tench" and len(src.categories) == 1000
    assert (src.preprocess.resize, src.preprocess.crop) == (256, 224)
    assert torch.equal(src.model.state_dict()["layer4.1.bn2.running_var"],
                       tv18_state["layer4.1.bn2.running_var"])
    assert not src.model.training
    # the same through the one entry point, with no weights named
    assert W.load_model_source("ResNet-18").kind == "torchvision"


def test_missing_weights_name_the_file_and_folder(torch_home, monkeypatch):
    with pytest.raises(W.WeightsUnavailable) as e:
        W.load_imagenet("resnet34", download=False)
    folder = torch_home / "hub" / "checkpoints"
    assert e.value.file == "resnet34-b627a593.pth" and e.value.folder == folder
    assert "resnet34-b627a593.pth" in str(e.value) and str(folder) in str(e.value)

    def offline(url, timeout=30.0):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(hub, "_open_url", offline)
    with pytest.raises(W.WeightsUnavailable, match="offline.*resnet34-b627a593.pth"):
        W.load_imagenet("resnet34")
    assert not any(folder.iterdir())  # no half-written file left behind


def test_download_checks_the_hash_and_reports_progress(tmp_path, monkeypatch):
    import io

    class Response(io.BytesIO):
        headers = {"Content-Length": "3000000"}

    monkeypatch.setattr(hub, "_open_url", lambda url, timeout=30.0: Response(b"x" * 3_000_000))
    seen = []
    dest = tmp_path / "resnet18-f37072fd.pth"
    with pytest.raises(W.WeightsError, match="damaged"):
        W.download_file("https://example.invalid/x", dest,
                        progress=lambda d, t, m: seen.append((d, t)))
    assert not dest.exists() and list(tmp_path.iterdir()) == []
    assert seen[-1] == (3_000_000, 3_000_000) and len(seen) == 3
    ok = tmp_path / "plain.bin"  # no hash in the name: kept
    W.download_file("https://example.invalid/x", ok)
    assert ok.stat().st_size == 3_000_000
    # a stop asked for (Cancel in the window) is not an error, and leaves nothing behind
    stops = iter([False, False, True])
    with pytest.raises(Cancelled, match="download of stopped.bin cancelled"):
        W.download_file("https://example.invalid/x", tmp_path / "stopped.bin",
                        should_stop=lambda: next(stops))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.bin"]


def test_no_imagenet_weights_for_cifar_nets():
    with pytest.raises(W.WeightsError, match="no pretrained ImageNet weights for resnet20"):
        W.load_model_source("resnet20", "imagenet")
    with pytest.raises(W.WeightsError, match="resnet20 has no pretrained weights"):
        W.load_model_source("resnet20")


def test_torchvision_state_dict_gives_identical_logits(tmp_path, tv18_state):
    tv = torchvision.models.resnet18()
    tv.load_state_dict(tv18_state)
    tv.eval()
    path = tmp_path / "tv18.pth"
    torch.save(tv18_state, path)
    src = W.load_model_source("resnet18", path)
    assert src.kind == "state_dict" and src.report.ok and src.report.loaded == 122
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(src.model(x), tv(x))


def test_wrappers_and_prefixes_are_unwrapped(tmp_path, tv18_state):
    path = tmp_path / "wrapped.pt"
    torch.save({"epoch": 3, "model": {f"module.{k}": v for k, v in tv18_state.items()},
                "classes": [f"c{i}" for i in range(1000)]}, path)
    src = W.load_state_dict_file(path, "resnet18")
    assert src.report.ok and src.meta["unwrapped"] == ["model", "module."]
    assert src.categories[:2] == ("c0", "c1")
    found = W.unwrap_state_dict({"state_dict": {"_orig_mod.fc.bias": torch.zeros(2)}})
    assert list(found.tensors) == ["fc.bias"]


def test_app_checkpoint_loads_into_plain_torchvision(tmp_path):
    spec = get_spec("resnet18")
    ours = build_model(spec)
    sidecar = save_checkpoint(tmp_path / "run", step=7, run_id="run-1", spec=spec,
                              config=TrainConfig(), model_state=ours.state_dict(),
                              dataset={"name": "imagenet", "classes": [f"k{i}" for i in
                                                                       range(1000)],
                                       "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25],
                                       "image_size": 64, "in_channels": 3})
    tv = torchvision.models.resnet18()
    tv.load_state_dict(load_weights(sidecar), strict=True)
    src = W.load_model_source(None, tmp_path / "run")
    assert src.kind == "checkpoint" and src.spec == spec
    assert src.label == "checkpoint run-1, step 7 (imagenet)"
    assert src.categories[1] == "k1"
    assert (src.preprocess.crop, src.preprocess.mean) == (64, (0.5, 0.5, 0.5))
    tv.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(src.model(x), tv(x))
    with pytest.raises(W.WeightsMismatch, match="trained as resnet18.*not resnet34"):
        W.load_model_source("resnet34", sidecar)


def test_simple_safetensors_with_sibling_json(tmp_path):
    spec = get_spec("resnet20")
    model = build_model(spec)
    save_file(model.state_dict(), tmp_path / "net.safetensors")
    (tmp_path / "net.json").write_text(json.dumps({"spec": spec.to_dict()}))
    assert W.is_app_checkpoint(tmp_path / "net.safetensors")
    src = W.load_model_source(None, tmp_path / "net.safetensors")
    assert src.spec == spec and src.categories[0] == "airplane"
    assert src.preprocess.crop == 32


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned.txt"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"fc.bias": torch.zeros(1000)}, "extra": Payload()}, path)
    with pytest.raises(W.WeightsError) as e:
        W.load_model_source("resnet18", path)
    assert not marker.exists()
    msg = str(e.value)
    assert "refused" in msg and "run code" in msg and "open" in msg
    # a whole pickled model is refused the same way
    torch.save(torchvision.models.resnet18(), tmp_path / "whole.pt")
    with pytest.raises(W.WeightsError, match="refused"):
        W.read_state_dict(tmp_path / "whole.pt")


def test_other_architecture_is_named(tmp_path):
    torch.save(build_model(get_spec("resnet56")).state_dict(), tmp_path / "r56.pth")
    with pytest.raises(W.WeightsMismatch) as e:
        W.load_model_source("resnet20", tmp_path / "r56.pth")
    msg = str(e.value)
    assert "resnet56 (basic blocks 9-9-9" in msg and "the model is resnet20 (basic blocks 3-3-3" \
        in msg and "--model resnet56" in msg
    assert e.value.report.unexpected and not e.value.report.mismatched
    with pytest.raises(W.WeightsError, match="it looks like resnet56"):
        W.load_model_source(None, tmp_path / "r56.pth")
    assert W.infer_spec(torchvision.models.resnet50().state_dict()).name == "resnet50"
    assert W.infer_spec(torchvision.models.resnext50_32x4d().state_dict()).name == \
        "resnext50_32x4d"


def test_shape_mismatch_refused_unless_partial(tmp_path):
    state = build_model(get_spec("resnet20")).state_dict()
    state["layer1.0.conv1.weight"] = torch.zeros(16, 16, 5, 5)
    del state["fc.bias"]
    torch.save(state, tmp_path / "odd.pth")
    with pytest.raises(W.WeightsMismatch) as e:
        W.load_model_source("resnet20", tmp_path / "odd.pth")
    r = e.value.report
    assert r.missing == ("fc.bias",)
    assert r.mismatched == (("layer1.0.conv1.weight", (16, 16, 5, 5), (16, 16, 3, 3)),)
    assert "1 missing" in str(e.value) and "file 16×16×5×5 vs model 16×16×3×3" in str(e.value)
    src = W.load_model_source("resnet20", tmp_path / "odd.pth", allow_partial=True)
    assert "partial" in src.label and src.report.loaded == src.report.total - 2
    assert torch.equal(src.model.state_dict()["layer3.2.conv2.weight"],
                       state["layer3.2.conv2.weight"])


def test_fine_tuned_head_adapts_the_model(tmp_path):
    tv = torchvision.models.resnet18(num_classes=7)
    torch.save(tv.state_dict(), tmp_path / "ft.pth")
    src = W.load_model_source("resnet18", tmp_path / "ft.pth")
    assert src.spec.num_classes == 7 and "7 classes" in src.label
    assert src.categories == tuple(f"class {i}" for i in range(7))


def test_random_weights_are_labelled_and_reproducible():
    a = W.load_model_source("resnet20", "random")
    b = W.random_source("resnet20")
    assert a.label == "random weights (untrained)" and a.kind == "random" and not a.pretrained
    assert torch.equal(a.model.conv1.weight, b.model.conv1.weight)
    assert a.categories[3] == "cat" and a.preprocess.crop == 32
