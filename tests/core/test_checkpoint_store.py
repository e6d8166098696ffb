"""Checkpoints (safetensors + JSON sidecar, atomic, disk-full safe) and the SQLite run store
(including a training process killed with SIGKILL)."""

import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors import SafetensorError

from resnet_studio.core.models import build_model
from resnet_studio.core.training import checkpoint as C
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.core.training.store import RunRecorder, RunStore
from resnet_studio.core.training.trainer import Trainer, make_optimizer
from resnet_studio.core.zoo import get_spec
from tests.helpers import TINY


def _trained(optimizer="sgd"):
    cfg = TrainConfig(dataset="synthetic:size=8,train=64,val=16", optimizer=optimizer,
                      lr=0.01)
    model = build_model(TINY)
    opt = make_optimizer(model, cfg)
    for _ in range(2):
        loss = model(torch.randn(4, 3, 8, 8)).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return cfg, model, opt


def _save(run_dir, step, cfg, model, opt):
    return C.save_checkpoint(run_dir, step=step, run_id="r1", spec=TINY, config=cfg,
                             model_state=model.state_dict(), optimizer_state=opt.state_dict(),
                             metrics={"train/loss": [[step, 1.5]]})


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_checkpoint_round_trip(tmp_path, optimizer):
    cfg, model, opt = _trained(optimizer)
    path = _save(tmp_path, 7, cfg, model, opt)
    assert path.name == "checkpoint.json"
    doc = json.loads(path.read_text())
    assert doc["step"] == 7 and doc["spec"]["name"] == "tiny" and doc["config"]["lr"] == 0.01
    ckpt = C.load_checkpoint(tmp_path)
    assert ckpt.step == 7 and ckpt.spec == TINY and ckpt.config == cfg
    assert ckpt.metrics == {"train/loss": [[7, 1.5]]}
    sd = model.state_dict()
    assert list(ckpt.model_state) == list(sd) or set(ckpt.model_state) == set(sd)
    assert all(torch.equal(ckpt.model_state[k], sd[k]) for k in sd)
    opt2 = make_optimizer(build_model(TINY), cfg)
    opt2.load_state_dict(ckpt.optimizer_state)
    a, b = opt.state_dict(), opt2.state_dict()
    for idx, entry in a["state"].items():
        for name, value in entry.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(b["state"][idx][name]))
    assert "rng.torch_cpu" in ckpt.rng
    # the weights file alone is a plain state_dict
    assert set(C.load_weights(ckpt.weights_path)) == set(sd)


def test_imagenet_preset_checkpoint_loads_into_torchvision(tmp_path):
    import torchvision

    spec = get_spec("resnet18")
    model = build_model(spec)
    cfg = TrainConfig(dataset="cifar10")
    path = C.save_checkpoint(tmp_path, step=1, run_id="r", spec=spec, config=cfg,
                             model_state=model.state_dict())
    tv = torchvision.models.resnet18()
    tv.load_state_dict(C.load_weights(path), strict=True)
    assert torch.equal(tv.fc.weight, model.fc.weight)


def test_full_disk_while_checkpointing_keeps_the_previous_one(tmp_path, monkeypatch):
    cfg, model, opt = _trained()
    _save(tmp_path, 10, cfg, model, opt)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)

    real_save = C.save_file
    calls = {"n": 0}

    def save_file_then_disk_full(tensors, filename, metadata=None):
        calls["n"] += 1
        if calls["n"] == 2:  # the weights went through; the optimizer file hits a full disk
            Path(filename).write_bytes(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(tensors, filename, metadata=metadata)

    monkeypatch.setattr(C, "save_file", save_file_then_disk_full)
    with pytest.raises(C.CheckpointError, match="No space left.*step 10 is intact"):
        _save(tmp_path, 20, cfg, model, opt)
    monkeypatch.undo()

    ckpt = C.load_checkpoint(tmp_path)
    assert ckpt.step == 10
    assert all(torch.equal(ckpt.model_state[k], before[k]) for k in before)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["checkpoint.json", "model-00000010.safetensors",
                     "optim-00000010.safetensors"]  # no temp files, no half step-20 files


@pytest.mark.parametrize("failing_call, failure", [
    (1, SafetensorError("Error while serializing: I/O error: No space left on device (os error "
                        "28) at path \"/r/.tmp0\"")),
    (2, OSError(errno.ENOSPC, "No space left on device")),
])
def test_a_full_disk_leaves_the_previous_checkpoint_byte_for_byte(tmp_path, monkeypatch,
                                                                  failing_call, failure):
    cfg, model, opt = _trained()
    _save(tmp_path, 10, cfg, model, opt)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real_save = C.save_file
    calls = []

    def save_file(tensors, filename, metadata=None):
        calls.append(filename)
        if len(calls) == failing_call:
            Path(filename).write_bytes(b"partial")
            raise failure
        return real_save(tensors, filename, metadata=metadata)

    monkeypatch.setattr(C, "save_file", save_file)
    with pytest.raises(C.CheckpointError) as e:
        _save(tmp_path, 20, cfg, model, opt)
    assert isinstance(e.value, OSError) and e.value.errno == errno.ENOSPC
    assert str(e.value) == (f"could not write the checkpoint in {tmp_path} (disk full: No space "
                            "left on device); the previous checkpoint at step 10 is intact")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no temp file either


def test_an_edited_sidecar_names_every_wrong_field(tmp_path):
    cfg, model, opt = _trained()
    path = _save(tmp_path, 10, cfg, model, opt)
    doc = json.loads(path.read_text())
    doc.update(step="10", saved=None, run_id=7, colour="red")
    doc["spec"]["layers"] = [1, True, 1]
    path.write_text(json.dumps(doc))
    with pytest.raises(C.CheckpointError) as e:
        C.read_checkpoint_meta(tmp_path)
    assert str(e.value) == (
        f"checkpoint {path} is damaged or was edited: unknown field 'colour'; the known fields "
        "are format, version, run_id, step, saved, weights, optimizer_file, spec, config, "
        "dataset, optimizer, scheduler, trainer, metrics; field 'run_id': expected a string, got "
        "the number 7; field 'step': expected a whole number, got the string \"10\"; field "
        "'saved': expected a finite number, got null; and 1 more")
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "version": 2}))
    with pytest.raises(C.CheckpointError, match="written by a newer ResNet Studio"):
        C.load_checkpoint(tmp_path)


def test_full_disk_during_training_fails_cleanly(tmp_path, monkeypatch):
    cfg = TrainConfig(dataset="synthetic:size=8,train=128,val=32", steps=30, batch_size=16,
                      checkpoint_every=10, log_every=5, eval_every=0, device="cpu")
    trainer = Trainer(TINY, cfg, run_dir=tmp_path / "run")
    real = C.save_checkpoint

    def save(run_dir, **kw):
        if kw["step"] >= 20:
            raise C.CheckpointError(errno.ENOSPC, "could not write the checkpoint (No space "
                                    "left on device); the checkpoint of step 10 is intact")
        return real(run_dir, **kw)

    monkeypatch.setattr("resnet_studio.core.training.trainer.save_checkpoint", save)
    result = trainer.fit()
    assert result.status == "failed" and "No space left" in result.message
    assert C.load_checkpoint(tmp_path / "run").step == 10 and result.checkpoint


def test_damaged_or_foreign_checkpoints_are_clear_errors(tmp_path):
    with pytest.raises(C.CheckpointError, match="no checkpoint"):
        C.load_checkpoint(tmp_path)
    (tmp_path / "checkpoint.json").write_text('{"format": "something else"}')
    with pytest.raises(C.CheckpointError, match="not a ResNet Studio checkpoint"):
        C.load_checkpoint(tmp_path)


# -- run store -----------------------------------------------------------------------------------


def test_store_crud_and_csv(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rec = store.create_run(run_id="20260101-000000-aaaa", name="first", model="resnet20",
                           spec=TINY.to_dict(), config={"lr": 0.1}, dataset="synthetic",
                           total_steps=20)
    assert rec.status == "running" and rec.pid == os.getpid() and rec.experiment_id is None
    store.add_metrics(rec.id, [(10, "train/loss", 2.0), (10, "train/error", 0.5),
                               (20, "train/loss", 1.0), (20, "val/error", 0.25)], step=20)
    store.create_run(run_id="20260101-000001-bbbb", name="second", model="plain_resnet20",
                     spec={}, config={}, experiment_id="exp1")
    assert [r.name for r in store.list_runs()] == ["first", "second"]
    assert [r.name for r in store.list_runs(experiment_id="exp1")] == ["second"]
    assert store.resolve("20260101-000000") == rec.id and store.resolve("last").endswith("bbbb")
    with pytest.raises(KeyError, match="ambiguous"):
        store.resolve("2026")
    store.rename(rec.id, "renamed")
    assert store.get(rec.id).name == "renamed" and store.get(rec.id).step == 20
    assert store.metrics(rec.id)["train/loss"] == [(10, 2.0), (20, 1.0)]
    assert store.last_metrics(rec.id) == {"train/loss": 1.0, "train/error": 0.5,
                                          "val/error": 0.25}
    csv_path = tmp_path / "out" / "m.csv"
    text = store.export_csv(rec.id, csv_path)
    assert csv_path.read_text() == text
    lines = text.splitlines()
    assert lines[0] == "step,train/error,train/loss,val/error"
    assert lines[1:] == ["10,0.5,2.0,", "20,,1.0,0.25"]
    assert store.has_metrics(rec.id) and store.has_metrics(rec.id, "val/")
    assert not store.has_metrics(rec.id, "grad/") and not store.has_metrics(rec.id, "train/z")
    assert not store.has_metrics("20260101-000001-bbbb")
    store.claim(rec.id, step=10)  # a resumed run drops what came after its checkpoint
    assert store.metrics(rec.id) == {"train/error": [(10, 0.5)], "train/loss": [(10, 2.0)]}
    store.set_status(rec.id, "finished")
    store.delete(rec.id)
    assert [r.name for r in store.list_runs()] == ["second"]
    store.close()


def test_runs_of_dead_processes_are_marked_interrupted(tmp_path):
    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    store.create_run(run_id="mine", name="alive", model="m", spec={}, config={})
    store.create_run(run_id="gone", name="dead", model="m", spec={}, config={})
    store.set_status("mine", "paused")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store.db.execute("UPDATE runs SET pid=? WHERE id='gone'", (dead.pid,))
    store.close()
    again = RunStore(path)
    assert again.get("gone").status == "interrupted"
    assert again.get("mine").status == "paused"  # this process is alive
    again.close()


def test_recorder_writes_the_run_and_resume_continues_it(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    cfg = TrainConfig(dataset="synthetic:size=8,train=128,val=32", steps=20, batch_size=16,
                      log_every=5, eval_every=10, device="cpu")

    class StopAt(RunRecorder):
        def on_train_batch_end(self, trainer, step):
            if step == 12:
                trainer.stop()

    first = Trainer(TINY, cfg, callbacks=[StopAt(store, name="demo", flush_every_s=0)])
    r1 = first.fit()
    rec = store.get(r1.run_id)
    assert (rec.status, rec.step, rec.name, rec.checkpoint) == ("stopped", 12, "demo",
                                                                r1.checkpoint)
    r2 = Trainer.from_checkpoint(r1.checkpoint, store=store).fit()
    rec = store.get(r1.run_id)
    assert r2.run_id == r1.run_id and rec.status == "finished" and rec.step == 20
    m = store.metrics(r1.run_id)
    assert [s for s, _ in m["train/loss"]] == [5, 10, 15, 20]
    assert [s for s, _ in m["val/error"]] == [10, 20]
    store.close()


_KILL_SCRIPT = textwrap.dedent("""
    from resnet_studio.core.spec import ArchSpec
    from resnet_studio.core.training.config import TrainConfig
    from resnet_studio.core.training.store import RunRecorder, RunStore
    from resnet_studio.core.training.trainer import Trainer

    spec = ArchSpec(name="tiny", layers=(1, 1, 1), widths=(8, 16, 32), stem="cifar",
                    shortcut="A", num_classes=10)
    cfg = TrainConfig(dataset="synthetic:size=8,train=256,val=32", steps=1_000_000,
                      batch_size=16, log_every=2, eval_every=0, device="cpu")
    store = RunStore()
    Trainer(spec, cfg, callbacks=[RunRecorder(store, name="doomed", flush_every_s=0.05)]).fit()
""")


def test_sigkill_leaves_a_readable_store_with_the_run_interrupted(tmp_path):
    home = Path(os.environ["RESNET_STUDIO_HOME"])
    proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT],
                            env={**os.environ, "OMP_NUM_THREADS": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = home / "runs.sqlite"
    try:
        deadline = time.monotonic() + 120
        flushed = 0
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"trainer exited early: {proc.stderr.read().decode()[-2000:]}")
            if db.exists():
                try:
                    with sqlite3.connect(db, timeout=5) as con:
                        flushed = con.execute("SELECT COUNT(*) FROM metrics WHERE "
                                              "name='train/loss'").fetchone()[0]
                except sqlite3.OperationalError:
                    flushed = 0
            if flushed >= 3:
                break
            time.sleep(0.05)
        assert flushed >= 3, "no metrics were flushed in time"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    store = RunStore()
    (run,) = store.list_runs()
    assert run.name == "doomed" and run.status == "interrupted"
    losses = store.metrics(run.id)["train/loss"]
    assert len(losses) >= 3 and all(s % 2 == 0 for s, _ in losses)
    assert [s for s, _ in losses] == sorted(s for s, _ in losses)
    assert "killed" in run.message
    store.close()
