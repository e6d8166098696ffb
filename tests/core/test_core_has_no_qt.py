"""core/ is usable without Qt: importing every core module with PySide6 blocked must work."""

import subprocess
import sys

CODE = """
import importlib, pkgutil, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'pyqtgraph', 'superqt', 'shiboken6') or \\
                name.startswith('resnet_studio.qt'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import resnet_studio.core as core
for m in pkgutil.walk_packages(core.__path__, 'resnet_studio.core.'):
    importlib.import_module(m.name)
from resnet_studio.cli import main
assert main(['summary', 'resnet20', '--json']) == 0
print('OK')
"""


def test_core_and_headless_cli_import_without_qt():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         timeout=240)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("OK")
