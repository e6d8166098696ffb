"""Optional extras: what a feature needs that a plain install lacks, said as one install line.

`require("onnx", "export")` returns quietly when the package is importable and otherwise raises
`MissingExtra`: an ImportError for a notebook, and a ValueError for the command line, which
prints it as one line with exit code 2 (a missing extra is the user's to install, not a bug).
"""

from __future__ import annotations

import importlib.util


class MissingExtra(ImportError, ValueError):
    """An optional package is not installed; the message says the pip line that adds it."""


def require(package: str, extra: str) -> None:
    """MissingExtra naming `pip install 'resnet-studio[extra]'` unless `package` imports."""
    if importlib.util.find_spec(package) is None:
        raise MissingExtra(f"this needs the optional package '{package}': "
                           f"pip install 'resnet-studio[{extra}]'", name=package)


__all__ = ["MissingExtra", "require"]
