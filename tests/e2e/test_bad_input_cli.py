"""Hostile spec and config files at the command line: one line naming the field, exit code 2,
no traceback; a FIFO, a folder or a device is refused at once instead of hanging."""

import json
import os
import subprocess
import sys

import pytest

from resnet_studio.cli import main
from tests.fifo_guard import call_refusing_fifo
from tests.helpers import TINY


def _one_error_line(capsys, command: str) -> str:
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    lines = [line for line in err.splitlines() if line]
    assert len(lines) == 1, err
    prefix = f"resnet-studio {command}: error: "
    assert lines[0].startswith(prefix)
    return lines[0][len(prefix):]


@pytest.mark.parametrize("text, message", [
    (json.dumps({**TINY.to_dict(), "preact": "false"}),
     'spec field \'preact\': expected true or false, got the string "false"'),
    (json.dumps({**TINY.to_dict(), "widths": [True, True, True]}),
     "spec field 'widths': item 1 of the list: expected a whole number, got true"),
    (json.dumps({**TINY.to_dict(), "num_classes": None}),
     "spec field 'num_classes': expected a whole number, got null"),
    ('{"layers": [1e400, 1, 1], "stem": "cifar"}',
     "spec field 'layers': item 1 of the list: expected a whole number, got an infinite number "
     "(too large for a float, like 1e400)"),
    ('{"layers": ' + "[" * 100_000 + "]" * 100_000 + "}",
     "spec: nested 100001 levels deep; at most 32 are allowed"),
    (json.dumps({**TINY.to_dict(), "layers": [1, 1, 10**12]}),
     "layers: each must be at most 1,000"),
])
def test_summary_refuses_a_bad_spec_file(tmp_path, capsys, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    assert main(["summary", str(path)]) == 2
    assert _one_error_line(capsys, "summary") == message


def test_summary_names_every_bad_field_and_the_one_meant(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**TINY.to_dict(), "groups": "1", "prect": True}))
    assert main(["summary", str(path)]) == 2
    line = _one_error_line(capsys, "summary")
    assert line.startswith('spec field \'groups\': expected a whole number, got the string "1"; '
                           "spec: unknown field 'prect' (did you mean 'preact'?); the known "
                           "fields are name, block, layers,")


@pytest.mark.parametrize("config, message", [
    ({"lr": "0.1", "batch_size": True},
     "config field 'batch_size': expected a whole number, got true; "
     "config field 'lr': expected a finite number, got the string \"0.1\""),
    ({"augment": "false"}, "config field 'augment': expected true or false, got the string "
                           '"false"'),
    ({"steps": 8, "learning_rate": 0.1}, "config: unknown field 'learning_rate'; the known "
                                         "fields are dataset, steps,"),
])
def test_train_refuses_a_bad_config_file(tmp_path, capsys, config, message):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    assert main(["train", "resnet20", "--config", str(path)]) == 2
    assert _one_error_line(capsys, "train").startswith(message)


def test_train_refuses_an_infinite_learning_rate(tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text('{"lr": 1e400}')
    assert main(["train", "resnet20", "--config", str(path)]) == 2
    assert _one_error_line(capsys, "train") == (
        "config field 'lr': expected a finite number, got an infinite number (too large for a "
        "float, like 1e400)")
    assert main(["train", "resnet20", "--lr", "inf"]) == 2
    assert _one_error_line(capsys, "train") == "lr: must be a finite number"


@pytest.mark.parametrize("argv, command, what", [
    (["summary", "{fifo}"], "summary", "spec"),
    (["train", "resnet20", "--config", "{fifo}"], "train", "config"),
])
def test_a_fifo_is_refused_at_once(tmp_path, capsys, argv, command, what):
    fifo = tmp_path / "input.json"
    os.mkfifo(fifo)
    argv = [a.replace("{fifo}", str(fifo)) for a in argv]
    assert call_refusing_fifo(lambda: main(argv), fifo) == 2
    assert _one_error_line(capsys, command) == (
        f"the {what} file {fifo} is not a regular file (it is a FIFO)")


def test_a_folder_is_refused(tmp_path, capsys):
    folder = tmp_path / "spec.json"
    folder.mkdir()
    assert main(["summary", str(folder)]) == 2
    assert _one_error_line(capsys, "summary") == (
        f"the spec file {folder} is not a regular file (it is a folder)")
    assert main(["train", "resnet20", "--config", str(folder)]) == 2
    assert _one_error_line(capsys, "train").endswith("is not a regular file (it is a folder)")


def test_a_fifo_spec_in_a_real_process_does_not_hang(tmp_path):
    fifo = tmp_path / "spec.json"
    os.mkfifo(fifo)
    proc = subprocess.run([sys.executable, "-m", "resnet_studio", "summary", str(fifo)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (f"resnet-studio summary: error: the spec file {fifo} is not a "
                           f"regular file (it is a FIFO)\n")
