"""`train --resume` on a damaged or hand-edited checkpoint, and a disk that fills up while a
checkpoint is written: one clear line, never a traceback, and the files on disk untouched."""

import errno
import json
import os
from pathlib import Path

import pytest
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from resnet_studio.cli import main
from resnet_studio.core.training import checkpoint as C
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.core.training.trainer import Trainer
from tests.fifo_guard import call_refusing_fifo
from tests.helpers import SMALL_DATA, TINY


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def run_dir(tmp_path):
    """A finished 4-step run of TINY (SGD with momentum: one buffer per parameter)."""
    cfg = TrainConfig(dataset=SMALL_DATA, steps=4, batch_size=16, log_every=2, eval_every=0,
                      device="cpu")
    Trainer(TINY, cfg, run_dir=tmp_path / "run").fit()
    return tmp_path / "run"


def _tensors(run_dir: Path, prefix: str, edit) -> None:
    path = next(run_dir.glob(f"{prefix}-*.safetensors"))
    tensors = load_file(path)
    edit(tensors)
    save_file(tensors, path)


def _sidecar(run_dir: Path, edit) -> None:
    path = run_dir / "checkpoint.json"
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))


def _resume_error(target: Path, capsys) -> str:
    """The one error line of `train --resume target`; the run folder is left as it was."""
    folder = target if target.is_dir() else target.parent
    before = _snapshot(folder)
    code = main(["train", "--resume", str(target), "--steps", "8", "--quiet", "--no-store"])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert "Traceback" not in err and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("resnet-studio train: error: "), err
    assert _snapshot(folder) == before  # a refused resume writes nothing
    return lines[0].removeprefix("resnet-studio train: error: ")


def _grow(name, shape):
    return lambda t: t.__setitem__(name, torch.zeros(shape))


@pytest.mark.parametrize("tamper, message", [
    (lambda d: _tensors(d, "model", _grow("conv1.weight", (8, 3, 5, 5))),
     "does not match its model (tiny): 43 of 44 tensors fit; 1 with another shape "
     "(conv1.weight: file 8×3×5×5 vs model 8×3×3×3)"),
    (lambda d: _tensors(d, "model", lambda t: [t.pop("fc.weight"), t.pop("fc.bias")]),
     "does not match its model (tiny): 42 of 44 tensors fit; 2 missing (e.g. fc.weight, "
     "fc.bias)"),
    (lambda d: _tensors(d, "model", lambda t: t.__setitem__("fc.bias", t["fc.bias"].half())),
     "does not match its model (tiny): 1 with another dtype (fc.bias: file float16 [10] vs "
     "model float32 [10])"),
    (lambda d: _sidecar(d, lambda doc: doc["spec"].__setitem__("widths", [8, 16, 64])),
     "does not match its model (tiny): 33 of 44 tensors fit; 11 with another shape "
     "(layer3.0.conv1.weight: file 32×16×3×3 vs model 64×16×3×3,"),
])
def test_resume_refuses_weights_that_do_not_fit(run_dir, capsys, tamper, message):
    tamper(run_dir)
    line = _resume_error(run_dir, capsys)
    assert line.startswith(f"checkpoint {run_dir / 'checkpoint.json'} {message}")


@pytest.mark.parametrize("tamper, message", [
    (lambda d: _tensors(d, "optim", _grow("state.0.momentum_buffer", (3,))),
     "does not match its model (tiny): 1 optimizer buffer with another shape "
     "(state.0.momentum_buffer: file float32 [3] vs parameter float32 [8, 3, 3, 3])"),
    (lambda d: _sidecar(d, lambda doc: doc["optimizer"]["param_groups"][0]["params"].pop()),
     "does not match its model (tiny): optimizer group 0 has 22 parameters, the model 23"),
    (lambda d: _sidecar(d, lambda doc: doc["optimizer"]["param_groups"][0].update(
        momentum="0.9")),
     "does not match its model (tiny): optimizer group 0: momentum is the string \"0.9\""),
    (lambda d: _tensors(d, "optim", _grow("state.x", (3,))),
     "is damaged: optimizer tensor 'state.x' is not 'state.<index>.<name>'"),
    (lambda d: _tensors(d, "optim", _grow("rng.torch_cpu", (3,))),
     "does not match its model (tiny): the saved random state is float32 [3], expected uint8 "
     "[5056]"),
])
def test_resume_refuses_a_corrupt_optimizer_state(run_dir, capsys, tamper, message):
    tamper(run_dir)
    assert _resume_error(run_dir, capsys) == f"checkpoint {run_dir / 'checkpoint.json'} {message}"


@pytest.mark.parametrize("edit, message", [
    (lambda doc: doc["spec"].update(preact="false"),
     "field 'spec.preact': expected true or false, got the string \"false\""),
    (lambda doc: doc["config"].update(lr=None, steps="4"),
     "field 'config.steps': expected a whole number, got the string \"4\"; field 'config.lr': "
     "expected a finite number, got null"),
    (lambda doc: doc.update(step=-3),
     "field 'step': expected a whole number >= 0, got -3"),
    (lambda doc: doc.update(weights="../../secret.safetensors"),
     "field 'weights': expected the name of a .safetensors file in the run folder, got the "
     "string \"../../secret.safetensors\""),
    (lambda doc: doc["trainer"]["last_log"].pop("lr"), "field 'trainer.last_log.lr': is missing"),
    (lambda doc: doc.update(notes="hi"), "unknown field 'notes'; the known fields are format,"),
])
def test_resume_refuses_an_edited_sidecar(run_dir, capsys, edit, message):
    _sidecar(run_dir, edit)
    line = _resume_error(run_dir, capsys)
    assert line.startswith(f"checkpoint {run_dir / 'checkpoint.json'} is damaged or was edited: "
                           f"{message}")


def test_resume_refuses_damaged_and_special_files(run_dir, capsys):
    weights = next(run_dir.glob("model-*.safetensors"))
    weights.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}not a header")
    assert _resume_error(run_dir, capsys) == (
        f"checkpoint {run_dir / 'checkpoint.json'} is damaged: {weights.name}: Error while "
        "deserializing header: invalid header length")
    weights.unlink()
    os.mkfifo(weights)  # loading it would block until a writer came
    line = call_refusing_fifo(lambda: _resume_error(run_dir, capsys), weights)
    assert line == (f"checkpoint {run_dir / 'checkpoint.json'} is incomplete: the checkpoint "
                    f"tensor file {weights} is not a regular file (it is a FIFO)")


def test_resume_refuses_a_fifo_sidecar_at_once(tmp_path, capsys):
    fifo = tmp_path / "run" / "checkpoint.json"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    for target in (fifo.parent, fifo):  # the run folder, or the sidecar itself
        line = call_refusing_fifo(lambda t=target: _resume_error(t, capsys), fifo)
        assert line == f"the checkpoint file {fifo} is not a regular file (it is a FIFO)"


def test_resume_refuses_a_deeply_nested_sidecar(run_dir, capsys):
    (run_dir / "checkpoint.json").write_text(
        '{"format": "resnet-studio/checkpoint", "metrics": ' + "[" * 100_000 + "]" * 100_000
        + "}")
    assert _resume_error(run_dir, capsys) == (
        f"cannot read checkpoint {run_dir / 'checkpoint.json'}: nested 100001 levels deep; at "
        "most 32 are allowed")


# -- a full disk while checkpointing -------------------------------------------------------------

@pytest.mark.parametrize("failure", [
    SafetensorError('Error while serializing: I/O error: No space left on device (os error 28) '
                    'at path "/runs/x/.tmpA1b2C3"'),
    OSError(errno.ENOSPC, "No space left on device"),
])
def test_a_full_disk_mid_run_keeps_the_previous_checkpoint(tmp_path, capsys, monkeypatch,
                                                           failure):
    """Checkpoints every 2 steps; the disk is full when step 4's weights are written."""
    real_save = C.save_file
    seen = {}

    def save_file(tensors, filename, metadata=None):
        if metadata["step"] == "4":
            temp = Path(filename)  # the temporary name the weights go to first
            seen["before"] = {k: v for k, v in _snapshot(temp.parent).items() if k != temp.name}
            temp.write_bytes(b"half a file")
            raise failure
        return real_save(tensors, filename, metadata=metadata)

    monkeypatch.setattr(C, "save_file", save_file)
    spec = tmp_path / "tiny.json"
    TINY.save(spec)
    code = main(["train", str(spec), "--dataset", SMALL_DATA, "--steps", "6", "--batch-size",
                 "16", "--checkpoint-every", "2", "--eval-every", "0", "--device", "cpu",
                 "--quiet", "--no-store", "--json"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    result = json.loads(out.splitlines()[-1])
    assert result["status"] == "failed" and result["steps"] == 4
    run = Path(result["checkpoint"]).parent
    assert err.splitlines()[-1] == (
        f"resnet-studio train: could not write the checkpoint in {run} (disk full: No space "
        "left on device); the previous checkpoint at step 2 is intact")
    assert _snapshot(run) == seen["before"]  # byte for byte; no temp file left behind
    assert sorted(seen["before"]) == ["checkpoint.json", "model-00000002.safetensors",
                                      "optim-00000002.safetensors"]
    assert C.load_checkpoint(run).step == 2
