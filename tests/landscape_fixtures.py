"""A ResNet-20 and a plain-20 run (folders with checkpoints, as the Train tab writes them) for
the loss-landscape tests of run handling: the quick Depth Lab preset's optimiser and schedule
for PAIR_STEPS steps on 512 built-in synthetic 16x16 images, seed 0, one CPU thread - seconds,
not trained to anything. The tests about what the landscape shows use the shipped trained nets
(app.trained_nets: "shipped:resnet56")."""

from dataclasses import replace
from pathlib import Path

import pytest

from resnet_studio.core.experiments.plan import QUICK_CONFIG

PAIR_STEPS = 20
LANDSCAPE_CONFIG = replace(QUICK_CONFIG, dataset="synthetic:train=512,val=64", steps=PAIR_STEPS,
                           warmup_steps=5, augment=False, eval_every=0, log_every=10,
                           device="cpu", seed=0)


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
