"""GradientLogger: per-block gradient norms every N steps, fetched only when the trainer logs."""

from contextlib import ExitStack, contextmanager
from unittest import mock

import numpy as np
import pytest
import torch

from resnet_studio.core.training.callbacks import Callback
from resnet_studio.core.training.config import TrainConfig
from resnet_studio.core.training.gradlog import (
    GradientLogger,
    block_order_key,
    gradient_series,
    is_block_metric,
    parameter_groups,
)
from resnet_studio.core.training.store import RunStore
from resnet_studio.core.training.trainer import Trainer
from tests.helpers import cifar_net

TINY = cifar_net((2, 1), (8, 16), shortcut="A", num_classes=4)
BLOCKS = ["stem", "layer1.0", "layer1.1", "layer2.0", "head"]


def config(steps=20, **changes) -> TrainConfig:
    settings = dict(dataset="synthetic:classes=4,size=8,train=128,val=16", steps=steps,
                    batch_size=16, lr=0.05, schedule="constant", eval_every=0, log_every=10,
                    device="cpu")
    return TrainConfig(**{**settings, **changes})


class DirectNorms(Callback):
    """The reference: each group's gradient norm computed directly, in float64."""

    def __init__(self, every: int, per_conv: bool = False):
        self.every, self.per_conv = every, per_conv
        self.rows: dict[int, dict[str, float]] = {}

    def on_after_backward(self, trainer, step):
        if step % self.every:
            return
        row = {}
        for name, members in parameter_groups(trainer.model):
            flat = torch.cat([p.grad.detach().double().flatten() for _, p in members])
            row[name] = float(torch.linalg.vector_norm(flat))
        if self.per_conv:
            for name, m in trainer.model.named_modules():
                if isinstance(m, torch.nn.Conv2d):
                    row[name] = float(torch.linalg.vector_norm(m.weight.grad.double()))
        self.rows[step] = row


def train(tmp_path, logger, *callbacks, steps=20, store=True, **changes):
    st = RunStore(tmp_path / "runs.sqlite") if store else None
    trainer = Trainer(TINY, config(steps, **changes), callbacks=[logger, *callbacks], store=st,
                      run_dir=tmp_path / "run")
    result = trainer.fit()
    return trainer, result, st


def test_groups_follow_the_forward_order():
    from resnet_studio.core.models.builder import build_model

    groups = parameter_groups(build_model(TINY))
    assert [g for g, _ in groups] == BLOCKS
    assert [n for n, _ in groups[0][1]] == ["conv1.weight", "bn1.weight", "bn1.bias"]
    assert [n for n, _ in groups[-1][1]] == ["fc.weight", "fc.bias"]
    assert sorted(["head", "layer2.0", "layer1.10", "stem", "layer1.2"],
                  key=block_order_key) == ["stem", "layer1.2", "layer1.10", "layer2.0", "head"]
    assert is_block_metric("layer3.17") and is_block_metric("stem")
    assert not is_block_metric("layer1.0.conv1") and not is_block_metric("conv1")


def test_norms_equal_a_direct_computation_every_n_steps_and_land_in_the_store(tmp_path):
    logger = GradientLogger(every=5, per_conv=True)
    direct = DirectNorms(every=5, per_conv=True)
    trainer, result, store = train(tmp_path, logger, direct, steps=20)
    assert result.status == "finished"
    hist = logger.history()
    assert hist.steps.tolist() == [5, 10, 15, 20]
    assert hist.block_names == BLOCKS
    assert hist.names[:5] == BLOCKS
    assert "layer1.0.conv1" in hist.names and "conv1" in hist.names
    assert hist.values.shape == (4, len(hist.names))
    for i, step in enumerate(hist.steps):
        expected = np.array([direct.rows[int(step)][n] for n in hist.names])
        np.testing.assert_allclose(hist.values[i], expected, rtol=1e-5)
    assert np.all(hist.values > 0)
    assert logger.latest() == pytest.approx(dict(zip(hist.names, hist.values[-1])))

    # the run store has them all, as grad/<block> (and grad/<conv> with per_conv)
    metrics = store.metrics(trainer.run_id)
    grads = {k: v for k, v in metrics.items() if k.startswith("grad/")}
    assert sorted(grads) == sorted(f"grad/{n}" for n in hist.names)
    assert [s for s, _ in grads["grad/layer1.0"]] == [5, 10, 15, 20]
    assert "train/loss" in metrics  # the trainer's own recorder still writes its metrics
    # a stored run reads back as the same table
    series = gradient_series(metrics)
    assert series.names == BLOCKS and series.steps.tolist() == hist.steps.tolist()
    np.testing.assert_allclose(series.values, hist.blocks, rtol=1e-12)
    np.testing.assert_allclose(series.blocks, hist.blocks, rtol=1e-12)
    full = gradient_series(metrics, per_conv=True)
    assert sorted(full.names) == sorted(hist.names) and full.block_names == BLOCKS
    store.close()


def test_rows_not_yet_logged_are_written_when_a_run_stops(tmp_path):
    """every=3 with log_every=10: step 21 is recorded after the last log of a run stopped at 22."""

    class StopAt(Callback):
        def on_train_batch_end(self, trainer, step):
            if step == 22:
                trainer.stop()

    logger = GradientLogger(every=3)
    trainer, result, store = train(tmp_path, logger, StopAt(), steps=100)
    assert result.status == "stopped" and result.steps == 22
    steps = [s for s, _ in store.metrics(trainer.run_id, "grad/stem")["grad/stem"]]
    assert steps == [3, 6, 9, 12, 15, 18, 21]
    store.close()


def test_without_a_store_the_records_stay_in_memory(tmp_path):
    logger = GradientLogger(every=5)
    train(tmp_path, logger, steps=10, store=False)
    assert logger.history().steps.tolist() == [5, 10]
    # a store given by hand that does not hold the run (the trainer records elsewhere)
    other = RunStore(tmp_path / "other.sqlite")
    logger = GradientLogger(every=5, store=other)
    train(tmp_path, logger, steps=10, store=False)
    assert logger.history().steps.tolist() == [5, 10] and other.list_runs() == []
    other.close()


_SYNCS = ("item", "cpu", "tolist", "numpy", "__float__", "__int__", "__bool__")


@contextmanager
def host_syncs_forbidden():
    def boom(*_a, **_k):
        raise AssertionError("host sync inside on_after_backward")

    with ExitStack() as stack:
        for name in _SYNCS:
            stack.enter_context(mock.patch.object(torch.Tensor, name, boom))
        yield


class Guarded(GradientLogger):
    calls = 0

    def on_after_backward(self, trainer, step):
        with host_syncs_forbidden():
            super().on_after_backward(trainer, step)
        Guarded.calls += 1


def test_the_per_step_hook_never_reads_a_tensor_back(tmp_path):
    with pytest.raises(AssertionError), host_syncs_forbidden():  # the guard works
        torch.ones(2).sum().item()
    logger = Guarded(every=2, per_conv=True)
    trainer, result, store = train(tmp_path, logger, steps=10)
    assert result.status == "finished" and Guarded.calls == 10
    assert len(logger.history()) == 5


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_no_cuda_sync_in_the_hook(tmp_path):
    """On a GPU, torch's sync debug mode raises on any synchronising call inside the hook."""

    class CudaGuarded(GradientLogger):
        def on_after_backward(self, trainer, step):
            torch.cuda.set_sync_debug_mode("error")
            try:
                super().on_after_backward(trainer, step)
            finally:
                torch.cuda.set_sync_debug_mode("default")

    logger = CudaGuarded(every=1, per_conv=True)
    direct = DirectNorms(every=1, per_conv=True)
    _, result, _ = train(tmp_path, logger, direct, steps=10, device="cuda")
    assert result.status == "finished"
    hist = logger.history()
    assert len(hist) == 10
    for i, step in enumerate(hist.steps):
        expected = np.array([direct.rows[int(step)][n] for n in hist.names])
        np.testing.assert_allclose(hist.values[i], expected, rtol=1e-4)


def test_every_must_be_positive():
    with pytest.raises(ValueError):
        GradientLogger(every=0)
