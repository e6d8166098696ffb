"""Every command fails in one line: exit code 2 and `error:` for what the user can fix, exit
code 1 and a crash log for a bug, and never a traceback."""

import re
import sqlite3

import pytest
from PIL import Image

from resnet_studio.cli import main
from resnet_studio.core.common.paths import data_dir


def one_line(capsys) -> str:
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "red.png"
    Image.new("RGB", (40, 40), (200, 10, 10)).save(path)
    return str(path)


def test_a_locked_run_database_is_one_line(monkeypatch, capsys):
    def locked(self, *args, **kwargs):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr("resnet_studio.app.runs.RunHistory.rows", locked)
    assert main(["runs"]) == 2
    assert one_line(capsys) == ("resnet-studio runs: error: the run database failed: database "
                                "is locked (another ResNet Studio may be writing to it; try "
                                "again)")


def test_a_message_of_several_lines_is_printed_as_one(monkeypatch, capsys):
    def two_lines(self, *args, **kwargs):
        raise ValueError("the spec has 2 errors:\n  layers: too deep\n  widths: too wide")

    monkeypatch.setattr("resnet_studio.app.runs.RunHistory.rows", two_lines)
    assert main(["runs"]) == 2
    assert one_line(capsys) == ("resnet-studio runs: error: the spec has 2 errors: layers: too "
                                "deep widths: too wide")


def test_a_run_database_that_is_not_one_is_kept_aside_in_one_line(capsys):
    garbage = b"these are not the runs you are looking for" * 50
    (data_dir() / "runs.sqlite").write_bytes(garbage)
    assert main(["runs"]) == 0  # a fresh store is listed (empty) once the old one is safe
    line = one_line(capsys)
    backups = list(data_dir().glob("runs.sqlite.damaged-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == garbage
    assert "file is not a database" in line and str(backups[0]) in line


def test_a_spec_nested_too_deeply_is_one_line(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text('{"layers": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert main(["summary", str(deep)]) == 2
    line = one_line(capsys)
    assert line == ("resnet-studio summary: error: spec: nested 100001 levels deep; at most 32 "
                    "are allowed")


def test_deeply_nested_run_details_are_one_line(monkeypatch, capsys):
    def nested(self, ref):
        import json

        return json.loads("[" * 100_000 + "]" * 100_000)

    monkeypatch.setattr("resnet_studio.app.runs.RunHistory.details", nested)
    assert main(["runs", "show", "x"]) == 2
    assert one_line(capsys).startswith("resnet-studio runs: error: the input is nested too "
                                       "deeply to read (maximum recursion depth exceeded")


@pytest.mark.parametrize("error, words", [
    (MemoryError("Unable to allocate 7.45 GiB for an array with shape (1000000000,) and data "
                 "type float64"), "not enough memory: could not allocate 7.45 GiB"),
    (RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate "
                  "1610612736 bytes. Error code 12 (Cannot allocate memory)"),
     "not enough memory: could not allocate 1.50 GiB"),
    (MemoryError(), "not enough memory"),
])
def test_out_of_memory_says_how_much_and_what_to_try(error, words, monkeypatch, capsys):
    def too_big(*args, **kwargs):
        raise error

    monkeypatch.setattr("resnet_studio.app.summary.inspect_model", too_big)
    assert main(["summary", "resnet18"]) == 2
    assert one_line(capsys) == (f"resnet-studio summary: error: {words}; try a smaller batch "
                                "size or a smaller input")


@pytest.mark.parametrize("command, argv", [
    ("summary", ["summary", "resnet18"]),
    ("runs", ["runs", "--json"]),
])
def test_a_bug_exits_1_with_its_traceback_in_a_crash_log(command, argv, monkeypatch, capsys):
    def broken(args):
        return len(argv) / 0

    monkeypatch.setattr(f"resnet_studio.commands.{command}.run", broken)
    assert main(argv) == 1
    line = one_line(capsys)
    m = re.fullmatch(rf"resnet-studio {command}: internal error: ZeroDivisionError: division by "
                     r"zero \(details in (.+); please report it\)", line)
    assert m, line
    (log,) = (data_dir() / "logs").iterdir()
    assert m[1] == str(log) and re.fullmatch(r"crash-\d{8}-\d{6}-\d+\.log", log.name)
    body = log.read_text()
    assert "Traceback (most recent call last)" in body and "return len(argv) / 0" in body


def test_a_text_file_as_weights_is_one_line(tmp_path, image, capsys):
    notes = tmp_path / "weights.pth"
    notes.write_text("hello world\nthese are not weights\n")
    assert main(["classify", image, "--model", "resnet20", "--weights", str(notes)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == ("resnet-studio classify: error: weights.pth is not a "
                                    "PyTorch weights file: it is a text file ('hello world'...)")


@pytest.mark.parametrize("content, words", [
    (bytes(range(7, 107)), "weights.pth is not a PyTorch weights file: it is neither a zip "
                           "archive nor a pickle"),
    (b"", "weights.pth is empty, not a PyTorch weights file"),
    (b"PK\x03\x04 a zip that ends here", "cannot read weights.pth as PyTorch weights"),
])
def test_a_file_that_is_not_weights_is_one_line(content, words, tmp_path, image, capsys):
    (tmp_path / "weights.pth").write_bytes(content)
    assert main(["classify", image, "--model", "resnet20",
                 "--weights", str(tmp_path / "weights.pth")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith(f"resnet-studio classify: error: {words}")


@pytest.mark.parametrize("flags, message", [
    (["--method", "occlusion", "--window", "0"],
     "occlusion window (--window) must be 1 or more, not 0"),
    (["--method", "occlusion", "--stride", "-4"],
     "occlusion stride (--stride) must be 1 or more, not -4"),
    (["--steps", "0"], "integration steps (--steps) must be 1 or more, not 0"),
    (["--method", "saliency", "--noise-tunnel", "smoothgrad", "--stdevs", "-0.5"],
     "noise standard deviation (--stdevs) must be 0 or more, not -0.5"),
])
def test_attribution_parameters_out_of_range_are_one_line(flags, message, image, capsys):
    assert main(["attribute", image, "--model", "resnet20", "--weights", "random",
                 *flags]) == 2
    assert one_line(capsys) == f"resnet-studio attribute: error: {message}"
