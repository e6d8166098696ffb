"""Loss-landscape primitives (Li et al. 2018): filter-normalised directions, the coarse-to-fine
grid, the probe's in-place weights and the roughness measures, on exact small cases."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from resnet_studio.core.analysis.landscape import (
    LossProbe,
    axis,
    filter_normalized_direction,
    mean_abs_laplacian,
    nonconvex_share,
    refinement_strides,
    slice_2d,
)
from resnet_studio.core.models import build_model
from tests.helpers import TINY


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return build_model(TINY).eval()


def test_filter_normalisation_gives_each_filter_the_weights_norm_and_bn_bias_zero(tiny):
    direction = filter_normalized_direction(tiny, torch.Generator().manual_seed(1))
    perturbed = 0
    for (name, p), d in zip(tiny.named_parameters(), direction):
        assert d.shape == p.shape
        if p.dim() > 1:
            perturbed += 1
            assert torch.allclose(d.flatten(1).norm(dim=1), p.detach().flatten(1).norm(dim=1),
                                  rtol=1e-5), name
            assert not torch.allclose(d, p.detach())  # random, not the weight itself
        else:  # BatchNorm weight/bias and the fc bias
            assert torch.count_nonzero(d) == 0, name
    assert perturbed == 1 + 6 + 1  # stem conv, two convs in each of 3 blocks, fc


def test_refinement_goes_coarse_to_fine_and_reuses_points():
    assert refinement_strides(21) == [4, 2, 1]
    assert refinement_strides(11) == [2, 1]
    assert refinement_strides(41) == [8, 4, 2, 1]
    assert refinement_strides(7) == [1]
    with pytest.raises(ValueError, match="at least 2 points"):
        axis(1, 1.0)


def test_slice_fills_each_point_once_level_by_level_and_restores_the_weights(tiny):
    x = torch.randn(16, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    y = torch.arange(16) % 10
    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    probe = LossProbe(tiny, [(x, y)])
    calls = []
    probe_loss = probe.loss
    probe.loss = lambda: calls.append(1) or probe_loss()
    directions = [filter_normalized_direction(tiny, torch.Generator().manual_seed(s))
                  for s in (1, 2)]
    levels = []
    surface = slice_2d(probe, tuple(directions), axis(9, 0.5),
                       on_level=lambda s: levels.append(int(np.isfinite(s).sum())))
    assert levels == [25, 81]  # every 2nd point first, then the rest
    assert len(calls) == 81
    with torch.no_grad():
        expected = F.cross_entropy(tiny(x), y).item()
    assert surface[4, 4] == pytest.approx(expected, rel=1e-6)  # the origin: the model's loss
    for k, v in tiny.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_roughness_of_a_bowl_and_a_saddle():
    a, b = np.meshgrid(np.linspace(-1, 1, 11), np.linspace(-1, 1, 11))
    assert nonconvex_share(a ** 2 + b ** 2 + 1) == 0.0
    assert nonconvex_share(a ** 2 - b ** 2 + 3) == 1.0
    # log(exp(a² + b²)) = a² + b²: Δ in grid units (h = 0.2) is 2·h² + 2·h² = 0.16 everywhere
    assert mean_abs_laplacian(np.exp(a ** 2 + b ** 2)) == pytest.approx(0.16)


def test_cancel_stops_the_slice_and_puts_the_trained_weights_back(tiny):
    from resnet_studio.core.common.progress import Cancelled, Progress

    x, y = torch.zeros(4, 3, 8, 8), torch.zeros(4, dtype=torch.long)
    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    probe = LossProbe(tiny, [(x, y)])
    progress = Progress(lambda done, total, text: done == 5 and progress.cancel())
    direction = filter_normalized_direction(tiny, torch.Generator().manual_seed(1))
    with pytest.raises(Cancelled):
        slice_2d(probe, (direction, direction), axis(5, 1.0), progress)
    for k, v in tiny.state_dict().items():
        assert torch.equal(v, before[k]), k
