"""Packaging: the wheel (built from the sdist, offline) installs into a fresh virtual env and
runs; `install-desktop` puts the menu entry, icon and AppStream metainfo in place for the user
and `--uninstall` takes exactly those away."""

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from resnet_studio import __version__
from resnet_studio.app.desktop import APP_ID, desktop_entry, exec_line
from resnet_studio.cli import main

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "resnet_studio" / "assets"
SHIPPED = {f"resnet_studio/{p.relative_to(ASSETS.parent).as_posix()}" for p in ASSETS.rglob("*")
           if p.is_file()}  # the trained nets in assets/trained/ too


def _run(*args, **kw):
    out = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=180, **kw)
    assert out.returncode == 0, f"{args}: {out.stdout}\n{out.stderr}"
    return out.stdout


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("build") is None, reason="needs the dev extra's build")
def test_the_wheel_installs_into_a_fresh_venv_and_runs(tmp_path):
    # build from a copy of the sources, so the worktree gets no build/ or egg-info
    src = tmp_path / "src"
    shutil.copytree(ROOT / "resnet_studio", src / "resnet_studio",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", tmp_path / "dist", src)
    [sdist] = (tmp_path / "dist").glob("resnet_studio-*.tar.gz")
    [wheel] = (tmp_path / "dist").glob("resnet_studio-*.whl")
    assert wheel.name == f"resnet_studio-{__version__}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    assert names >= SHIPPED and "resnet_studio/api/__init__.py" in names
    assert f"resnet_studio/assets/{APP_ID}.metainfo.xml" in names

    # a venv without pip that sees this one's packages (torch etc.) through a .pth file
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    Path(purelib.strip(), "host.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--ignore-installed", "--disable-pip-version-check", wheel)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = _run(python, "-c", "import resnet_studio; print(resnet_studio.__file__)",
                 cwd=tmp_path, env=env)
    assert where.startswith(str(venv))  # the wheel's package, not this worktree's
    script = venv / "bin" / "resnet-studio"
    assert _run(script, "--version", cwd=tmp_path, env=env) == f"resnet-studio {__version__}\n"
    models = _run(script, "models", cwd=tmp_path, env=env)
    assert any(line.split()[:1] == ["resnet56"] and "853,018" in line
               for line in models.splitlines())


def test_install_desktop_writes_the_three_files_and_uninstall_removes_them(tmp_path,
                                                                         monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    apps = tmp_path / "applications"
    apps.mkdir()
    (apps / "other.desktop").write_text("[Desktop Entry]\n")  # not ours: stays
    assert main(["install-desktop"]) == 0
    entry = apps / f"{APP_ID}.desktop"
    icon = tmp_path / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    metainfo = tmp_path / "metainfo" / f"{APP_ID}.metainfo.xml"
    assert capsys.readouterr().out == f"wrote {entry}\nwrote {icon}\nwrote {metainfo}\n"
    lines = entry.read_text().splitlines()
    assert f"Exec={exec_line([sys.executable, '-m', 'resnet_studio'])}" in lines
    assert f"Icon={APP_ID}" in lines and "Type=Application" in lines
    assert icon.read_bytes() == (ASSETS / "icon.svg").read_bytes()
    assert f"<id>{APP_ID}</id>" in metainfo.read_text()
    assert f"<launchable type=\"desktop-id\">{APP_ID}.desktop</launchable>" in metainfo.read_text()

    assert main(["install-desktop", "--uninstall"]) == 0
    assert capsys.readouterr().out == f"removed {entry}\nremoved {icon}\nremoved {metainfo}\n"
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["other.desktop"]
    assert main(["install-desktop", "--uninstall"]) == 0
    assert capsys.readouterr().out == "nothing to remove: the menu entry is not installed\n"


def test_exec_quotes_paths_as_the_desktop_entry_spec_asks():
    assert exec_line(["/opt/venv/bin/python", "-m", "resnet_studio"]) == \
        "/opt/venv/bin/python -m resnet_studio"
    assert exec_line(["/home/a b/$x/py", "-m", "resnet_studio"]) == \
        '"/home/a b/\\$x/py" -m resnet_studio'
    assert desktop_entry("/usr/bin/python3").count("\nExec=/usr/bin/python3 -m resnet_studio\n") == 1


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstreamcli is not installed")
def test_the_metainfo_validates_with_appstreamcli():
    out = subprocess.run(["appstreamcli", "validate", "--no-net",
                          str(ASSETS / f"{APP_ID}.metainfo.xml")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
