"""The window's system-library check: every library Qt's xcb plugin lacks is named, with the
install line for Debian/Ubuntu and Fedora, before Qt aborts with only the first one."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from resnet_studio.app.platform_libs import (
    check_platform_libraries,
    parse_ldd,
    uses_xcb,
    xcb_plugin,
)

LDD_OUTPUT = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f01)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f02)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f03)
"""


def test_parse_ldd_names_each_missing_library_once():
    assert parse_ldd(LDD_OUTPUT) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert parse_ldd("") == []


def test_a_missing_library_is_named_with_both_install_lines():
    message = check_platform_libraries({"QT_QPA_PLATFORM": "xcb"}, platform="linux",
                                       plugin=Path("libqxcb.so"), ldd=lambda _p: LDD_OUTPUT)
    assert message.splitlines() == [
        "the window cannot open: Qt's xcb platform plugin needs system libraries this machine "
        "lacks: libxcb-icccm.so.4, libxcb-keysyms.so.1",
        "install them with",
        "  Debian/Ubuntu:  sudo apt-get install -y libxcb-icccm4 libxcb-keysyms1",
        "  Fedora:         sudo dnf install -y xcb-util-wm xcb-util-keysyms",
        "(without a display: QT_QPA_PLATFORM=offscreen; RESNET_STUDIO_SKIP_QT_CHECK=1 starts "
        "Qt anyway)"]


def test_a_library_without_a_known_package_is_still_named():
    message = check_platform_libraries({}, platform="linux", plugin=Path("libqxcb.so"),
                                       ldd=lambda _p: "\tlibodd.so.3 => not found\n")
    assert "lacks: libodd.so.3" in message
    assert "the package of libodd.so.3: `apt-file search NAME`" in message
    assert "apt-get" not in message


def test_nothing_missing_says_nothing():
    assert check_platform_libraries({}, platform="linux", plugin=Path("libqxcb.so"),
                                    ldd=lambda _p: LDD_OUTPUT.replace("not found", "/lib/x")) == ""


@pytest.mark.parametrize("env,platform,checked", [
    ({}, "linux", True),
    ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
    ({"QT_QPA_PLATFORM": "xcb;wayland"}, "linux", True),
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),
    ({"QT_QPA_PLATFORM": "minimal"}, "linux", False),
    ({"QT_QPA_PLATFORM": "wayland"}, "linux", False),
    ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
    ({"RESNET_STUDIO_SKIP_QT_CHECK": "1"}, "linux", False),
    ({}, "darwin", False),
    ({}, "win32", False),
])
def test_when_the_check_runs(env, platform, checked):
    assert uses_xcb(env, platform) is checked


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")
def test_the_plugin_is_found_in_the_installed_pyside6_without_importing_qt():
    code = ("import sys; from resnet_studio.app.platform_libs import xcb_plugin; "
            "print(xcb_plugin()); print([m for m in sys.modules if m.startswith('PySide6')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    plugin, qt_modules = out.stdout.splitlines()
    assert plugin.endswith("PySide6/Qt/plugins/platforms/libqxcb.so") and Path(plugin).is_file()
    assert qt_modules == "[]"
    assert xcb_plugin() == Path(plugin)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")
def test_resnet_studio_stops_before_qt_with_the_message(tmp_path):
    # an `ldd` that reports one library missing comes first on PATH
    fake = tmp_path / "ldd"
    fake.write_text("#!/bin/sh\nprintf '\\tlibxcb-cursor.so.0 => not found\\n'\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}",
           "QT_QPA_PLATFORM": "xcb"}
    env.pop("RESNET_STUDIO_SKIP_QT_CHECK", None)
    out = subprocess.run([sys.executable, "-m", "resnet_studio"], capture_output=True, text=True,
                         timeout=60, env=env)
    assert out.returncode == 2
    assert out.stderr.startswith("resnet-studio: the window cannot open: Qt's xcb platform "
                                 "plugin needs system libraries this machine lacks: "
                                 "libxcb-cursor.so.0\n")
    assert "sudo apt-get install -y libxcb-cursor0\n" in out.stderr
    assert "sudo dnf install -y xcb-util-cursor\n" in out.stderr


def test_the_readme_lists_the_libraries_with_both_install_lines():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "sudo apt-get install -y libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 " in readme
    assert "sudo dnf install -y xcb-util-cursor xcb-util-wm xcb-util-keysyms " in readme
