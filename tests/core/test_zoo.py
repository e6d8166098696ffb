"""The zoo reproduces the published parameter counts and keeps torchvision's weights interchangeable."""

import pytest
import torch
import torchvision

from resnet_studio.core.models import build_model, count_params
from resnet_studio.core.zoo import PRESETS, get_spec, resolve_name

# torchvision's IMAGENET1K_V1 metadata (num_params) plus the ResNeXt-101 / Wide-101 builders.
TORCHVISION_PARAMS = {
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
    "resnet101": 44_549_160, "resnet152": 60_192_808, "resnext50_32x4d": 25_028_904,
    "resnext101_32x8d": 88_791_336, "resnext101_64x4d": 83_455_272,
    "wide_resnet50_2": 68_883_240, "wide_resnet101_2": 126_886_696,
}
# He et al. 2015 Table 6 (millions, as printed).
CIFAR_PARAMS_M = {"resnet20": 0.27, "resnet32": 0.46, "resnet44": 0.66, "resnet56": 0.85,
                  "resnet110": 1.7, "resnet1202": 19.4}


@pytest.mark.parametrize("name,expected", TORCHVISION_PARAMS.items())
def test_imagenet_param_counts_match_torchvision(name, expected):
    assert count_params(get_spec(name)) == expected


@pytest.mark.parametrize("name,millions", CIFAR_PARAMS_M.items())
def test_cifar_param_counts_match_paper_table6(name, millions):
    params = count_params(get_spec(name))
    assert round(params / 1e6, 2 if millions < 1 else 1) == millions


def test_preact_164_is_1_7m_like_the_paper():
    assert round(count_params(get_spec("preact_resnet164")) / 1e6, 1) == 1.7


def test_every_preset_has_a_plain_twin_without_shortcuts():
    residual = [n for n in PRESETS if not n.startswith("plain_")]
    assert len(residual) >= 26
    for name in residual:
        twin = PRESETS[f"plain_{name}"].spec
        assert twin.shortcut == "none"
        assert twin.layers == PRESETS[name].spec.layers


def test_plain_twin_of_resnet34_drops_only_the_projections():
    # The three projection shortcuts of ResNet-34 (layer2..4) are 1x1 conv + BN.
    projections = sum(c_in * c_out + 2 * c_out for c_in, c_out in [(64, 128), (128, 256),
                                                                   (256, 512)])
    assert count_params(get_spec("resnet34")) - count_params(get_spec("plain_resnet34")) \
        == projections


@pytest.mark.parametrize("alias,name", [("plain-56", "plain_resnet56"), ("plain20", "plain_resnet20"),
                                        ("ResNet-50", "resnet50"), ("resnet56", "resnet56")])
def test_paper_spellings_resolve(alias, name):
    assert resolve_name(alias) == name


def test_unknown_model_suggests_close_names():
    with pytest.raises(KeyError, match="resnet101"):
        resolve_name("resnet10")


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2"])
def test_torchvision_weights_load_strictly_and_give_identical_logits(name):
    torch.manual_seed(0)
    reference = getattr(torchvision.models, name)().eval()
    ours = build_model(get_spec(name)).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(ours(x), reference(x))


def test_our_resnet18_checkpoint_loads_into_torchvision():
    torch.manual_seed(1)
    ours = build_model(get_spec("resnet18")).eval()
    reference = torchvision.models.resnet18().eval()
    reference.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(ours(x), reference(x))
