"""The run history that `resnet-studio runs` and the Train tab's runs list share."""

import time

import pytest

from resnet_studio.app.runs import RunHistory, RunRow, runs_table
from resnet_studio.core.training.store import RunStore
from tests.helpers import TINY


@pytest.fixture
def history(tmp_path):
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        store.create_run(run_id="20260101-000000-aaaa", name="first", model="resnet20",
                         spec=TINY.to_dict(), config={"steps": 20}, dataset="synthetic",
                         total_steps=20)
        store.add_metrics("20260101-000000-aaaa", [
            (10, "train/loss", 2.0), (10, "train/error", 0.5), (10, "lr", 0.1),
            (20, "train/loss", 1.0), (20, "train/error", 0.25), (20, "lr", 0.01),
            (20, "val/loss", 1.25), (20, "val/error", 0.375)], step=20)
        store.update("20260101-000000-aaaa", status="stopped", checkpoint="/r/checkpoint.json",
                     message="stopped at step 20")
        store.create_run(run_id="20260101-000001-bbbb", name="second", model="plain_resnet20",
                         spec={}, config={}, dataset="cifar10", total_steps=400,
                         experiment_id="exp1")
        store.update("20260101-000001-bbbb", status="finished")
    with RunHistory(path) as h:
        yield h


def test_rows_carry_the_last_errors_and_what_can_be_resumed(history):
    first, second = history.rows()
    assert (first.id, first.name, first.step, first.total_steps) == (
        "20260101-000000-aaaa", "first", 20, 20)
    assert (first.train_error, first.val_error) == (0.25, 0.375)
    assert first.resumable and not second.resumable  # finished, and no checkpoint
    assert first.message == "stopped at step 20"
    assert second.train_error is None
    assert [r.name for r in history.rows(experiment_id="exp1")] == ["second"]
    assert history.rows(errors=False)[0].train_error is None
    assert first.to_dict() == {
        "id": "20260101-000000-aaaa", "name": "first", "model": "resnet20",
        "dataset": "synthetic", "status": "stopped", "step": 20, "total_steps": 20,
        "train_error": 0.25, "val_error": 0.375, "created": first.created,
        "checkpoint": "/r/checkpoint.json"}
    assert history.row("last").id == second.id


def test_the_runs_table(history):
    rows = history.rows()
    created = time.strftime("%Y-%m-%d %H:%M", time.localtime(rows[0].created))
    lines = runs_table(rows).splitlines()
    assert lines[0].split() == ["id", "model", "dataset", "status", "steps", "train", "err",
                                "val", "err", "created", "name"]
    assert lines[1].split() == ["20260101-000000-aaaa", "resnet20", "synthetic", "stopped",
                                "20/20", "25.0%", "37.5%", *created.split(), "first"]
    assert lines[2].split()[4:7] == ["0/400", "-", "-"]
    assert runs_table([]) == "no runs yet (start one with `resnet-studio train resnet20`)\n"


def test_curves_export_rename_delete(history, tmp_path):
    curves = history.curves("20260101-000000")
    assert curves.steps == [10, 20] and curves.error == [0.5, 0.25] and curves.lr == [0.1, 0.01]
    assert curves.val_steps == [20] and curves.val_loss == [1.25] and curves.val_error == [0.375]
    out = tmp_path / "m.csv"
    text = history.export_csv("20260101-000000", out)
    assert out.read_text() == text
    assert text.splitlines()[0] == "step,lr,train/error,train/loss,val/error,val/loss"
    assert text.splitlines()[2] == "20,0.01,0.25,1.0,0.375,1.25"
    history.rename("20260101-000000-aaaa", "  renamed ")
    assert history.get("20260101-000000-aaaa").name == "renamed"
    details = history.details("20260101-000000-aaaa")
    assert details["last"]["val/error"] == 0.375 and details["spec"]["name"] == "tiny"
    history.delete("20260101-000000-aaaa")
    assert [r.name for r in history.rows()] == ["second"]
    with pytest.raises(KeyError, match="no run"):
        history.row("20260101-000000-aaaa")


def test_a_row_is_plain_data():
    row = RunRow(id="a", name="n", model="m", dataset="d", status="interrupted", step=3,
                 total_steps=9, train_error=None, val_error=None, created=0.0,
                 checkpoint="/c.json", message="")
    assert row.resumable and "message" not in row.to_dict()
