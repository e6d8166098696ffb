"""The headless twin: `resnet-studio models` and `summary` as a script would use them."""

import json
import subprocess
import sys

import pytest

from resnet_studio.cli import main


def run_cli(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "resnet_studio", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_models_lists_every_preset_with_its_param_count(capsys):
    assert main(["models", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["resnet50"]["params"] == 25_557_032
    assert rows["resnet56"]["params"] == 853_018
    assert rows["plain_resnet56"]["shortcut"] == "none"
    for name in ["resnet18", "resnet152", "resnext101_64x4d", "wide_resnet101_2", "resnet1202",
                 "preact_resnet164", "preact_resnet18", "plain_resnext50_32x4d"]:
        assert name in rows


def test_summary_json_has_totals_layers_and_typed_graph(capsys):
    assert main(["summary", "resnet18", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_params"] == 11_689_512
    assert round(data["total_macs"] / 1e9, 2) == 1.81
    assert data["layers"][-1]["name"] == "fc" and data["layers"][-1]["output_shape"] == [1000]
    kinds = [e["shortcut"] for e in data["graph"]["edges"] if e["kind"] == "shortcut"]
    assert kinds.count("projection") == 3 and kinds.count("identity") == 5


def test_summary_plain_input_and_csv(tmp_path, capsys):
    csv_path = tmp_path / "layers.csv"
    assert main(["summary", "resnet20", "--plain", "--input", "1,28,28", "--csv",
                 str(csv_path)]) == 0
    out = capsys.readouterr().out
    assert "plain_resnet20" in out and "1x28x28" in out
    assert csv_path.read_text().splitlines()[-1].startswith("TOTAL,,10,269434,")


def test_summary_of_a_spec_file(tmp_path, capsys):
    from resnet_studio.core.zoo import get_spec

    path = tmp_path / "mine.json"
    get_spec("resnet32").save(path)
    assert main(["summary", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_params"] == 464_154


@pytest.mark.parametrize("args,message", [
    (["summary", "resnet9"], "unknown model 'resnet9'"),
    (["summary", "resnet18", "--input", "3,8,8"], "too small"),
    (["summary", "resnet18", "--input", "three"], "C,H,W"),
    (["summary", "missing.json"], "No such file"),
])
def test_bad_input_is_one_clear_line_and_exit_code_2(args, message):
    out = run_cli(*args)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_console_script_is_installed():
    import shutil

    exe = shutil.which("resnet-studio") or str(
        __import__("pathlib").Path(sys.executable).with_name("resnet-studio"))
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "resnet-studio" in out.stdout


def test_gui_screenshot_renders_the_loaded_window_and_exits(tmp_path):
    from PySide6.QtGui import QImage

    out = tmp_path / "shot.png"
    result = run_cli("gui", "--model", "resnet20", "--screenshot", str(out), "--size", "1200x800",
                     timeout=180)
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1200, 800)
