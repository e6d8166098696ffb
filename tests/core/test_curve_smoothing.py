"""The training plots' smoothing is TensorBoard's debiased EMA: no lag beyond the EMA's own,
no pull towards zero at the start, a diverged point left out of the average."""

import math

import pytest

from resnet_studio.core.common.curves import DEFAULT_SMOOTHING, smooth


def test_a_step_change_is_followed_as_tensorboard_follows_it():
    # TensorBoard's scalar chart: last = last*w + (1-w)*v; smoothed = last / (1 - w**n)
    out = smooth([1.0, 1.0, 1.0, 0.0, 0.0, 0.0], 0.6)
    assert out[:3] == pytest.approx([1.0, 1.0, 1.0])  # debiased: the first points are the data
    assert out[3:] == pytest.approx([0.4704 / 0.8704, 0.28224 / 0.92224, 0.169344 / 0.953344])
    # at the default weight a drop of 1 is within 5% of the new level six logged points on
    # (the loss is logged every 10 steps: 60 steps), not the ~29 points 0.9 needs
    drop = smooth([1.0] * 40 + [0.0] * 40, DEFAULT_SMOOTHING)
    assert DEFAULT_SMOOTHING == 0.6
    assert drop[40 + 5] < 0.05 < drop[40 + 4]
    assert smooth([1.0] * 40 + [0.0] * 40, 0.9)[40 + 5] > 0.5


def test_weight_zero_is_the_raw_curve_and_non_finite_points_pass_through():
    assert smooth([3.0, 1.0, 2.0], 0.0) == [3.0, 1.0, 2.0]
    out = smooth([2.0, math.nan, 2.0, math.inf, 4.0], 0.5)
    assert out[0] == 2.0 and out[2] == 2.0 and math.isnan(out[1]) and math.isinf(out[3])
    assert out[4] == pytest.approx((0.5 * (0.5 * 1.0 + 1.0) + 2.0) / (1 - 0.5 ** 3))
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        smooth([1.0], 1.0)
