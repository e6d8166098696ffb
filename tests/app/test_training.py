"""One way to build and run a training run (the Train tab's session and `resnet-studio train`),
the words both front-ends use for its result, and the Train tab's Qt-free state."""

import argparse

import pytest

from resnet_studio.app.training import (
    GRADIENT_EVERY,
    TrainingRun,
    TrainRequest,
    TrainState,
    log_detail,
    result_lines,
    result_message,
)
from resnet_studio.core.training.callbacks import EvalResult, TrainLog, TrainResult
from resnet_studio.core.training.checkpoint import CheckpointError
from resnet_studio.core.training.store import RunStore
from tests.helpers import TINY, TINY_DATA
from tests.training_fixtures import StopAt, tiny_config


def test_a_new_run_is_recorded_with_its_gradient_norms(tmp_path):
    path = tmp_path / "runs.sqlite"
    request = TrainRequest(spec=TINY, config=tiny_config(steps=20), name="demo",
                           store_path=str(path))
    run = TrainingRun.build(request)
    result = run.run()
    assert result.status == "finished" and result.steps == 20
    assert (result.model, result.dataset) == ("tiny", TINY_DATA)
    assert result.device.startswith("CPU (")
    with RunStore(path) as store:
        rec = store.get(result.run_id)
        assert (rec.name, rec.status, rec.step, rec.checkpoint) == ("demo", "finished", 20,
                                                                    result.checkpoint)
        metrics = store.metrics(rec.id)
    assert [s for s, _ in metrics["train/loss"]] == [5, 10, 15, 20]
    # the Gradients tab's heatmaps: every block, every GRADIENT_EVERY steps
    assert GRADIENT_EVERY == 10
    assert [s for s, _ in metrics["grad/layer1.0"]] == [10, 20]
    assert {"grad/stem", "grad/head", "grad/layer3.0"} <= set(metrics)


def test_resume_continues_the_same_run_with_more_steps(tmp_path):
    path = str(tmp_path / "runs.sqlite")
    first = TrainingRun.build(TrainRequest(spec=TINY, config=tiny_config(), store_path=path),
                              [StopAt(7)]).run()
    assert first.status == "stopped" and first.steps == 7
    again = TrainingRun.build(TrainRequest(resume_from=first.checkpoint, store_path=path,
                                           resume_overrides={"steps": 25, "device": None}))
    assert again.trainer.config.steps == 25 and again.trainer.resumed
    second = again.run()
    assert (second.run_id, second.status, second.steps) == (first.run_id, "finished", 25)
    with RunStore(path) as store:
        (rec,) = store.list_runs()
        assert rec.step == 25 and rec.total_steps == 25


def test_a_run_without_the_store_records_nothing(tmp_path):
    path = tmp_path / "runs.sqlite"
    run = TrainingRun.build(TrainRequest(spec=TINY, config=tiny_config(steps=5), record=False,
                                         store_path=str(path)))
    assert run.store is None
    assert run.run().status == "finished"
    assert not path.exists()


def test_requests_that_cannot_start_say_why_and_close_the_store(tmp_path, monkeypatch):
    closed = []
    monkeypatch.setattr(RunStore, "close", lambda self: closed.append(self.path))
    path = tmp_path / "runs.sqlite"
    with pytest.raises(CheckpointError, match="no checkpoint"):
        TrainingRun.build(TrainRequest(resume_from=str(tmp_path / "nowhere"),
                                       store_path=str(path)))
    assert closed == [path]
    with pytest.raises(ValueError, match="needs a model"):
        TrainingRun.build(TrainRequest(config=tiny_config()))
    with pytest.raises(ValueError, match="lr"):
        TrainingRun.build(TrainRequest(spec=TINY, config=tiny_config(lr=-1), record=False))


def _result(**kw) -> TrainResult:
    base = dict(run_id="20260101-000000-abcd", status="finished", steps=400, total_steps=400,
                seconds=75.4, images_per_s=1234.5, train_loss=0.51234, train_error=0.125,
                val_loss=0.6, val_error=0.0875, checkpoint="/runs/x/checkpoint.json",
                model="resnet20", dataset="synthetic", device="CPU (2 threads)")
    return TrainResult(**{**base, **kw})


def test_the_words_for_a_result():
    assert result_lines(_result()) == [
        "finished: resnet20 on synthetic, 400/400 steps in 1:15 (1,234 img/s)",
        "train loss 0.5123  error 12.50%   val loss 0.6000  error 8.75%",
        "run 20260101-000000-abcd  checkpoint /runs/x/checkpoint.json"]
    assert result_lines(_result(val_loss=None, val_error=None, checkpoint=None))[1:] == [
        "train loss 0.5123  error 12.50%   val loss -  error -",
        "run 20260101-000000-abcd  checkpoint -"]
    assert result_message(_result(status="stopped", seconds=3725)) == (
        "Run stopped in 1:02:05 · validation error 8.8% · checkpoint: /runs/x/checkpoint.json")
    assert result_message(_result(status="diverged", message="lower the lr")) == "lower the lr"


def _log(step, total=100, **kw) -> TrainLog:
    base = dict(step=step, total_steps=total, epoch=step / 8, loss=2.0 - step / 100,
                error=0.5, lr=0.1, images_per_s=2500.0, elapsed_s=65.0, eta_s=130.0)
    return TrainLog(**{**base, **kw})


def test_train_state_follows_a_run():
    state = TrainState()
    assert (state.progress_text, state.running, state.message) == ("idle", False, "")
    state.begin(100)
    assert state.running and state.progress == (0, 100) and state.progress_text == \
        "preparing data…"
    state.data_progress(0, 0, "")
    assert state.progress == (0, 0) and state.progress_text == "loading data…"
    state.data_progress(5_000_000, 10_000_000, "downloading cifar")
    assert state.progress == (5_000_000, 10_000_000)
    state.started("run-1")
    state.logged([_log(10), _log(20)])
    assert state.run_id == "run-1" and state.progress == (20, 100)
    assert state.progress_text == "step 20 / 100"
    assert state.detail == log_detail(_log(20)) == (
        "epoch 2.50 · 2,500 images/s · elapsed 1:05 · ETA 2:10 · loss 1.800 · error 50.0%")
    assert state.curves.steps == [10, 20] and state.curves.error == [0.5, 0.5]
    state.evaluated(EvalResult(step=20, loss=1.5, error=0.25, samples=64, seconds=0.1))
    assert state.curves.val_steps == [20] and state.curves.val_error == [0.25]
    state.status_changed("paused", "")
    assert state.status == "paused" and state.progress_text == "paused at step 20"
    state.stopping()
    assert state.progress_text == "stopping (writing a checkpoint)…"
    state.finished(_result(status="stopped", steps=20, total_steps=100, seconds=65))
    assert not state.running and state.result.steps == 20
    assert state.progress_text == "stopped at step 20 / 100"
    assert state.message.startswith("Run stopped in 1:05") and not state.message_is_error


def test_train_state_shows_failures_as_errors():
    state = TrainState()
    state.begin(10, resuming=True)
    assert state.progress_text == "resuming…"
    state.status_changed("diverged", "training diverged: try a lower learning rate")
    assert state.message_is_error and "lower learning rate" in state.message
    state.could_not_start("image folder /x has no class sub-folders")
    assert state.progress == (0, 1) and state.progress_text == "could not start"
    assert state.message_is_error and not state.running


def test_the_command_line_and_the_tab_build_the_same_request(tmp_path):
    """`train MODEL --flags` and the Train tab (form value + the sidebar's model) ask for the
    same run: same spec, same config, both recorded with gradient norms."""
    from resnet_studio.commands import train as train_command
    from resnet_studio.core.training.config import PRESETS

    spec_file = tmp_path / "tiny.json"
    TINY.save(spec_file)
    parser = argparse.ArgumentParser()
    train_command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", str(spec_file), "--dataset", TINY_DATA, "--steps", "20",
                              "--batch-size", "32", "--lr", "0.05", "--device", "cpu"])
    cli = train_command.build_request(args)
    form_value = PRESETS["quick_cpu"].replace(dataset=TINY_DATA, steps=20, batch_size=32,
                                              lr=0.05, device="cpu")
    tab = TrainRequest(spec=TINY, config=form_value)
    assert cli == tab
