"""`resnet-studio train` and `resnet-studio runs` end to end."""

import csv
import json
import os
import subprocess
import sys

import pytest

from resnet_studio.cli import main
from tests.helpers import TINY
from tests.helpers import TINY_DATA as DATA


@pytest.fixture
def tiny_spec(tmp_path):
    path = tmp_path / "tiny.json"
    TINY.save(path)
    return str(path)


def _last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_train_json_then_runs_export_csv(tiny_spec, tmp_path, capsys):
    code = main(["train", tiny_spec, "--dataset", DATA, "--steps", "20", "--batch-size", "32",
                 "--eval-every", "10", "--log-every", "5", "--device", "cpu", "--json",
                 "--name", "cli run"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = _last_json(out)
    assert result["status"] == "finished" and result["steps"] == 20
    for key in ("train_loss", "train_error", "val_loss", "val_error", "seconds",
                "images_per_s", "run_id", "checkpoint"):
        assert key in result
    assert 0 <= result["train_error"] <= 1 and result["images_per_s"] > 0
    assert os.path.isfile(result["checkpoint"])
    assert "step 20/20" in err and "img/s" in err and "ETA" in err

    assert main(["runs"]) == 0
    table, _ = capsys.readouterr()
    assert result["run_id"] in table and "finished" in table and "cli run" in table

    csv_path = tmp_path / "metrics.csv"
    assert main(["runs", "export", result["run_id"], "--csv", str(csv_path)]) == 0
    rows = list(csv.DictReader(csv_path.open()))
    assert [int(r["step"]) for r in rows] == [5, 10, 15, 20]
    assert float(rows[-1]["train/loss"]) == pytest.approx(result["train_loss"])
    assert rows[-1]["val/error"] != ""

    assert main(["runs", "export", "last"]) == 0  # to stdout
    out, _ = capsys.readouterr()
    assert out.startswith("step,")


def test_train_resume_from_checkpoint(tiny_spec, capsys):
    args = ["--dataset", DATA, "--batch-size", "32", "--device", "cpu", "--json",
            "--schedule", "constant"]
    assert main(["train", tiny_spec, "--steps", "6", *args]) == 0
    first = _last_json(capsys.readouterr()[0])
    assert main(["train", "--resume", first["checkpoint"], "--steps", "12", "--json",
                 "--quiet"]) == 0
    second = _last_json(capsys.readouterr()[0])
    assert second["run_id"] == first["run_id"] and second["steps"] == 12
    assert main(["runs", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr()[0])
    assert row["step"] == 12 and row["status"] == "finished"


@pytest.mark.parametrize("argv, words", [
    (["train", "resnet-9000", "--steps", "1"], ["unknown model"]),
    (["train", "resnet20", "--dataset", "imagenet-1k", "--steps", "1"], ["unknown dataset"]),
    (["train", "resnet20", "--dataset", "cifar10", "--offline", "--steps", "1"],
     ["CIFAR-10", "cifar-10-batches-py", "data_batch_1"]),
    (["train", "resnet20", "--lr", "-1"], ["lr"]),
])
def test_errors_are_one_line_and_exit_code_2(argv, words, capsys):
    code = main(argv)
    _, err = capsys.readouterr()
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("resnet-studio train: error:")
    for w in words:
        assert w in lines[0]


def test_runs_export_unknown_id_is_exit_2(capsys):
    assert main(["runs", "export", "nope"]) == 2
    assert "no run 'nope'" in capsys.readouterr()[1]


def test_train_as_a_real_process(tiny_spec):
    """The installed entry point, in its own process: stdout is exactly one JSON line."""
    proc = subprocess.run(
        [sys.executable, "-m", "resnet_studio", "train", tiny_spec, "--dataset", DATA,
         "--steps", "8", "--batch-size", "32", "--device", "cpu", "--json"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["status"] == "finished"
    assert "step 8/8" in proc.stderr
