"""Writing a file without ever clobbering what the user has: every export, the spec files and
the app's own small files go through `write_bytes_atomic`.

What the path names decides how it is written:

  =====================  ====================================================================
  "-"                    standard output, as bytes (`--csv -`, `--out - | display`)
  a symlink              the file it points to is replaced; the link stays a link
  a FIFO, a device, or   opened and written in place (a named pipe, `--out /dev/null`,
  a path in /dev, /proc  `--out /dev/stdout`): never replaced by a regular file, nor unlinked
  a folder               OSError "... is a folder"
  anything else          a temp file beside it, fsync, `os.replace`: a crash or a full disk
                         leaves the old file or the new one, never half of one. A file that
                         existed keeps its permission bits; a new one gets the umask's.
  =====================  ====================================================================

The temp file is `.<name>.<pid>.<random>.tmp`: a writer killed mid-write leaves it behind, and
`remove_stale_temp_files` deletes those whose process is gone (the commands and the Train tab
call it on the runs folder before they train).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

STDOUT = "-"
_TEMP_NAME = re.compile(r"^\..*\.(\d+)\.[0-9a-f]{8}\.tmp$")


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` as the module doc describes; raises OSError when it cannot."""
    if str(path) == STDOUT:
        _write_stdout(data)
        return
    try:
        mode = os.stat(path).st_mode  # through symlinks, to what the user means
    except FileNotFoundError:
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise IsADirectoryError(f"cannot write {path}: it is a folder, not a file")
    if mode is not None and (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                             or _names_a_descriptor(path)):
        with open(path, "wb") as f:  # a reader or a device takes the bytes as they come
            f.write(data)
        return
    if mode is not None and not stat.S_ISREG(mode):
        raise OSError(f"cannot write {path}: it is neither a file nor a device")
    with replacing(os.path.realpath(path)) as tmp, open(tmp, "wb") as f:
        f.write(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A new, empty temp file beside `path` for the block to write (by name, e.g. for
    safetensors' `save_file`); when the block ends without an error it is synced to disk and
    replaces `path`, otherwise it is removed. `path` must be a regular file or not exist yet."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temp_file(path)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))  # keep the file's permissions
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def remove_stale_temp_files(folder: str | Path) -> list[Path]:
    """Delete the temp files of writers that were killed, in `folder` and the folders directly
    in it (the runs folder: one folder per run). A temp file whose writer is still running, or
    one without a pid in its name, is left alone. Returns what was deleted."""
    folder = Path(folder)
    removed = []
    for p in [*folder.glob(".*.tmp"), *folder.glob("*/.*.tmp")]:
        m = _TEMP_NAME.match(p.name)
        if m is None or _process_alive(int(m.group(1))):
            continue
        with contextlib.suppress(OSError):  # gone already, or a read-only folder
            p.unlink()
            removed.append(p)
    return removed


def _new_temp_file(path: Path) -> Path:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) \
        | getattr(os, "O_BINARY", 0)
    stem = path.name[:120]  # room for the pid and the random part in a 255-byte name
    for _ in range(100):
        tmp = path.parent / f".{stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(tmp, flags, 0o666))  # 0o666 less the umask, as open() makes files
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"cannot create a temporary file beside {path}")


def _names_a_descriptor(path: str | Path) -> bool:
    """/dev/stdout, /dev/fd/3, /proc/self/fd/1: an open file of this process, which the shell
    may have pointed at a regular file. Replacing that file would leave the shell writing to
    the old one; it is written in place, as `cat > /dev/stdout` would."""
    return os.name == "posix" and os.path.abspath(path).startswith(("/dev/", "/proc/"))


def _write_stdout(data: bytes) -> None:
    sys.stdout.flush()  # what was printed before comes first
    out = getattr(sys.stdout, "buffer", None)
    if out is None:  # a text-only stream (an embedding host): the bytes are UTF-8 text
        sys.stdout.write(data.decode("utf-8", errors="replace"))
    else:
        out.write(data)
        out.flush()


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; Windows cannot open a folder)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True  # os.kill(pid, 0) would terminate the process on Windows: keep the file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: another user's process that is alive
        return True
    return True
