"""Where user data lives: platform dirs, or $RESNET_STUDIO_HOME (tests, portable installs)."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "resnet-studio"


def data_dir() -> Path:
    """Runs, checkpoints, datasets. Never inside the install."""
    home = os.environ.get("RESNET_STUDIO_HOME")
    if home:
        path = Path(home)
    else:
        from platformdirs import user_data_dir

        path = Path(user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def datasets_dir() -> Path:
    path = data_dir() / "datasets"
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    path = data_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path
