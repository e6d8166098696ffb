"""The shipped trained nets (the quick Depth Lab demo's four nets, seed 0) and He et al. 2015
Fig. 7 measured on them: ResNet-56 responds less than plain-56 and than ResNet-20."""

import json
from dataclasses import replace

import pytest
import torch

from resnet_studio.app import trained_nets
from resnet_studio.app.responses import shipped_responses, validation_batch
from resnet_studio.core.experiments.plan import get_experiment_preset, make_spec


@pytest.fixture(scope="module")
def data():
    return trained_nets.shipped_data()


def test_the_shipped_nets_are_the_quick_preset_and_small():
    index = json.loads((trained_nets.TRAINED_DIR / "index.json").read_text())
    assert index["preset"] == "quick" and index["seed"] == 0
    assert index["config"] == get_experiment_preset("quick").config.to_dict()
    total = sum(p.stat().st_size for p in trained_nets.TRAINED_DIR.iterdir())
    assert total < 5 << 20  # float16: 4.4 MB for the four (1.13 M parameters)
    for name, (depth, variant) in trained_nets.NETS.items():
        info = trained_nets.shipped_info(name)
        assert info.spec == replace(make_spec(depth, variant), num_classes=5)
        assert trained_nets.shipped_net(name).spec == info.spec
    with pytest.raises(KeyError, match="resnet20, plain20"):
        trained_nets.shipped_info("resnet110")


def test_the_shipped_nets_classify_the_built_in_validation_images(data):
    images = validation_batch(data, 512)
    labels = data.val_y[:512]
    with torch.no_grad():
        acc = {name: float((trained_nets.shipped_net(name)(images).argmax(1) == labels)
                           .float().mean()) for name in trained_nets.NETS}
    assert acc["resnet20"] > 0.9 and acc["resnet56"] > 0.9  # chance is 0.2
    # plain-56 is the degraded one (Fig. 6): 80% here, its training error 21.6%
    assert acc["plain20"] > 0.9 and 0.7 < acc["plain56"] < 0.9


def test_fig7_resnets_respond_less_than_plain_twins_and_resnet56_less_than_resnet20():
    p = {prof.label: prof for prof in shipped_responses()}
    assert len(p["plain-56"].stds) == len(p["ResNet-56"].stds) == 55  # stem + 2 per block
    # after 1,000 steps the BN scales are still near 1, so the margins are small (every layer:
    # plain-20 0.980, ResNet-20 0.975, plain-56 1.165, ResNet-56 0.968; the blocks' last layers:
    # 0.984, 0.969, 1.128, 0.954). The ResNets respond less than their plain twins, ResNet-56
    # less than ResNet-20, as in the paper.
    for mean in (lambda prof: prof.mean, lambda prof: prof.branch_mean):
        assert mean(p["ResNet-20"]) < mean(p["plain-20"]) - 0.004
        assert mean(p["ResNet-56"]) < mean(p["plain-56"]) - 0.1
        assert mean(p["ResNet-56"]) < mean(p["ResNet-20"]) - 0.004
    assert list(p["ResNet-56"].ranked) == sorted(p["ResNet-56"].stds, reverse=True)
