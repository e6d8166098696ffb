"""`resnet-studio train --nproc N`: one model trained by N processes through torchrun (gloo on
this CPU), the same optimisation as one process; stopped and resumed with another N."""

import json
import os
import signal
import subprocess
import sys
from dataclasses import replace

import pytest

from resnet_studio.cli import main
from resnet_studio.core.training.store import RunStore
from tests.helpers import TINY

# four classes: ResNet-20 learns them within 40 steps (loss 1.6 -> about 0.8), so the curves
# compared below move
DATA = "synthetic:classes=4,size=16,train=512,val=64"
RECIPE = ["--dataset", DATA, "--batch-size", "32", "--lr", "0.05", "--schedule", "constant",
          "--warmup-steps", "0", "--log-every", "5", "--device", "cpu"]
# BatchNorm normalises each rank's 16 images by their own statistics, one process its 32 by
# theirs (SyncBatchNorm refuses CPU tensors in torch 2.x): the curves differ by that alone.
# Measured here over 40 steps: each 5-step mean loss within 0.2 of one process's, 0.05 apart
# on average over the run; without BatchNorm they agree to float noise.
BN_TOLERANCE = 0.3  # any logged point
BN_MEAN_TOLERANCE = 0.1  # the mean gap over the run
NO_BN_TOLERANCE = 1e-3

pytestmark = pytest.mark.skipif(os.name != "posix", reason="torchrun's workers, SIGTERM")


def _launch(args):
    return subprocess.Popen([sys.executable, "-m", "resnet_studio", "train", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})


def _losses(run_id):
    with RunStore() as store:
        return {step: value for step, value in store.metrics(run_id)["train/loss"]}


def _one_process(capsys, args):
    assert main(["train", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_two_processes_stopped_then_resumed_by_one_follow_one_process(capsys):
    proc = _launch(["resnet20", *RECIPE, "--steps", "400", "--nproc", "2", "--json"])
    try:
        lines = []
        while not (lines and lines[-1].startswith("step 5/400 ")):
            line = proc.stderr.readline()
            assert line, "".join(lines)
            lines.append(line)
        proc.send_signal(signal.SIGTERM)  # to the launcher, as a scheduler would
        out, rest = proc.communicate(timeout=180)
    finally:
        proc.kill()
    assert proc.returncode == 143, rest
    assert "stopping every process after this step and writing a checkpoint" in rest
    assert "Traceback" not in rest and "closing signal" not in rest  # torchrun kept quiet
    assert lines[0].startswith("training resnet20 on synthetic")  # rank 0 alone reports
    assert sum(line.startswith("training resnet20") for line in lines) == 1
    stopped = json.loads(out.strip().splitlines()[-1])
    assert stopped["status"] == "stopped" and 5 <= stopped["steps"] < 40
    assert stopped["images_per_s"] > 0

    resumed = _one_process(capsys, ["--resume", stopped["checkpoint"], "--steps", "40",
                                    "--nproc", "1"])
    assert (resumed["run_id"], resumed["status"], resumed["steps"]) == \
        (stopped["run_id"], "finished", 40)
    curve = _losses(stopped["run_id"])  # one run in the history, logged every 5 steps
    assert sorted(curve) == list(range(5, 45, 5))

    alone = _one_process(capsys, ["resnet20", *RECIPE, "--steps", "40"])
    reference = _losses(alone["run_id"])
    assert reference[40] < 0.75 * reference[5]  # it learns
    gaps = {s: abs(curve[s] - reference[s]) for s in reference}
    assert max(gaps.values()) < BN_TOLERANCE, gaps
    assert sum(gaps.values()) / len(gaps) < BN_MEAN_TOLERANCE, gaps


def test_without_batchnorm_two_processes_make_the_same_updates_as_one(tmp_path, capsys):
    spec = tmp_path / "tiny-no-bn.json"
    replace(TINY, norm="none").save(spec)
    args = [str(spec), *RECIPE, "--steps", "20"]
    proc = _launch([*args, "--nproc", "2", "--json", "--quiet"])
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    two = json.loads(out.strip().splitlines()[-1])
    one = _one_process(capsys, args)
    assert two["steps"] == one["steps"] == 20
    a, b = _losses(two["run_id"]), _losses(one["run_id"])
    assert sorted(a) == sorted(b) == [5, 10, 15, 20]
    assert all(abs(a[s] - b[s]) < NO_BN_TOLERANCE for s in a), (a, b)
    assert two["val_loss"] == pytest.approx(one["val_loss"], abs=NO_BN_TOLERANCE)


@pytest.mark.parametrize("flags, message", [
    (["--nproc", "0"], "--nproc must be at least 1 (processes on this computer), got 0"),
    (["--nproc", "-3"], "--nproc must be at least 1 (processes on this computer), got -3"),
    (["--nproc", "4096"], "--nproc 4096 is more than the"),
    (["--nproc", "2", "--batch-size", "33"],
     "--batch-size 33 does not split evenly across 2 processes; use a multiple of 2"),
    (["--rdzv-endpoint", "node0:29400"],
     "--rdzv-endpoint only applies to several processes: add --nproc N"),
    (["--node-rank", "1", "--rdzv-id", "job"], "--node-rank, --rdzv-id only apply to several"),
    (["--nnodes", "2"], "--nnodes 2 needs --rdzv-endpoint HOST:PORT"),
    (["--nnodes", "2", "--node-rank", "2", "--rdzv-endpoint", "node0:29400"],
     "--node-rank must be between 0 and 1 (one per computer), got 2"),
    (["--nproc", "2", "--rdzv-backend", "zookeeper"], "--rdzv-backend must be one of c10d"),
])
def test_bad_launch_settings_are_one_line_and_exit_2(flags, message, capsys):
    code = main(["train", "resnet20", "--dataset", DATA, "--device", "cpu", *flags])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"resnet-studio train: error: {message}"), err
    assert len(err.strip().splitlines()) == 1
