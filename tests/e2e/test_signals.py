"""SIGTERM (a `kill`, a scheduler, a container stopping) stops a training run as Ctrl+C does:
at the next step, with a checkpoint, the run marked "stopped"; the process exits with 143."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from resnet_studio.cli import main
from resnet_studio.core.common.paths import runs_dir
from tests.helpers import TINY
from tests.helpers import TINY_DATA as DATA


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM is POSIX")
def test_sigterm_stops_training_with_a_checkpoint(tmp_path, capsys):
    spec = tmp_path / "tiny.json"
    TINY.save(spec)
    # a killed writer's temp file from an earlier run: cleaned up when training starts
    old_run = runs_dir() / "old-run"
    old_run.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = old_run / f".model-00000010.safetensors.{int(dead.stdout)}.0a1b2c3d.tmp"
    stale.write_bytes(b"half a checkpoint")
    (old_run / "checkpoint.json").write_bytes(b"{}\n")

    proc = subprocess.Popen(
        [sys.executable, "-m", "resnet_studio", "train", str(spec), "--dataset", DATA,
         "--steps", "1000000", "--batch-size", "32", "--log-every", "5", "--device", "cpu",
         "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        first = proc.stderr.readline()  # "training tiny on synthetic ... run <id>"
        assert first.startswith("training tiny on "), first + proc.stderr.read()
        logged = proc.stderr.readline()  # the first log line, at step 5
        assert logged.startswith("step 5/1000000 "), logged
        proc.send_signal(signal.SIGTERM)
        out, rest = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 143, rest
    assert "stopping after this step and writing a checkpoint (send SIGTERM again to abort)" \
        in rest
    assert "Traceback" not in rest
    result = json.loads(out.strip().splitlines()[-1])
    assert result["status"] == "stopped" and 5 <= result["steps"] < 1_000_000
    assert Path(result["checkpoint"]).is_file()

    assert main(["runs", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["id"], row["status"], row["step"]) == (result["run_id"], "stopped",
                                                       result["steps"])
    assert row["checkpoint"] == result["checkpoint"]

    assert sorted(p.name for p in old_run.iterdir()) == ["checkpoint.json"]
    assert (old_run / "checkpoint.json").read_bytes() == b"{}\n"
