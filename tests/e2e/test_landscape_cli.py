"""`resnet-studio landscape`: the figure, the grid as CSV, and one-line errors."""

import csv
import math

import pytest

from resnet_studio.app.landscape import LandscapeRequest, LandscapeSettings, compute_landscapes
from resnet_studio.cli import main
from tests.landscape_fixtures import PAIR_STEPS


def test_landscape_writes_the_figure_and_the_grid(trained_pair, tmp_path, capsys):
    run = str(trained_pair["resnet20"])
    fig, grid = tmp_path / "landscape.png", tmp_path / "grid.csv"
    code = main(["landscape", run, "--grid", "11", "--batches", "2", "--line-from-init",
                 "--out", str(fig), "--csv", str(grid)])
    assert code == 0
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = list(csv.DictReader(grid.open()))
    assert len(rows) == 11 * 11
    assert all(math.isfinite(float(r["loss"])) for r in rows)
    origin = next(r for r in rows if float(r["a"]) == 0 and float(r["b"]) == 0)
    settings = LandscapeSettings(grid=11, batches=2, line_from_init=True)
    expected = compute_landscapes(LandscapeRequest((run,), settings)).landscapes[0].origin_loss
    assert float(origin["loss"]) == pytest.approx(expected, rel=1e-8)
    assert f"resnet20 (step {PAIR_STEPS}): loss at the trained weights" in capsys.readouterr().out


def test_a_shipped_trained_net_is_a_run_of_the_command(tmp_path, capsys):
    grid = tmp_path / "grid.csv"
    assert main(["landscape", "shipped:plain20", "--grid", "3", "--batches", "1",
                 "--csv", str(grid)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("plain_resnet20 (step ") and "loss at the trained weights" in out
    assert main(["landscape", "shipped:resnet110"]) == 2
    assert "no shipped net 'resnet110'; choose one of resnet20, plain20" in capsys.readouterr().err


def test_landscape_errors_are_one_line(tmp_path, capsys):
    assert main(["landscape", str(tmp_path), "--grid", "10"]) == 2
    assert capsys.readouterr().err.strip() == (
        "resnet-studio landscape: error: the grid must be an odd number of points from 3 to "
        "101 (the trained weights sit at its centre), not 10")
    assert main(["landscape", str(tmp_path)]) == 2
    assert "no checkpoint at" in capsys.readouterr().err


def test_the_api_gives_the_commands_grid(trained_pair, tmp_path):
    from resnet_studio import api

    runs = [str(trained_pair["resnet20"]), str(trained_pair["plain20"])]
    grid = tmp_path / "grid.csv"
    assert main(["landscape", *runs, "--grid", "5", "--batches", "1", "--csv", str(grid)]) == 0
    rows = list(csv.DictReader(grid.open()))
    result = api.landscape(*runs, grid=5, batches=1)
    assert [r["label"] for r in result.runs] == [ls.label for ls in result.report.landscapes]
    for i, run in enumerate(result.runs):
        # the CSV: run by run, rows along the second direction, columns along the first
        losses = [float(r["loss"]) for r in rows[25 * i:25 * (i + 1)]]
        assert losses == pytest.approx(run["surface"].ravel().tolist(), rel=1e-6)
        assert run["origin_loss"] == pytest.approx(float(run["surface"][2, 2]))
    assert result.to_dict()["settings"]["grid"] == 5
