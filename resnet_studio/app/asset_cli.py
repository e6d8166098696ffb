"""The command line of a module that ships generated assets (app.samples, app.trained_nets)."""

from __future__ import annotations

import argparse
from pathlib import Path


def asset_arguments(argv: list[str] | None, module: str, doc: str, regenerate_help: str,
                    out: Path) -> argparse.Namespace:
    """`--regenerate` the module's assets into `--out` (default: where they ship)."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc.split("\n\n")[0])
    parser.add_argument("--regenerate", action="store_true", help=regenerate_help)
    parser.add_argument("--out", type=Path, default=out, help="where to write them")
    return parser.parse_args(argv)
