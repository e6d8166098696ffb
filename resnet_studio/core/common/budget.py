"""Memory budgets: what a request would need, compared with what the machine has, before anything
is allocated.

A spec with absurd widths, a synthetic set of a billion images or a small weights archive that
inflates to gigabytes would otherwise start allocating and leave the machine swapping (or the
process killed) with no word about why. Each of them is refused up front with one sentence that
names the number and the limit (`BudgetError`, a ValueError: the command line prints it as one
line with exit code 2, the window in the tab that asked).

* `available_memory()` — what may still be allocated: Linux's MemAvailable (capped by a cgroup
  v2 limit in a container), else `os.sysconf`; None where neither says.
* `check_memory(what, need, parts)` — the one refusal, shared by training, classification,
  datasets and weights files.
* `memory_checks(False)` — a context in which the checks pass (`--no-memory-check`: the
  estimate is a rough upper bound and the user may know better). A ContextVar, so a check
  turned off for one command or run stays off only in that thread.
* `check_weights_file(path)` — a .pt/.pth is a zip archive: its members' declared sizes are
  summed (and each one's compression ratio looked at) before torch reads a byte of it.

Imports no torch: cheap enough for the window's first paint.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path

# torch.save stores archive members uncompressed; a member that inflates more than this from
# its compressed size is not weights but a decompression bomb (zeros deflate about 1000:1).
MAX_COMPRESSION_RATIO = 100
RATIO_CHECK_FROM = 1 << 20  # smaller members (the pickle, version files) may compress well
HINT = "turn the memory check off (--no-memory-check) to try anyway"

_CHECKS: ContextVar[bool] = ContextVar("resnet_studio_memory_checks", default=True)


class BudgetError(ValueError):
    """A request that would need more memory than the machine has; the message names both."""


def available_memory() -> int | None:
    """Bytes that may still be allocated without swapping; None when the system does not say."""
    available = _meminfo_available()
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            available = None
    cgroup = _cgroup_room()
    if cgroup is not None:
        available = cgroup if available is None else min(available, cgroup)
    return available


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    """A container's memory limit less what it uses (cgroup v2); None without a limit."""
    base = Path("/sys/fs/cgroup")
    try:
        limit = (base / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int((base / "memory.current").read_text().strip()))
    except (OSError, ValueError):
        return None


def checks_enabled() -> bool:
    return _CHECKS.get()


@contextlib.contextmanager
def memory_checks(enabled: bool) -> Iterator[None]:
    """Within the block (in this thread), memory checks run only if `enabled`."""
    token = _CHECKS.set(bool(enabled))
    try:
        yield
    finally:
        _CHECKS.reset(token)


def size_text(n: float) -> str:
    """Bytes the way the messages say them: 950 bytes, 12.3 MB, 3.2 TB (powers of 1000)."""
    if n < 1000:
        return f"{n:.0f} bytes"
    for unit in ("KB", "MB", "GB", "TB", "PB"):
        n /= 1000
        if n < 1000 or unit == "PB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def parts_text(parts: Mapping[str, int]) -> str:
    """{"parameters": 1.1e12, "activations": 3e9} -> "parameters 1.1 TB, activations 3.0 GB"."""
    return ", ".join(f"{name} {size_text(v)}" for name, v in parts.items() if v)


def check_memory(what: str, need: int, parts: Mapping[str, int] | None = None, *,
                 limit: int | None = None, where: str = "this machine", advice: str = "") -> None:
    """Raise BudgetError if `need` bytes exceed `limit` (default: `available_memory()`).

    `what` starts the sentence ("training resnet20 at batch 64"), `parts` say where the bytes
    go, `advice` what to change ("Use a smaller model or batch"). Passes when checks are off
    or the system does not say how much is available."""
    if not checks_enabled():
        return
    limit = available_memory() if limit is None else limit
    if limit is None or need <= limit:
        return
    detail = f" ({parts_text(parts)})" if parts else ""
    advice = f"{advice}, or {HINT}" if advice else HINT[0].upper() + HINT[1:]
    raise BudgetError(f"{what} needs about {size_text(need)} of memory{detail}; {where} has "
                      f"{size_text(limit)} available. {advice}.")


def check_weights_file(path: str | Path, *, limit: int | None = None) -> None:
    """Refuse a weights file that would inflate beyond `limit` (default: the available memory)
    or that is a decompression bomb, before torch or safetensors reads it.

    A zip archive (torch's .pt/.pth format) counts its members' declared uncompressed sizes; a
    legacy pickle or a .safetensors file its size on disk. OSError propagates (a missing file);
    a damaged archive passes here and fails in the reader with its own message."""
    p = Path(path)
    need, what = p.stat().st_size, "file size"
    if zipfile.is_zipfile(p):
        try:
            with zipfile.ZipFile(p) as archive:
                members = archive.infolist()
        except (zipfile.BadZipFile, ValueError, OSError):
            members = None
        if members is not None:
            need, what = sum(m.file_size for m in members), "declared contents"
            if checks_enabled():
                _check_ratios(p, members)
    check_memory(f"loading {p.name}", need, {what: need}, limit=limit,
                 advice="Check where the file comes from")


def _check_ratios(path: Path, members: list[zipfile.ZipInfo]) -> None:
    for m in members:
        if m.file_size >= RATIO_CHECK_FROM and \
                m.file_size > MAX_COMPRESSION_RATIO * max(m.compress_size, 1):
            raise BudgetError(
                f"refused to load {path.name}: its member {m.filename} claims "
                f"{size_text(m.file_size)} compressed into {size_text(m.compress_size)} "
                f"({m.file_size / max(m.compress_size, 1):,.0f}:1); weights do not compress "
                "like that, so the file is a decompression bomb or damaged")


__all__ = ["HINT", "MAX_COMPRESSION_RATIO", "BudgetError", "available_memory", "check_memory",
           "check_weights_file", "checks_enabled", "memory_checks", "parts_text", "size_text"]
