"""Shared test set-up: no display, user data in a throwaway folder, one torch thread."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Runs use torch's defaults instead of measuring the fastest CPU settings (a few seconds, and
# a choice that depends on the machine's load); tests/core/test_speed.py turns it back on.
os.environ.setdefault("RESNET_STUDIO_AUTOTUNE", "0")

import pytest  # noqa: E402

from tests.landscape_fixtures import trained_pair  # noqa: E402, F401 - session-scoped


@pytest.fixture(autouse=True)
def _isolated_user_data(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("studio-home")
    monkeypatch.setenv("RESNET_STUDIO_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """The tests' models are tiny: on a shared 2-core machine two intra-op threads spin-waiting
    for a busy core make a 1-second test take 20."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
