"""Downloads for the built-in datasets: to a temporary file, checked against an MD5, renamed
into place; archives extracted without letting a member escape; and the message that says what
to put where by hand when a download is not possible."""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

from resnet_studio.core.common.progress import ProgressFn
from resnet_studio.core.data.dataset import DatasetUnavailable


def fetch_url(url: str, dest: Path, progress: ProgressFn | None = None, label: str = "") -> None:
    """Download `url` to `dest` (via a temp file), reporting bytes. Raises OSError offline."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    req = urllib.request.Request(url, headers={"User-Agent": "resnet-studio"})
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp, os.fdopen(fd, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total, f"downloading {label or dest.name}")
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def md5_of(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_checked(urls: list[str], dest: Path, md5: str | None,
                      progress: ProgressFn | None) -> None:
    errors = []
    for url in urls:
        try:
            fetch_url(url, dest, progress, dest.name)
        except (OSError, ValueError) as e:  # URLError, timeouts, no space left
            errors.append(f"{url}: {e}")
            continue
        if md5 and md5_of(dest) != md5:
            dest.unlink(missing_ok=True)
            errors.append(f"{url}: checksum mismatch")
            continue
        return
    raise OSError("; ".join(errors) or "no URL to download from")


def extract_tar(archive: Path, dest: Path) -> None:
    """Extract without letting a member escape `dest` (absolute paths, .., links)."""
    with tarfile.open(archive, "r:*") as tar:
        try:
            tar.extractall(dest, filter="data")
        except TypeError:  # Python without tarfile filters (3.10 before 3.10.12)
            base = dest.resolve()
            for m in tar.getmembers():
                target = (dest / m.name).resolve()
                if not (m.isfile() or m.isdir()) or base not in (target, *target.parents):
                    raise tarfile.TarError(f"unsafe member {m.name!r} in {archive.name}") \
                        from None
            tar.extractall(dest)


def unavailable(title: str, reason: str, how: str) -> DatasetUnavailable:
    return DatasetUnavailable(
        f"{title} is not on this computer and could not be downloaded ({reason}). {how}")


def fetch_missing(title: str, missing: Callable[[], list[str]], fetch: Callable[[], None], *,
                  download: bool, how: Callable[[list[str]], str], incomplete: str) -> None:
    """If `missing()` names files, run `fetch()` (when downloads are allowed); raise
    DatasetUnavailable if files are still missing, with why and `how(missing)` to fix it by
    hand. `incomplete`: the reason when the download went through but files are missing."""
    if not missing():
        return
    reason = "downloads are off"
    if download:
        try:
            fetch()
            reason = ""
        except (OSError, tarfile.TarError) as e:  # offline, timeouts, no space, bad archive
            reason = str(e) or type(e).__name__
    still = missing()
    if still:
        raise unavailable(title, reason or incomplete, how(still))


__all__ = ["download_checked", "extract_tar", "fetch_missing", "fetch_url", "md5_of", "unavailable"]
