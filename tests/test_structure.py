"""Rules that keep the code's shape: small modules, and a window that starts before torch.

The layer rules themselves (front-ends > app > core, no Qt below the front-ends, tabs and
commands independent) are import-linter contracts in pyproject.toml, run by `make test`.
"""

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import resnet_studio

PACKAGE = Path(resnet_studio.__file__).parent
MAX_LINES = 500


def _modules(subpackage: str) -> list[str]:
    package = __import__(f"resnet_studio.{subpackage}", fromlist=["_"])
    return [m.name for m in pkgutil.walk_packages(package.__path__, f"resnet_studio.{subpackage}.")]


def test_no_module_is_over_500_lines():
    long = {str(p.relative_to(PACKAGE.parent)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them): {long}"


@pytest.mark.parametrize("module", ["resnet_studio.qt", *_modules("qt")])
def test_window_modules_import_without_torch(module):
    # The window must be on screen before torch (seconds to import) is loaded.
    code = (f"import sys, {module}; "
            "print(sorted(m for m in ('torch', 'torchvision', 'captum') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"importing {module} imports {out.stdout.strip()}"


def test_the_command_line_parser_imports_no_torch():
    # `resnet-studio --help` and every command's flags answer at once, without torch.
    code = ("import sys; from resnet_studio.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'torchvision', 'captum') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"building the parser imports {out.stdout.strip()}"
