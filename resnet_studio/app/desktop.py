"""The menu entry for the user: a desktop entry, the icon and an AppStream metainfo file, copied
from the package's assets into the XDG data folder (`$XDG_DATA_HOME`, else ~/.local/share):

    applications/io.github.resnetstudio.ResNetStudio.desktop
    icons/hicolor/scalable/apps/io.github.resnetstudio.ResNetStudio.svg
    metainfo/io.github.resnetstudio.ResNetStudio.metainfo.xml

The installed entry starts this installation (`<this python> -m resnet_studio`), so a virtual
env need not be on PATH. `uninstall_desktop` removes exactly those three files. Files are
written through `core.common.files` (atomically; a symlink's target is replaced).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from resnet_studio.core.common.files import write_bytes_atomic, write_text_atomic

APP_ID = "io.github.resnetstudio.ResNetStudio"
DESKTOP_FILE = f"{APP_ID}.desktop"
ICON_FILE = f"{APP_ID}.svg"
METAINFO_FILE = f"{APP_ID}.metainfo.xml"
# desktop entry Exec: arguments with these characters are double-quoted (and \ " ` $ escaped)
_RESERVED = set(' \t\n"\'\\><~|&;$*?#()`')


@dataclass(frozen=True)
class DesktopFiles:
    """Where the three files go for the user."""

    entry: Path
    icon: Path
    metainfo: Path

    @classmethod
    def under(cls, data_home: str | Path | None = None) -> DesktopFiles:
        """In `data_home`; None: $XDG_DATA_HOME, else ~/.local/share."""
        home = Path(data_home or os.environ.get("XDG_DATA_HOME") or
                    Path.home() / ".local" / "share")
        return cls(entry=home / "applications" / DESKTOP_FILE,
                   icon=home / "icons" / "hicolor" / "scalable" / "apps" / ICON_FILE,
                   metainfo=home / "metainfo" / METAINFO_FILE)

    def all(self) -> tuple[Path, Path, Path]:
        return (self.entry, self.icon, self.metainfo)


def asset(name: str) -> bytes:
    """A file shipped in resnet_studio/assets/ (in the wheel too)."""
    return resources.files("resnet_studio").joinpath("assets", name).read_bytes()


def exec_line(argv: list[str]) -> str:
    """`argv` as a desktop entry's Exec value (quoted as the Desktop Entry spec asks)."""
    def quote(arg: str) -> str:
        if not arg or _RESERVED & set(arg):
            return '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
        return arg
    return " ".join(quote(a) for a in argv).replace("%", "%%")


def desktop_entry(python: str | None = None) -> str:
    """The shipped entry with Exec starting this installation's interpreter."""
    command = exec_line([python or sys.executable, "-m", "resnet_studio"])
    lines = asset(DESKTOP_FILE).decode("utf-8").splitlines()
    return "\n".join(f"Exec={command}" if line.startswith("Exec=") else line
                     for line in lines) + "\n"


def install_desktop(data_home: str | Path | None = None) -> DesktopFiles:
    """Write the three files (replacing older ones); returns where they went. OSError when a
    folder cannot be written."""
    files = DesktopFiles.under(data_home)
    write_text_atomic(files.entry, desktop_entry())
    write_bytes_atomic(files.icon, asset("icon.svg"))
    write_bytes_atomic(files.metainfo, asset(METAINFO_FILE))
    return files


def uninstall_desktop(data_home: str | Path | None = None) -> list[Path]:
    """Remove the three files where present (nothing else); returns those removed."""
    removed = []
    for path in DesktopFiles.under(data_home).all():
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(path)
    return removed


__all__ = ["APP_ID", "DESKTOP_FILE", "ICON_FILE", "METAINFO_FILE", "DesktopFiles", "asset",
           "desktop_entry", "exec_line", "install_desktop", "uninstall_desktop"]
