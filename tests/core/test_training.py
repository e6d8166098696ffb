"""Trainer, config and schedules: real training on tiny synthetic sets, on the CPU."""

import json
import math
import os
import threading
import time

import pytest
import torch

from resnet_studio.core.training.callbacks import Callback, TrainLog
from resnet_studio.core.training.checkpoint import load_checkpoint
from resnet_studio.core.training.config import PRESETS, ConfigError, TrainConfig
from resnet_studio.core.training.schedules import lr_at
from resnet_studio.core.training.trainer import Trainer
from resnet_studio.core.zoo import get_spec, with_io
from tests.helpers import TINY
from tests.training_fixtures import StopAt, tiny_config


class Recorder(Callback):
    def __init__(self):
        self.events = []
        self.logs: list[TrainLog] = []

    def on_train_start(self, trainer):
        self.events.append("start")

    def on_log(self, trainer, log):
        self.logs.append(log)
        self.events.append("log")

    def on_validation_end(self, trainer, result):
        self.events.append("val")

    def on_checkpoint(self, trainer, info):
        self.events.append(f"ckpt:{info.reason}")

    def on_status(self, trainer, status, message):
        self.events.append(f"status:{status}")

    def on_exception(self, trainer, exc, message):
        self.events.append("exception")

    def on_train_end(self, trainer, result):
        self.events.append("end")


# -- config and schedules ------------------------------------------------------------------------


def test_config_json_round_trip_and_validation():
    cfg = tiny_config(milestones=(0.3, 0.6), optimizer="adamw", amp=True)
    again = TrainConfig.from_json(cfg.to_json())
    assert again == cfg
    assert json.loads(cfg.to_json())["format"] == "resnet-studio/train-config"
    with pytest.raises(ConfigError) as e:
        TrainConfig(schedule="triangle").validate()
    assert e.value.field == "schedule"
    with pytest.raises(ConfigError, match="fractions"):
        TrainConfig(milestones=(32000, 48000)).validate()
    with pytest.raises(ConfigError, match="unknown field"):
        TrainConfig.from_dict({"learning_rate": 0.1})


def test_spec_and_config_share_one_json_round_trip():
    from resnet_studio.core.spec import ArchSpec, SpecError

    cfg = TrainConfig.from_dict({"milestones": [0.25, 0.5], "steps": 8})
    assert cfg.milestones == (0.25, 0.5) and isinstance(cfg.milestones, tuple)
    spec = ArchSpec.from_dict({**TINY.to_dict(), "layers": [1.0, 2.0, 3.0]})
    assert spec.layers == (1, 2, 3) and all(type(v) is int for v in spec.layers)
    assert TINY.to_dict()["layers"] == [1, 1, 1] and cfg.to_dict()["milestones"] == [0.25, 0.5]
    for cls, error, what in ((TrainConfig, ConfigError, "config"), (ArchSpec, SpecError, "spec")):
        with pytest.raises(error, match=r"newer ResNet Studio \(version 9\)") as e:
            cls.from_dict({"version": 9})
        assert e.value.field == "version"
        with pytest.raises(error, match="not valid JSON") as e:
            cls.from_json("{")
        assert e.value.field == what


def test_paper_preset_is_the_paper_recipe():
    he = PRESETS["he2015_cifar"]
    assert (he.dataset, he.batch_size, he.optimizer, he.lr, he.momentum, he.weight_decay) == (
        "cifar10", 128, "sgd", 0.1, 0.9, 1e-4)
    assert he.steps == 64_000 and he.milestone_steps() == [32_000, 48_000] and he.augment
    assert lr_at(0, he) == 0.1 and lr_at(31_999, he) == 0.1
    assert lr_at(32_000, he) == pytest.approx(0.01) and lr_at(48_000, he) == pytest.approx(0.001)
    quick = PRESETS["quick_cpu"]
    assert quick.dataset.startswith("synthetic") and quick.batch_size == 64
    assert 300 <= quick.steps <= 500


def test_schedules_are_pure_functions():
    cos = TrainConfig(steps=100, schedule="cosine", lr=0.2, warmup_steps=10, min_lr=0.01)
    assert lr_at(0, cos) == pytest.approx(0.2 / 10)  # warm-up starts at lr / warmup
    assert lr_at(9, cos) == pytest.approx(0.2)
    assert lr_at(10, cos) == pytest.approx(0.2)
    assert lr_at(55, cos) == pytest.approx(0.01 + 0.19 * 0.5)
    assert lr_at(100, cos) == pytest.approx(0.01)
    const = TrainConfig(steps=10, schedule="constant", lr=0.05)
    assert {lr_at(s, const) for s in range(10)} == {0.05}
    assert [lr_at(s, cos) for s in range(100)] == [lr_at(s, cos) for s in range(100)]


# -- training --------------------------------------------------------------------------------------


def test_resnet20_learns_synthetic_on_cpu():
    """The acceptance check: ResNet-20 on the synthetic set lowers its loss clearly within a
    few hundred steps on the CPU."""
    spec = with_io(get_spec("resnet20"), num_classes=10)
    cfg = TrainConfig(dataset="synthetic:size=16,train=3000,val=300", steps=120, batch_size=64,
                      lr=0.1, schedule="cosine", log_every=10, eval_every=0, device="cpu")
    rec = Recorder()
    t = time.perf_counter()
    result = Trainer(spec, cfg, callbacks=[rec]).fit()
    seconds = time.perf_counter() - t
    first = rec.logs[0].loss
    final = sum(log.loss for log in rec.logs[-3:]) / 3
    print(f"resnet20 synthetic: loss {first:.3f} -> {final:.3f}, train error "
          f"{rec.logs[0].error:.3f} -> {result.train_error:.3f}, val error "
          f"{result.val_error:.3f}, {seconds:.1f}s")
    assert result.status == "finished" and result.steps == 120
    assert final < 0.7 * first
    assert result.val_error < 0.6  # chance is 0.9


def test_hooks_fire_in_order_and_carry_plain_numbers():
    rec = Recorder()
    steps_seen, backward_seen = [], []

    class PerStep(Callback):
        def on_train_batch_end(self, trainer, step):
            steps_seen.append(step)

        def on_after_backward(self, trainer, step):
            # gradients are there for a gradient-norm callback
            backward_seen.append(trainer.model.fc.weight.grad is not None)

    trainer = Trainer(TINY, tiny_config(steps=20, checkpoint_every=10), callbacks=[rec, PerStep()])
    result = trainer.fit()
    assert result.status == "finished"
    assert steps_seen == list(range(1, 21)) and all(backward_seen) and len(backward_seen) == 20
    assert rec.events[:2] == ["start", "status:running"]
    assert rec.events[-2:] == ["status:finished", "end"]
    assert rec.events.count("log") == 4 and rec.events.count("val") == 2
    assert "ckpt:periodic" in rec.events and "ckpt:end" in rec.events
    for log in rec.logs:
        assert all(isinstance(v, (int, float)) for v in log.to_dict().values())
        assert 0 <= log.error <= 1 and log.images_per_s > 0
    assert rec.logs[-1].eta_s == 0
    assert trainer.spec.num_classes == 10 and trainer.history["val/error"][-1][0] == 20


def test_no_host_sync_per_step(monkeypatch):
    """Loss and accuracy are fetched once per log window, never with .item() per step."""
    counts = {"item": 0, "tolist": 0}
    real_item, real_tolist = torch.Tensor.item, torch.Tensor.tolist

    def item(self):
        counts["item"] += 1
        return real_item(self)

    def tolist(self):
        counts["tolist"] += 1
        return real_tolist(self)

    trainer = Trainer(TINY, tiny_config(steps=40, log_every=20, eval_every=0))
    trainer.setup()  # data loading may sync; count the loop only
    monkeypatch.setattr(torch.Tensor, "item", item)
    monkeypatch.setattr(torch.Tensor, "tolist", tolist)
    trainer.fit()
    # 2 log windows + 1 final validation + the final checkpoint
    assert counts["tolist"] <= 4 and counts["item"] <= 2


def test_stop_and_resume_reproduce_the_uninterrupted_run():
    cfg = tiny_config(steps=30, log_every=5, eval_every=10)

    first = Trainer(TINY, cfg, callbacks=[StopAt(13)])  # mid log window, mid epoch
    half = first.fit()
    assert half.status == "stopped" and half.steps == 13
    assert load_checkpoint(half.checkpoint).step == 13

    resumed = Trainer.from_checkpoint(half.checkpoint)
    assert resumed.run_id == first.run_id
    end = resumed.fit()
    assert end.status == "finished" and end.steps == 30

    straight = Trainer(TINY, cfg)
    assert straight.fit().status == "finished"
    for name in ("train/loss", "train/error", "lr", "val/loss", "val/error"):
        assert resumed.history[name] == straight.history[name], name
    a, b = resumed.model.state_dict(), straight.model.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), rtol=0, atol=1e-6), k


def test_resume_refuses_different_settings():
    r = Trainer(TINY, tiny_config(), callbacks=[StopAt(5)]).fit()
    with pytest.raises(ConfigError, match="lr"):
        Trainer(TINY, tiny_config(lr=0.5), resume_from=r.checkpoint)
    with pytest.raises(ConfigError, match="not"):
        Trainer(TINY.plain_twin(), tiny_config(), resume_from=r.checkpoint)


def test_pause_resume_stop_from_another_thread():
    cfg = tiny_config(steps=100_000, log_every=50, eval_every=0)
    reached = threading.Event()

    class Signal(Callback):
        def on_train_batch_end(self, trainer, step):
            if step == 5:
                reached.set()

    trainer = Trainer(TINY, cfg, callbacks=[Signal()])
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", trainer.fit()))
    thread.start()
    try:
        assert reached.wait(60)
        trainer.pause()
        deadline = time.monotonic() + 10
        while trainer.status != "paused" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert trainer.status == "paused"
        step = trainer.step
        time.sleep(0.3)
        assert trainer.step == step  # nothing moves while paused
        trainer.resume()
        deadline = time.monotonic() + 10
        while trainer.step <= step and time.monotonic() < deadline:
            time.sleep(0.01)
        assert trainer.step > step
    finally:
        trainer.stop()
        thread.join(60)
    result = box["result"]
    assert result.status == "stopped" and 5 < result.steps < 100_000
    assert load_checkpoint(result.checkpoint).step == result.steps


def test_nan_loss_diverges_and_keeps_the_last_good_checkpoint():
    trainer = Trainer(TINY, tiny_config(steps=40, checkpoint_every=10, log_every=5))
    real_loss = trainer.loss_fn

    def loss_fn(out, y):
        loss = real_loss(out, y)
        return loss * float("nan") if trainer.step >= 12 else loss

    trainer.loss_fn = loss_fn
    rec = Recorder()
    trainer.callbacks.append(rec)
    result = trainer.fit()
    assert result.status == "diverged"
    assert "learning rate" in result.message and "step 10" in result.message
    assert "exception" in rec.events and rec.events[-1] == "end"
    ckpt = load_checkpoint(result.checkpoint)
    assert ckpt.step == 10
    assert all(torch.isfinite(t).all() for t in ckpt.model_state.values())


def test_huge_learning_rate_diverges_with_advice():
    result = Trainer(TINY, tiny_config(lr=1e6, steps=20, warmup_steps=0, schedule="constant",
                                       weight_decay=0)).fit()
    assert result.status == "diverged"
    assert "lower learning rate" in result.message


def test_out_of_memory_is_a_message_not_a_crash(monkeypatch):
    trainer = Trainer(TINY, tiny_config(steps=10))
    trainer.setup()

    def boom(x):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    trainer._forward = boom
    result = trainer.fit()
    assert result.status == "failed"
    assert "smaller batch" in result.message and "16" in result.message


def test_unexpected_errors_are_reported_then_raised():
    trainer = Trainer(TINY, tiny_config(steps=10))
    trainer.setup()
    rec = Recorder()
    trainer.callbacks.append(rec)

    def bug(out, y):
        raise ZeroDivisionError("a bug")

    trainer.loss_fn = bug
    with pytest.raises(ZeroDivisionError):
        trainer.fit()
    assert trainer.status == "failed" and "exception" in rec.events and rec.events[-1] == "end"


def test_one_channel_data_adapts_any_preset():
    spec = get_spec("resnet20", plain=True)
    cfg = tiny_config(dataset="synthetic:size=8,channels=1,classes=4,train=128,val=32", steps=4,
                      eval_every=0)
    trainer = Trainer(spec, cfg)
    result = trainer.fit()
    assert result.status == "finished"
    assert trainer.spec.in_channels == 1 and trainer.spec.num_classes == 4
    assert trainer.model.conv1.weight.shape[1] == 1


def test_mixed_precision_and_channels_last_run_on_cpu():
    trainer = Trainer(TINY, tiny_config(steps=4, eval_every=0, amp=True, channels_last=True))
    result = trainer.fit()
    assert result.status == "finished" and math.isfinite(result.train_loss)
    if trainer._amp_dtype is not None:
        assert trainer._amp_dtype == torch.bfloat16
    assert trainer.model.conv1.weight.is_contiguous(memory_format=torch.channels_last)


def test_a_failing_compiled_model_falls_back_to_eager():
    trainer = Trainer(TINY, tiny_config(steps=3, eval_every=0))
    trainer.setup()

    def broken_compiled(x):
        raise RuntimeError("inductor: no C++ compiler")

    trainer._forward = broken_compiled
    assert trainer.fit().status == "finished"
    assert any("eagerly" in w for w in trainer.warnings)


def test_too_small_images_for_an_imagenet_stem():
    from resnet_studio.core.data import DatasetError

    with pytest.raises(DatasetError, match="at least 32x32"):
        Trainer(get_spec("resnet18"), tiny_config(steps=2)).setup()


@pytest.mark.skipif(not os.environ.get("RESNET_STUDIO_DEPTH_CHECK"),
                    reason="about 2-4 minutes on a 2-core CPU; set RESNET_STUDIO_DEPTH_CHECK=1")
def test_depth_check_quick_cpu():
    """The degradation problem offline (He et al. 2015, Fig. 6): plain-56 ends with a clearly
    higher training error than plain-20; ResNet-56 trains as well as or better than ResNet-20
    (quick_cpu preset)."""
    cfg = PRESETS["quick_cpu"].replace(device="cpu", eval_every=0)
    final = {}
    for name, plain in (("resnet20", True), ("resnet56", True), ("resnet20", False),
                        ("resnet56", False)):
        spec = with_io(get_spec(name, plain=plain), num_classes=10)
        trainer = Trainer(spec, cfg)
        trainer.fit()
        errs = [e for s, e in trainer.history["train/error"] if s > cfg.steps * 0.9]
        final[spec.name] = sum(errs) / len(errs)
        print(f"{spec.name}: final training error {final[spec.name]:.3f} "
              f"({trainer.elapsed():.0f}s)")
    assert final["plain_resnet56"] > final["plain_resnet20"] + 0.1
    assert final["resnet56"] <= final["resnet20"] + 0.02
    assert math.isfinite(sum(final.values()))


def test_the_training_modules_import_no_circle():
    """The trainer fires the callbacks, the store re-exports the recorder: none of them may
    come back to the module that imports it (type-checking and in-function imports count)."""
    import grimp

    graph = grimp.build_graph("resnet_studio", cache_dir=None)
    modules = sorted(m for m in graph.modules if m.startswith("resnet_studio.core.training."))
    circles = [(a, b) for i, a in enumerate(modules) for b in modules[i + 1:]
               if graph.find_shortest_chain(a, b) and graph.find_shortest_chain(b, a)]
    assert not circles
