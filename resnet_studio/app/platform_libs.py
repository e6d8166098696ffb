"""Which system libraries Qt's xcb platform plugin lacks, asked before Qt loads it.

On a minimal Linux machine Qt aborts the window with a message naming one missing library
(`libxcb-cursor0`) when several are missing. `resnet-studio` (and so `make run`) asks `ldd`
about the plugin inside the installed PySide6 first and names every library that is not found,
with the one install line for Debian/Ubuntu and for Fedora. Nothing here imports Qt: the
package folder comes from `importlib.util.find_spec`.

The check is skipped off Linux, when `QT_QPA_PLATFORM` names another platform (offscreen,
minimal, wayland, vnc, ...), in a Wayland session that did not ask for xcb, when `ldd` is not
there, and with `RESNET_STUDIO_SKIP_QT_CHECK=1`.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

SKIP_VARIABLE = "RESNET_STUDIO_SKIP_QT_CHECK"

# soname -> (Debian/Ubuntu package, Fedora package): what the xcb plugin links to that a
# minimal system may lack (Qt's own libraries ship inside PySide6).
LIBRARY_PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
}
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.M)

Ldd = Callable[[Path], str]


def xcb_plugin() -> Path | None:
    """Qt's xcb platform plugin inside the installed PySide6 (None if there is none)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or spec.origin is None:
        return None
    plugin = Path(spec.origin).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def uses_xcb(env: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Whether Qt will load the xcb plugin: Linux, and QT_QPA_PLATFORM names xcb first (or is
    unset outside a Wayland session)."""
    if not platform.startswith("linux") or env.get(SKIP_VARIABLE, "") not in ("", "0"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    if chosen:  # "xcb", "xcb:option=value", "wayland;xcb": the first one is tried first
        return chosen.split(";")[0].split(":")[0].strip() == "xcb"
    return not (env.get("XDG_SESSION_TYPE") == "wayland" and env.get("WAYLAND_DISPLAY"))


def run_ldd(path: Path) -> str:
    """`ldd PATH`'s output ("" when ldd is not installed or fails to run)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return ""
    try:
        return subprocess.run([ldd, str(path)], capture_output=True, text=True,
                              timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def parse_ldd(text: str) -> list[str]:
    """The libraries ldd reports as "not found", in its order, each once."""
    return list(dict.fromkeys(_NOT_FOUND.findall(text)))


def missing_libraries(plugin: Path, ldd: Ldd = run_ldd) -> list[str]:
    return parse_ldd(ldd(plugin))


def install_lines(missing: list[str]) -> tuple[str, str]:
    """The Debian/Ubuntu and the Fedora command that install the packages of `missing` (the
    libraries the table knows)."""
    known = [LIBRARY_PACKAGES[name] for name in missing if name in LIBRARY_PACKAGES]
    debian = list(dict.fromkeys(d for d, _ in known))
    fedora = list(dict.fromkeys(f for _, f in known))
    return (f"sudo apt-get install -y {' '.join(debian)}" if debian else "",
            f"sudo dnf install -y {' '.join(fedora)}" if fedora else "")


def describe_missing(missing: list[str]) -> str:
    """The message for the user: which libraries, and how to install them."""
    debian, fedora = install_lines(missing)
    lines = [f"the window cannot open: Qt's xcb platform plugin needs system libraries this "
             f"machine lacks: {', '.join(missing)}"]
    if debian:
        lines += ["install them with", f"  Debian/Ubuntu:  {debian}", f"  Fedora:         {fedora}"]
    unknown = [name for name in missing if name not in LIBRARY_PACKAGES]
    if unknown:
        lines.append(f"  the package of {', '.join(unknown)}: `apt-file search NAME` or "
                     "`dnf provides '*/NAME'`")
    lines.append(f"(without a display: QT_QPA_PLATFORM=offscreen; {SKIP_VARIABLE}=1 starts "
                 "Qt anyway)")
    return "\n".join(lines)


def check_platform_libraries(env: Mapping[str, str] | None = None, *,
                             platform: str = sys.platform, plugin: Path | None = None,
                             ldd: Ldd = run_ldd) -> str:
    """"" when the window can start as far as the system libraries go, else the message
    naming the missing ones (see the module doc for when nothing is checked)."""
    env = os.environ if env is None else env
    if not uses_xcb(env, platform):
        return ""
    plugin = plugin or xcb_plugin()
    if plugin is None:
        return ""
    missing = missing_libraries(plugin, ldd)
    return describe_missing(missing) if missing else ""


__all__ = ["LIBRARY_PACKAGES", "SKIP_VARIABLE", "check_platform_libraries", "describe_missing",
           "install_lines", "missing_libraries", "parse_ldd", "run_ldd", "uses_xcb", "xcb_plugin"]
