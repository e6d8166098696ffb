"""What a command's output path names is written as the user means it: a symlink's target, a
named pipe, a device, standard output ("-"); a folder is refused. The files around it keep
their bytes."""

import os
import stat
import subprocess
import sys
import threading

import pytest

from resnet_studio.app.summary import inspect_model, layers_csv
from resnet_studio.cli import main
from resnet_studio.core.zoo import get_spec

posix_only = pytest.mark.skipif(os.name != "posix", reason="symlinks and FIFOs")


@pytest.fixture(scope="module")
def resnet20_csv() -> bytes:
    return layers_csv(inspect_model(get_spec("resnet20"))).encode()


def _only_line(err: str) -> str:
    assert "Traceback" not in err
    (line,) = [x for x in err.splitlines() if x.strip()]
    return line


@posix_only
def test_summary_csv_through_a_symlink_replaces_its_target(tmp_path, resnet20_csv):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "layers.csv").write_bytes(b"my old table\n")
    (folder / "notes.txt").write_bytes(b"keep me\n")
    link = tmp_path / "link.csv"
    link.symlink_to(folder / "layers.csv")
    assert main(["summary", "resnet20", "--csv", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == str(folder / "layers.csv")
    assert (folder / "layers.csv").read_bytes() == resnet20_csv
    assert (folder / "notes.txt").read_bytes() == b"keep me\n"
    assert sorted(p.name for p in folder.iterdir()) == ["layers.csv", "notes.txt"]


@posix_only
def test_summary_csv_into_a_named_pipe_streams(tmp_path, resnet20_csv):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    assert main(["summary", "resnet20", "--csv", str(fifo)]) == 0
    reader.join(10)
    assert received == [resnet20_csv]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@posix_only
def test_summary_csv_to_dev_null_leaves_the_device(capsys):
    before = os.stat("/dev/null")
    assert main(["summary", "resnet20", "--csv", "/dev/null"]) == 0
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino,
                                                                             before.st_rdev)


def test_summary_csv_dash_prints_only_the_csv(capsysbinary, resnet20_csv):
    assert main(["summary", "resnet20", "--csv", "-"]) == 0
    assert capsysbinary.readouterr().out == resnet20_csv


def test_a_folder_as_the_output_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "inside.txt").write_bytes(b"inside\n")
    assert main(["summary", "resnet20", "--csv", str(tmp_path)]) == 2
    assert _only_line(capsys.readouterr().err) == (
        f"resnet-studio summary: error: cannot write {tmp_path}: it is a folder, not a file")
    assert [p.name for p in tmp_path.iterdir()] == ["inside.txt"]
    assert (tmp_path / "inside.txt").read_bytes() == b"inside\n"


@pytest.mark.parametrize("argv", [
    ["summary", "resnet20", "--csv", "-", "--json"],
    ["features", "x.png", "--model", "resnet20", "--layer", "layer1", "--out", "-", "--json"],
    ["attribute", "x.png", "--model", "resnet20", "--out", "-", "--npy", "-"],
])
def test_two_outputs_on_standard_output_are_refused(argv, capsys):
    assert main(argv) == 2
    line = _only_line(capsys.readouterr().err)
    assert "print to standard output; choose one" in line


def test_features_png_to_standard_output(tmp_path):
    from PIL import Image

    image = tmp_path / "red.png"
    Image.new("RGB", (40, 40), (200, 10, 10)).save(image)
    proc = subprocess.run([sys.executable, "-m", "resnet_studio", "features", str(image),
                           "--model", "resnet20", "--weights", "random", "--layer", "layer1",
                           "--out", "-"], capture_output=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"\x89PNG\r\n\x1a\n") and proc.stdout.endswith(b"IEND\xaeB`\x82")
    assert proc.stderr.decode().startswith("wrote standard output: layer1 of resnet20")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["red.png"]
