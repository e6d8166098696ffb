"""A trained ResNet-20 and plain-20 for the loss-landscape tests, trained once per session.

The quick Depth Lab preset's optimiser and schedule (core.experiments.plan.QUICK_CONFIG: SGD
lr 0.05, cosine, 50 warm-up steps, batch 64) for 200 steps instead of 400, on 2048 built-in
synthetic 16x16 images without augmentation, seed 0, one CPU thread: about 30 s for both nets.
"""

from dataclasses import replace
from pathlib import Path

import pytest

from resnet_studio.core.experiments.plan import QUICK_CONFIG

LANDSCAPE_CONFIG = replace(QUICK_CONFIG, dataset="synthetic:train=2048,val=256", steps=200,
                           augment=False, eval_every=0, log_every=50, device="cpu", seed=0)


@pytest.fixture(scope="session")
def trained_pair(tmp_path_factory) -> dict[str, Path]:
    """{"resnet20": run folder, "plain20": run folder}, each with its final checkpoint."""
    import torch

    from resnet_studio.core.training.trainer import Trainer
    from resnet_studio.core.zoo import get_spec

    root = tmp_path_factory.mktemp("trained-pair")
    threads = torch.get_num_threads()
    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RESNET_STUDIO_HOME", str(root / "home"))
        torch.set_num_threads(1)
        try:
            for name in ("resnet20", "plain20"):
                result = Trainer(get_spec(name), LANDSCAPE_CONFIG, run_dir=root / name).fit()
                assert result.status == "finished", result.message
                runs[name] = root / name
        finally:
            torch.set_num_threads(threads)
    return runs
