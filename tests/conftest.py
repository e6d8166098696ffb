"""Shared test set-up: no display, and user data in a throwaway folder."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_user_data(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("studio-home")
    monkeypatch.setenv("RESNET_STUDIO_HOME", str(home))
    return home
