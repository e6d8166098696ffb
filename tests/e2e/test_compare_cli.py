"""`resnet-studio compare`: what a script reads from it, and the one line a mistake gets."""

import csv
import json

import pytest

from resnet_studio.cli import main


def test_compare_prints_the_table_and_every_differing_block(capsys):
    assert main(["compare", "resnet34", "plain-34"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("A: resnet34   B: plain_resnet34   (input 3×224×224 for both")
    assert lines[1] == "16 shortcuts differ (3 projections)"
    total = next(line for line in lines if line.startswith("total"))
    assert "21.8M" in total and "21.6M" in total and "−174K (−0.8%)" in total
    layer2 = next(line for line in lines if line.startswith("layer2"))
    assert layer2.endswith("4 shortcuts removed (1 projection)")
    assert "  layer4.0  shortcut removed (projection)" in lines
    assert len([line for line in lines if "shortcut removed" in line]) == 16


def test_compare_json_and_csv_carry_the_exact_numbers(tmp_path, capsys):
    csv_path, json_path = tmp_path / "cmp.csv", tmp_path / "cmp.json"
    assert main(["compare", "resnet50", "resnext50_32x4d", "--csv", str(csv_path),
                 "--json", str(json_path)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {csv_path}" in out and f"wrote {json_path}" in out
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert data["a"]["model"] == "resnet50" and data["b"]["model"] == "resnext50_32x4d"
    assert data["totals"]["params"] == {"a": 25_557_032, "b": 25_028_904, "delta": -528_128}
    assert data["differences"]["groups"] == 16 and data["differences"]["shortcut"] == 0
    assert data["blocks"][0]["differs_in"] == ["groups", "width"]
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert [r["part"] for r in rows] == ["stem", "layer1", "layer2", "layer3", "layer4", "head",
                                         "TOTAL"]
    assert rows[-1]["params_delta"] == "-528128" and rows[1]["differing_blocks"] == "3"


def test_compare_json_on_standard_output_and_the_plain_twin_by_default(capsys):
    assert main(["compare", "resnet20", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["b"]["model"] == "plain_resnet20"
    assert data["differences"]["shortcut"] == 9 and data["differences"]["projections"] == 0
    assert data["totals"]["params"]["delta"] == 0  # option A shortcuts have no parameters


@pytest.mark.parametrize("args,message", [
    (["compare", "resnet18", "resnet20", "--input", "3,16,16"],
     "cannot compare resnet18 with resnet20 at 3×16×16: resnet18's input 16x16 is too small"),
    (["compare", "resnet18", "GRAY"], "cannot compare resnet18 with gray20: resnet18 takes "
                                      "3-channel images, gray20 1-channel"),
    (["compare", "plain-20"], "plain_resnet20 has no shortcuts"),
    (["compare", "resnet18", "resnet9"], "unknown model 'resnet9'"),
    (["compare", "resnet18", "--csv", "-", "--json"], "choose one"),
])
def test_compare_mistakes_exit_2_with_one_line(args, message, tmp_path, capsys):
    from dataclasses import replace

    from resnet_studio.core.zoo import get_spec

    gray = tmp_path / "gray20.json"
    replace(get_spec("resnet20"), in_channels=1, name="gray20").save(gray)
    args = [str(gray) if a == "GRAY" else a for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("resnet-studio compare: error: ")
    assert message in err


def test_gui_compare_screenshot_waits_for_the_comparison(tmp_path):
    import subprocess
    import sys

    from PySide6.QtGui import QImage

    out = tmp_path / "compare.png"
    result = subprocess.run([sys.executable, "-m", "resnet_studio", "gui", "--model", "resnet20",
                             "--compare", "plain", "--screenshot", str(out), "--size",
                             "1280x720"], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert QImage(str(out)).size().toTuple() == (1280, 720)
