"""Exports to other tools: a run as TensorBoard event files (read back with TensorBoard's own
reader), a model as ONNX (run in onnxruntime) and TorchScript (torch.jit.load)."""

import importlib.util
import json

import numpy as np
import pytest
import torch

from resnet_studio.cli import main
from tests.helpers import TINY, TINY_DATA

needs = lambda package: pytest.mark.skipif(importlib.util.find_spec(package) is None,
                                           reason=f"{package} is not installed")


@pytest.fixture
def recorded_run(tmp_path, capsys):
    spec_file = tmp_path / "tiny.json"
    TINY.save(spec_file)
    assert main(["train", str(spec_file), "--dataset", TINY_DATA, "--steps", "8",
                 "--batch-size", "32", "--log-every", "2", "--eval-every", "4", "--lr", "0.05",
                 "--device", "cpu", "--name", "for tb", "--json", "--quiet"]) == 0
    return json.loads(capsys.readouterr().out)["run_id"]


@needs("tensorboard")
def test_a_run_exported_for_tensorboard_reads_back_equal_to_the_store(recorded_run, tmp_path,
                                                                      capsys):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    from resnet_studio.core.training.store import RunStore

    assert main(["runs", "export", recorded_run[:15], "--tensorboard", str(tmp_path / "tb")]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""  # no CSV on stdout unless asked
    assert f"and the run's hparams to {tmp_path / 'tb' / recorded_run} " in captured.err
    with RunStore() as store:
        metrics = store.metrics(recorded_run)
    reader = EventAccumulator(str(tmp_path / "tb" / recorded_run))
    reader.Reload()
    assert sorted(reader.Tags()["scalars"]) == sorted(metrics)
    assert {"train/loss", "train/error", "lr", "val/loss", "val/error"} <= set(metrics)
    for tag, points in metrics.items():
        read = [(e.step, e.value) for e in reader.Scalars(tag)]
        # TensorBoard keeps scalars as 32-bit floats
        assert read == [(s, float(np.float32(v))) for s, v in points], tag
    assert [e.step for e in reader.Scalars("train/loss")] == [2, 4, 6, 8]
    content = reader.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    hparams = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
    assert hparams["lr"].number_value == pytest.approx(0.05)
    assert hparams["batch_size"].number_value == 32
    assert hparams["model"].string_value == "tiny" and hparams["dataset"].string_value

    # again, and with the CSV beside it: the run's folder holds one event file
    csv_file = tmp_path / "m.csv"
    assert main(["runs", "export", "last", "--tensorboard", str(tmp_path / "tb"),
                 "--csv", str(csv_file)]) == 0
    assert len(list((tmp_path / "tb" / recorded_run).glob("events.out.tfevents.*"))) == 1
    assert csv_file.read_text().startswith("step,")


def test_an_unknown_run_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["runs", "export", "nosuchrun", "--tensorboard", str(tmp_path / "tb")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("resnet-studio runs: error: ") and err.count("\n") == 1
    assert "nosuchrun" in err


@needs("onnxruntime")
@needs("onnxscript")
def test_the_onnx_file_runs_in_onnxruntime_with_torchs_logits(tmp_path, capsys):
    import onnx
    import onnxruntime

    from resnet_studio.app.models import load_model

    out = tmp_path / "tiny.onnx"
    spec_file = tmp_path / "tiny.json"
    TINY.save(spec_file)
    assert main(["export", str(spec_file), "--plain", "--onnx", str(out)]) == 0
    assert capsys.readouterr().err.startswith(f"wrote {out} (plain_tiny, random weights")
    model = onnx.load(str(out))
    assert model.opset_import[0].version == 18
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"]
    assert [o.name for o in session.get_outputs()] == ["logits"]
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))  # batch 3
    net = load_model(TINY, plain=True).model
    with torch.no_grad():
        expected = net(x).numpy()
    got = session.run(None, {"image": x.numpy()})[0]
    assert got.shape == (3, 10)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_the_torchscript_file_loads_with_torch_jit_and_gives_the_same_logits(tmp_path):
    from resnet_studio.app.models import load_model

    out = tmp_path / "link.pt"
    target = tmp_path / "real.pt"
    target.write_bytes(b"old")
    out.symlink_to(target)  # the file the link points to is replaced; the link stays
    assert main(["export", "resnet20", "--torchscript", str(out), "--input", "3,16,16"]) == 0
    assert out.is_symlink()
    loaded = torch.jit.load(str(target))
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(loaded(x), load_model("resnet20").model(x))


@pytest.mark.parametrize("args,message", [
    (["export", "resnet9", "--torchscript", "x.pt"], "unknown model 'resnet9'"),
    (["export", "resnet20"], "name a file to write: --onnx FILE and/or --torchscript FILE"),
    (["export", "resnet20", "--torchscript", "x.pt", "--input", "3,0,8"], "C,H,W"),
    (["export", "resnet20", "--onnx", "-", "--torchscript", "-"], "choose one"),
])
def test_bad_exports_are_one_line_and_exit_2(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("resnet-studio export: error: ") and message in err
    assert err.count("\n") == 1 and not list(tmp_path.iterdir())


def test_a_missing_extra_is_named_with_its_install_line(monkeypatch, tmp_path, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "onnxscript", None)  # not installed
    assert main(["export", "resnet20", "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert capsys.readouterr().err == (
        "resnet-studio export: error: this needs the optional package 'onnxscript': "
        "pip install 'resnet-studio[export]'\n")
