"""The one place that decides what a failure means to the user: where the app layer meets the
front-ends.

`describe_failure(exc)` is what a front-end says when a command or a job fails:
- an expected failure is one sentence saying what went wrong: the app's own user errors
  (ValueError, OSError, KeyError: a bad model name, a missing file, an impossible spec) and
  what a damaged or hostile input or a small machine raises (a locked or damaged run
  database, a file that is not safetensors / PyTorch / JSON, input nested too deeply to read,
  not enough memory);
- anything else is a bug: its traceback goes to a crash log in the data folder
  (`logs/crash-<UTC time>-<pid>.log`, or the temp folder if that cannot be written) and the
  sentence is `internal error: <Type>: <message> (details in <log>; please report it)`.
`is_expected` tells the two apart (the command line exits with 2 for the first, 1 for the
second); `describe_error` is the sentence alone, without writing a log.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import pickle
import platform
import re
import sqlite3
import sys
import tempfile
import traceback
import zipfile
from pathlib import Path

from resnet_studio.core.common.paths import data_dir
from resnet_studio.core.common.progress import Cancelled

EXPECTED = (KeyError, ValueError, OSError)  # the user errors the app raises itself
# ... and what a damaged or hostile file, a small machine or the user's Cancel raise
_ALSO_EXPECTED = (sqlite3.Error, RecursionError, MemoryError, pickle.UnpicklingError,
                  zipfile.BadZipFile, Cancelled)
# torch reports a failed allocation as a RuntimeError (torch.OutOfMemoryError on a GPU)
_OUT_OF_MEMORY = re.compile(r"out of memory|can't allocate memory|unable to allocate", re.I)
_ALLOCATION = re.compile(r"allocate (\d+(?:\.\d+)?) ?(bytes|[KMGT]i?B)\b", re.I)
_BUG_MESSAGE_CHARS = 300  # the whole message is in the log


def is_expected(exc: BaseException) -> bool:
    """A failure the user can act on (one line, exit code 2) rather than a bug."""
    return isinstance(exc, EXPECTED + _ALSO_EXPECTED) or _is_out_of_memory(exc) \
        or _is_safetensors_error(exc)


def describe_error(exc: BaseException) -> str:
    """The sentence for `exc` (expected: its message; a bug: `<Type>: <message>`)."""
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    if isinstance(exc, Cancelled):
        return "cancelled"
    if isinstance(exc, MemoryError) or _is_out_of_memory(exc):
        return _memory_message(exc)
    if isinstance(exc, RecursionError):
        return f"the input is nested too deeply to read ({text})"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {text}"
    if isinstance(exc, sqlite3.Error):
        return f"the run database failed: {text}" + (
            " (another ResNet Studio may be writing to it; try again)" if "locked" in text
            else "")
    if isinstance(exc, pickle.UnpicklingError):
        return f"not a PyTorch weights file ({text})"
    if isinstance(exc, zipfile.BadZipFile):
        return f"not a readable zip archive ({text})"
    if _is_safetensors_error(exc):
        return f"not a readable safetensors file ({text})"
    if isinstance(exc, EXPECTED) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def describe_failure(exc: BaseException) -> str:
    """`describe_error` for an expected failure; for a bug, the crash log is written first and
    the sentence says where it is."""
    if is_expected(exc):
        return describe_error(exc)
    text = describe_error(exc)
    if len(text) > _BUG_MESSAGE_CHARS:
        text = text[:_BUG_MESSAGE_CHARS] + "…"
    log = write_crash_log(exc)
    where = f"details in {log}" if log is not None else "no crash log could be written"
    return f"internal error: {text} ({where}; please report it)"


def write_crash_log(exc: BaseException) -> Path | None:
    """The traceback of `exc` in a new file only this user can read; None if no folder took
    it."""
    from resnet_studio import __version__

    now = datetime.datetime.now(datetime.timezone.utc)
    name = f"crash-{now:%Y%m%d-%H%M%S}-{os.getpid()}"
    text = (f"resnet-studio {__version__}, {now:%Y-%m-%d %H:%M:%S} UTC\n"
            f"command line: {' '.join(sys.argv)}\n"
            f"python {sys.version.split()[0]} on {platform.platform()}\n\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    for folder, prefix in _crash_log_folders():
        try:
            return _write_new_file(folder, prefix + name, text)
        except OSError:
            continue
    return None


def _crash_log_folders() -> list[tuple[Path, str]]:
    folders = []
    # the data folder may not be makeable (a file in its place, a read-only disk)
    with contextlib.suppress(OSError):
        folders.append((data_dir() / "logs", ""))
    folders.append((Path(tempfile.gettempdir()), "resnet-studio-"))
    return folders


def _write_new_file(folder: Path, stem: str, text: str) -> Path:
    """A file that did not exist (never through a symlink another user planted)."""
    folder.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for n in range(1, 100):
        path = folder / (f"{stem}.log" if n == 1 else f"{stem}-{n}.log")
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            continue  # a second failure in the same second
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return path
    raise FileExistsError(f"too many crash logs named {stem} in {folder}")


def _is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, RuntimeError) and bool(_OUT_OF_MEMORY.search(str(exc)))


def _is_safetensors_error(exc: BaseException) -> bool:
    # by name: importing safetensors here would load it in every process that reports errors
    return type(exc).__name__ == "SafetensorError"


def _memory_message(exc: BaseException) -> str:
    text = str(exc)
    where = "GPU memory" if re.search(r"CUDA|MPS|GPU", text) else "memory"
    m = _ALLOCATION.search(text)
    if m is None:
        what = f"not enough {where}"
    elif m.group(2).lower() == "bytes":
        what = f"not enough {where}: could not allocate {_size(float(m.group(1)))}"
    else:
        what = f"not enough {where}: could not allocate {m.group(1)} {m.group(2)}"
    return f"{what}; try a smaller batch size or a smaller input"


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} TiB"
