"""core.common.files: a write replaces a file whole, follows symlinks, streams into pipes and
devices, and a killed writer's temp file is cleaned up later."""

import os
import signal
import stat
import subprocess
import sys
import threading

import pytest

from resnet_studio.core.common.files import (
    remove_stale_temp_files,
    write_bytes_atomic,
    write_text_atomic,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs, devices and kill are POSIX")


def test_a_file_is_replaced_whole_and_keeps_its_permissions(tmp_path):
    path = tmp_path / "out.csv"
    path.write_bytes(b"old\n")
    path.chmod(0o640)
    write_text_atomic(path, "new,é\n")
    assert path.read_bytes() == b"new,\xc3\xa9\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no temp file left


def test_a_new_file_gets_the_umask_permissions_and_its_folders(tmp_path):
    old = os.umask(0o022)
    try:
        write_bytes_atomic(tmp_path / "a" / "b" / "new.bin", b"\x00\x01")
    finally:
        os.umask(old)
    path = tmp_path / "a" / "b" / "new.bin"
    assert path.read_bytes() == b"\x00\x01"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's 0600


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "keep.json"
    path.write_bytes(b'{"v": 1}\n')

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_bytes_atomic(path, b'{"v": 2}\n')
    assert path.read_bytes() == b'{"v": 1}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["keep.json"]


@posix_only
def test_a_symlink_stays_a_link_and_its_target_gets_the_bytes(tmp_path):
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "real.csv"
    target.write_bytes(b"old\n")
    sibling = tmp_path / "data" / "other.csv"
    sibling.write_bytes(b"untouched\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    write_bytes_atomic(link, b"new\n")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == b"new\n" and sibling.read_bytes() == b"untouched\n"
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["other.csv", "real.csv"]


@posix_only
def test_a_fifo_is_streamed_into_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    data = bytes(range(256)) * 4096  # 1 MiB: more than a pipe holds, so it must stream
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_bytes_atomic(fifo, data)
    reader.join(10)
    assert received == [data]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@posix_only
def test_dev_null_stays_a_device():
    before = os.stat("/dev/null")
    write_bytes_atomic("/dev/null", b"discarded")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino


def test_a_folder_is_refused_with_a_clear_message(tmp_path):
    with pytest.raises(IsADirectoryError, match=r"it is a folder, not a file"):
        write_bytes_atomic(tmp_path, b"x")
    assert list(tmp_path.iterdir()) == []


def test_dash_is_standard_output(capsysbinary):
    print("before")
    write_bytes_atomic("-", b"\x89PNG\r\n")
    assert capsysbinary.readouterr().out == b"before\n\x89PNG\r\n"


_KILLED_WRITER = """
import sys, time
from resnet_studio.core.common.files import replacing
with replacing(sys.argv[1]) as tmp:
    tmp.write_bytes(b"half of a new fi")
    print(tmp, flush=True)
    time.sleep(60)
"""


@posix_only
def test_a_killed_writers_temp_file_is_removed_and_a_live_ones_kept(tmp_path):
    run = tmp_path / "runs" / "run-1"
    run.mkdir(parents=True)
    (run / "checkpoint.json").write_bytes(b'{"step": 10}\n')
    writer = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(run / "checkpoint.json")],
                              stdout=subprocess.PIPE, text=True)
    temp = writer.stdout.readline().strip()
    assert os.path.basename(temp).startswith(f".checkpoint.json.{writer.pid}.")
    live = set(remove_stale_temp_files(tmp_path / "runs"))
    assert live == set() and os.path.exists(temp)  # its writer still runs
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    writer.stdout.close()
    mine = run / f".model.safetensors.{os.getpid()}.0123abcd.tmp"
    mine.write_bytes(b"being written")
    unnamed = run / ".model.safetensors.k2j4_x9q.tmp"  # no pid: whose it is cannot be told
    unnamed.write_bytes(b"?")
    assert remove_stale_temp_files(tmp_path / "runs") == [run / os.path.basename(temp)]
    assert sorted(p.name for p in run.iterdir()) == sorted(
        ["checkpoint.json", mine.name, unnamed.name])
    assert (run / "checkpoint.json").read_bytes() == b'{"step": 10}\n'
