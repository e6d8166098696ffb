"""The tour's checks quote the numbers they are given and say what to do when there are none."""

from types import SimpleNamespace as NS

import pytest

from resnet_studio.app import tour


def _net(model, ratio, status, plain=False):
    return NS(model=model, label=model, first_to_last=ratio, status=status, plain=plain)


def test_five_steps_in_the_papers_order():
    assert [s.key for s in tour.STEPS] == ["gradients", "degradation", "block", "lesion",
                                           "attributions"]
    assert [s.tab for s in tour.STEPS] == ["gradients", "depth_lab", "images", "gradients",
                                           "attributions"]
    with pytest.raises(KeyError, match="no tour step 'x'"):
        tour.step("x")


def test_gradient_check_quotes_the_measured_ratios():
    report = NS(net=_net("resnet56", 3.31, "healthy"),
                plain=_net("plain_resnet56", 3276.4, "exploding", plain=True))
    check = tour.check_gradients(report)
    assert check.ok
    assert check.text == ("Measured: the first layer's weight gradient is 3,276× the last one's "
                          "in plain_resnet56, 3.3× in resnet56 (exploding vs healthy).")
    report.plain = _net("plain_resnet56", 2.0, "healthy", plain=True)
    assert not tour.check_gradients(report).ok
    assert tour.check_gradients(None).waiting
    assert "press Set up again" in tour.check_gradients(
        NS(net=_net("resnet20", 3, "healthy"), plain=None)).text


def test_degradation_check_reads_the_experiments_errors():
    plain = NS(variant="plain", shallow=20, deep=56, deep_error=31.5, shallow_error=12.25,
               delta=19.25, degrades=True)
    residual = NS(variant="residual", shallow=20, deep=56, deep_error=9.0, shallow_error=11.0,
                  delta=-2.0, degrades=False)
    check = tour.check_degradation(NS(degradation=[plain, residual]))
    assert check.ok
    assert check.text == ("Measured: plain-56 ends at 31.5% training error, plain-20 at 12.2% "
                          "(+19.2 points). ResNet-56: 9.0%, ResNet-20: 11.0%.")
    assert tour.check_degradation(None).waiting
    assert tour.check_degradation(None, running=True).text.startswith("The experiment is running")


def test_block_lesion_and_attribution_checks():
    assert tour.check_block(0.314, "layer2.1", 1) == tour.TourCheck(
        True, "Measured at layer2.1: ‖F(x)‖ ÷ ‖x‖ = 0.31. F(x) is smaller than x: the block "
              "refines its input.")
    assert tour.check_block(None, "layer2.1", 0).text.startswith("No image loaded")
    reports = [NS(model="resnet56", plain=False, mean_drop=0.021, intact_accuracy=0.97),
               NS(model="plain56", plain=True, mean_drop=0.35, intact_accuracy=0.9)]
    check = tour.check_lesion(reports)
    assert check.ok and "resnet56 2.1 points" in check.text and "plain56 35.0 points" in check.text
    assert tour.check_lesion([]).waiting
    same = {("model", "ig"): NS(target_label="glyph 3"),
            ("plain twin", "ig"): NS(target_label="glyph 3")}
    assert tour.check_attributions(same).ok
    other = {**same, ("plain twin", "ig"): NS(target_label="glyph 1")}
    assert "explain different classes (glyph 1, glyph 3)" in tour.check_attributions(other).text
