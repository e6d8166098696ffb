"""Stored runs side by side: final metrics, model and settings, the differing rows marked."""

import pytest

from resnet_studio.app.run_comparison import compare_runs
from resnet_studio.app.runs import RunHistory
from resnet_studio.core.training.store import RunStore

SPEC = {"name": "resnet20", "block": "basic", "layers": [3, 3, 3], "widths": [16, 32, 64],
        "shortcut": "A"}


def two_runs(path) -> None:
    with RunStore(path) as store:
        for run_id, lr, spec, val in (("aaaa", 0.1, SPEC, [(200, 0.30), (400, 0.25)]),
                                      ("bbbb", 0.05, {**SPEC, "name": "plain_resnet20",
                                                      "shortcut": "none"},
                                       [(200, 0.40), (400, 0.45)])):
            store.create_run(run_id=run_id, name=f"run {run_id}", model=spec["name"], spec=spec,
                             config={"dataset": "synthetic", "steps": 400, "lr": lr,
                                     "augment": True, "milestones": [0.5, 0.75],
                                     "device": "cpu"},
                             dataset="synthetic", total_steps=400)
            store.add_metrics(run_id, [(400, "train/loss", 0.1234), (400, "train/error", 0.05)]
                              + [(s, "val/error", e) for s, e in val]
                              + [(400, "val/loss", 0.9)], step=400)
            store.update(run_id, status="finished", step=400)


def test_two_runs_side_by_side(tmp_path):
    two_runs(tmp_path / "runs.sqlite")
    with RunHistory(tmp_path / "runs.sqlite") as history:
        c = compare_runs(history, ["aaaa", "bbbb", "aaaa"])  # a run named twice: once
    assert c.ids == ("aaaa", "bbbb") and c.names == ("run aaaa", "run bbbb")
    assert c.row("final training loss").values == ("0.1234", "0.1234")
    assert c.row("final validation error").values == ("25.00%", "45.00%")
    assert c.row("best validation error").values == ("25.00% (step 400)", "40.00% (step 200)")
    assert c.row("steps").values == ("400 / 400", "400 / 400")
    assert c.row("lr").values == ("0.1", "0.05") and c.row("lr").differs
    assert c.row("augment").values == ("yes", "yes") and not c.row("augment").differs
    assert c.row("milestones").values == ("0.5, 0.75", "0.5, 0.75")
    assert c.row("shortcut").values == ("A", "none")
    labels = [r.label for r in c.differing()]
    assert labels == ["final validation error", "best validation error", "model", "shortcut",
                      "lr"]
    # housekeeping settings come last
    assert [r.label for r in c.rows][-1] == "device"
    assert c.to_csv().splitlines()[:2] == ["section,setting,run aaaa,run bbbb",
                                           "Final metrics,status,finished,finished"]


def test_unknown_or_no_runs_are_user_errors(tmp_path):
    two_runs(tmp_path / "runs.sqlite")
    with RunHistory(tmp_path / "runs.sqlite") as history:
        with pytest.raises(KeyError):
            compare_runs(history, ["zzzz"])
        with pytest.raises(ValueError, match="at least one run"):
            compare_runs(history, [])
