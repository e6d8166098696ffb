"""app.errors: the one place that tells a user's failure from a bug, and what each one says."""

import json
import pickle
import re
import sqlite3
import stat
import zipfile
from pathlib import Path

import pytest

from resnet_studio.app.errors import describe_error, describe_failure, is_expected
from resnet_studio.core.common.paths import data_dir


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as e:  # noqa: BLE001 - the test wants it with its traceback
        return e


def _safetensors_error() -> BaseException:
    from safetensors import safe_open

    try:
        safe_open(__file__, framework="np")
    except Exception as e:  # noqa: BLE001 - SafetensorError, whatever module exports it
        return e
    raise AssertionError("a Python file opened as safetensors")


def _json_error() -> BaseException:
    try:
        json.loads("[" * 100_000)
    except RecursionError as e:
        return e
    raise AssertionError("100,000 nested objects decoded")


@pytest.mark.parametrize("make, message", [
    (lambda: sqlite3.OperationalError("database is locked"),
     "the run database failed: database is locked (another ResNet Studio may be writing to "
     "it; try again)"),
    (lambda: sqlite3.DatabaseError("file is not a database"),
     "the run database failed: file is not a database"),
    (_json_error, "the input is nested too deeply to read (maximum recursion depth exceeded "
                  "while decoding a JSON array from a unicode string)"),
    (lambda: json.JSONDecodeError("Expecting value", "x", 0),
     "not valid JSON: Expecting value: line 1 column 1 (char 0)"),
    (lambda: MemoryError(), "not enough memory; try a smaller batch size or a smaller input"),
    (lambda: MemoryError("Unable to allocate 7.45 GiB for an array with shape (1000000000,) and "
                         "data type float64"),
     "not enough memory: could not allocate 7.45 GiB; try a smaller batch size or a smaller "
     "input"),
    (lambda: RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: "
                          "can't allocate memory: you tried to allocate 8589934592 bytes. "
                          "Error code 12 (Cannot allocate memory)"),
     "not enough memory: could not allocate 8.00 GiB; try a smaller batch size or a smaller "
     "input"),
    (lambda: RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.15 GiB "
                          "total capacity)"),
     "not enough GPU memory: could not allocate 2.00 GiB; try a smaller batch size or a "
     "smaller input"),
    (lambda: pickle.UnpicklingError("invalid load key, 'h'."),
     "not a PyTorch weights file (invalid load key, 'h'.)"),
    (lambda: zipfile.BadZipFile("File is not a zip file"),
     "not a readable zip archive (File is not a zip file)"),
    (_safetensors_error, None),
    (lambda: KeyError("no run 'x'"), "no run 'x'"),
])
def test_expected_failures_are_one_sentence_and_write_no_log(make, message):
    exc = _raised(make())
    assert is_expected(exc)
    text = describe_failure(exc)
    if message is None:  # safetensors' own wording varies between releases
        assert text.startswith("not a readable safetensors file (")
    else:
        assert text == message
    assert text == describe_error(exc)
    assert not (data_dir() / "logs").exists()


def test_a_bug_is_logged_with_its_traceback_and_the_sentence_says_where():
    def compute():
        return 1 / 0

    try:
        compute()
    except ZeroDivisionError as e:
        exc = e
    assert not is_expected(exc)
    assert not is_expected(_raised(RuntimeError("shape '[2, 3]' is invalid for input of size 7")))
    text = describe_failure(exc)
    m = re.fullmatch(r"internal error: ZeroDivisionError: division by zero "
                     r"\(details in (.+); please report it\)", text)
    assert m, text
    (log,) = (data_dir() / "logs").iterdir()
    assert m[1] == str(log)
    assert re.fullmatch(r"crash-\d{8}-\d{6}-\d+\.log", log.name)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600  # paths and arguments: the user's alone
    body = log.read_text()
    assert "Traceback (most recent call last)" in body and "return 1 / 0" in body
    assert body.rstrip().endswith("ZeroDivisionError: division by zero")
    describe_failure(exc)  # a second one in the same second gets its own file
    assert len(list((data_dir() / "logs").iterdir())) == 2


def test_a_long_bug_message_is_cut_in_the_sentence_but_whole_in_the_log():
    exc = _raised(TypeError("x" * 1000))
    text = describe_failure(exc)
    assert text.startswith("internal error: TypeError: " + "x" * 289 + "… (details in ")
    log = Path(re.search(r"details in (.+); please", text)[1])
    assert "x" * 1000 in log.read_text()


def test_the_log_goes_to_the_temp_folder_when_the_data_folder_cannot_be_made(
        tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"not a folder")
    monkeypatch.setenv("RESNET_STUDIO_HOME", str(blocker / "home"))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    text = describe_failure(_raised(AssertionError("unreachable")))
    (log,) = (tmp_path / "tmp").iterdir()
    assert log.name.startswith("resnet-studio-crash-")
    assert f"(details in {log}; please report it)" in text
    assert blocker.read_bytes() == b"not a folder"
