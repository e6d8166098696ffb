"""Training speed settings: the config's where given, measured once per family on the CPU and
remembered, GPU defaults on CUDA; torch's thread count restored after a run."""

import json
from dataclasses import replace

import pytest
import torch

from resnet_studio.core.training import speed
from resnet_studio.core.training.callbacks import Callback
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.core.training.trainer import Trainer
from tests.helpers import TINY, TINY_DATA

CPU = torch.device("cpu")
SHAPE = (3, 8, 8)


@pytest.fixture
def autotune(monkeypatch):
    monkeypatch.setenv("RESNET_STUDIO_AUTOTUNE", "1")


def test_settings_given_in_the_config_are_used_as_given(autotune, monkeypatch):
    monkeypatch.setattr(speed, "measure_cpu", lambda *a: pytest.fail("measured"))
    cfg = TrainConfig(batch_size=16, channels_last=True, threads=1, amp=False)
    chosen = speed.choose(TINY, cfg, CPU, SHAPE)
    assert (chosen.channels_last, chosen.threads, chosen.amp) == (True, 1, False)
    assert chosen.how == "as configured"


def test_cpu_auto_is_measured_once_per_family_and_remembered(autotune, monkeypatch):
    said = []
    first = speed.choose(TINY, TrainConfig(batch_size=16), CPU, SHAPE, status=said.append)
    assert first.how == "measured on this machine" and said
    assert first.threads in speed.thread_candidates()
    stored = json.loads(speed.SpeedCache().path.read_text())[speed.machine_key()]
    entry = stored[speed.family_key(TINY, SHAPE, 16)]
    assert set(entry["candidates"]) == {f"{fmt}/{t}" for fmt in ("nchw", "channels_last")
                                        for t in speed.thread_candidates()}
    assert entry["images_per_s"] == max(entry["candidates"].values())  # the fastest was kept

    monkeypatch.setattr(speed, "measure_cpu", lambda *a: pytest.fail("measured twice"))
    deeper = replace(TINY, layers=(3, 3, 3))  # the same family
    again = speed.choose(deeper, TrainConfig(batch_size=16, threads=1), CPU, SHAPE)
    assert again.how == "remembered for this model family"
    assert (again.channels_last, again.threads) == (first.channels_last, 1)


def test_a_damaged_cache_is_measured_anew(autotune):
    cache = speed.SpeedCache()
    cache.path.write_text("{not json")
    assert speed.choose(TINY, TrainConfig(batch_size=16), CPU, SHAPE).how == \
        "measured on this machine"
    assert cache.get(speed.family_key(TINY, SHAPE, 16)) is not None


def test_gpus_get_bf16_autocast_and_channels_last(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    chosen = speed.choose(TINY, TrainConfig(), torch.device("cuda"), SHAPE)
    assert (chosen.channels_last, chosen.amp, chosen.how) == (True, True, "GPU defaults")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert not speed.choose(TINY, TrainConfig(), torch.device("cuda"), SHAPE).amp
    forced = speed.choose(TINY, TrainConfig(amp=False, channels_last=False),
                          torch.device("cuda"), SHAPE)
    assert (forced.channels_last, forced.amp) == (False, False)


def test_without_autotune_the_cpu_keeps_torchs_defaults():
    chosen = speed.choose(TINY, TrainConfig(), CPU, SHAPE)
    assert (chosen.channels_last, chosen.threads, chosen.amp) == (False, None, False)


def test_a_run_trains_with_the_chosen_threads_and_gives_them_back(autotune):
    torch.set_num_threads(1)
    seen = []

    class Threads(Callback):
        def on_train_batch_end(self, trainer, step):
            seen.append(torch.get_num_threads())

    cfg = TrainConfig(dataset=TINY_DATA, steps=3, batch_size=16, eval_every=0, log_every=1,
                      checkpoint_every=0, device="cpu", threads=2, channels_last=True)
    trainer = Trainer(TINY, cfg, callbacks=[Threads()])
    result = trainer.fit()
    assert result.status == "finished" and set(seen) == {2}
    assert trainer.model.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert torch.get_num_threads() == 1
