"""`resnet-studio sweep` end to end: a tiny grid with --json and as text, --list / --show, and a
sweep process killed with SIGKILL mid-experiment, then finished with --resume."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from resnet_studio.cli import main
from resnet_studio.core.experiments import ExperimentStore
from tests.helpers import SMALL_DATA as DATA


def test_sweep_json_then_list_and_show(capsys, tmp_path):
    code = main(["sweep", "--depths", "8,14", "--variants", "plain,residual", "--dataset", DATA,
                 "--steps", "12", "--seeds", "1", "--device", "cpu", "--json",
                 "--csv", str(tmp_path / "t.csv")])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    exp = result["experiment"]
    assert exp["status"] == "finished" and exp["depths"] == [8, 14]
    assert len(result["runs"]) == 4
    for r in result["runs"]:
        assert r["status"] == "finished" and 0 <= r["train_error"] <= 1
        assert 0 <= r["val_error"] <= 1 and r["params"] > 0 and r["seconds"] > 0
    assert {d["variant"] for d in result["degradation"]} == {"plain", "residual"}
    assert "[4/4] ResNet-14 seed 0" in err and f"experiment {exp['id']}" in err
    assert (tmp_path / "t.csv").read_text().startswith("model,depth,variant")

    assert main(["sweep", "--list"]) == 0
    out, _ = capsys.readouterr()
    assert exp["id"] in out and "4/4 done" in out
    assert main(["sweep", "--show", exp["id"]]) == 0
    out, _ = capsys.readouterr()
    assert "plain-14 seed 0" in out and "degradation  plain: plain-14 − plain-8" in out
    assert main(["runs", "--experiment", exp["id"]]) == 0  # ordinary runs, grouped
    out, _ = capsys.readouterr()
    assert out.count("finished") >= 4


def test_sweep_text_output_and_bad_depth(capsys):
    code = main(["sweep", "--depths", "8", "--variants", "plain", "--dataset", DATA, "--steps",
                 "6", "--seeds", "2", "--device", "cpu", "-q"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "plain-8 seed 0" in out and "plain-8 seed 1" in out
    assert "degradation: needs two depths" in out
    assert "open it in the Depth Lab" in out
    assert main(["sweep", "--depths", "21", "--steps", "6"]) == 2
    _, err = capsys.readouterr()
    assert "6n+2" in err


def test_sigkill_mid_experiment_then_resume(tmp_path, capsys):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "resnet_studio", "sweep", "--depths", "8", "--variants",
           "plain,residual", "--dataset", DATA, "--steps", "150", "--checkpoint-every", "10",
           "--device", "cpu", "--name", "killed", "-q"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        store = ExperimentStore()
        deadline = time.monotonic() + 120
        exp = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"sweep ended early: {proc.stderr.read().decode()}")
            exps = store.list()
            if exps:
                exp = store.get(exps[0].id)
                second = exp.cells[1]
                if (exp.cells[0].status == "finished" and second.run_id
                        and store.runs.exists(second.run_id)
                        and store.runs.get(second.run_id).checkpoint
                        and second.status == "running"):
                    break
            time.sleep(0.02)
        else:
            pytest.fail("the sweep never reached its second run")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    store.close()

    with ExperimentStore() as store:  # opening notices the dead process
        crashed = store.get(exp.id)
        assert crashed.status == "interrupted"
        assert [c.status for c in crashed.cells] == ["finished", "interrupted"]
        first_metrics = store.runs.metrics(crashed.cells[0].run_id)
        killed_at = store.runs.get(crashed.cells[1].run_id).step

    code = main(["sweep", "--resume", exp.id, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"resumed at step {killed_at}" in err or "resumed at step" in err
    result = json.loads(out.strip().splitlines()[-1])
    assert [r["status"] for r in result["runs"]] == ["finished", "finished"]
    with ExperimentStore() as store:
        final = store.get(exp.id)
        assert final.status == "finished"
        assert [c.run_id for c in final.cells] == [c.run_id for c in crashed.cells]
        assert store.runs.metrics(final.cells[0].run_id) == first_metrics
        steps = [s for s, _ in store.runs.metrics(final.cells[1].run_id)["train/error"]]
        assert steps == sorted(set(steps)) and steps[-1] == 150
