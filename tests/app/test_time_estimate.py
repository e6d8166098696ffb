"""The measured time of an experiment (before it runs) and its elapsed time and time left while
it runs: exact arithmetic on hand-made timings and a clock the test moves, and one real
measurement of a tiny grid."""

from dataclasses import replace

import pytest

from resnet_studio.app.experiment_clock import ExperimentClock
from resnet_studio.app.experiments import ExperimentPlan
from resnet_studio.app.time_estimate import (
    TIMED_STEPS,
    NetTiming,
    TimeEstimate,
    _basis,
    estimate_experiment,
    validations,
)
from resnet_studio.core.experiments import Cell, Experiment
from resnet_studio.core.training.callbacks import TrainLog
from tests.fake_clock import FakeClock
from tests.helpers import SMALL_DATA

QUICK = ExperimentPlan.from_grid(preset="quick")  # the preset's own steps and schedule


def _estimate(config) -> TimeEstimate:
    nets = (NetTiming("plain-20", 3.0, 0.1, 1.0), NetTiming("ResNet-20", 3.0, 0.1, 1.0),
            NetTiming("plain-56", 5.0, 0.3, 2.0), NetTiming("ResNet-56", 5.0, 0.3, 2.0))
    return TimeEstimate(0.0, 2.0, nets, _basis(config), 40.0)


def test_an_estimate_is_data_plus_each_run_and_follows_the_form():
    config = QUICK.config.replace(steps=500, eval_every=100)
    assert validations(config) == 5 and validations(config.replace(eval_every=0)) == 1
    assert validations(config.replace(steps=450)) == 5  # 100..400 and the end
    estimate = _estimate(config)
    # data 2 s; 20s: 3 + 500 x 0.1 + 5 x 1 = 58 s each; 56s: 5 + 150 + 10 = 165 s each
    assert estimate.seconds_for(QUICK.cells, config) == 2 + 2 * 58 + 2 * 165
    shorter = config.replace(steps=100)  # the user shortens the runs: no new measurement
    assert estimate.seconds_for(QUICK.cells, shorter) == 2 + 2 * (3 + 10 + 1) + 2 * (5 + 30 + 2)
    assert estimate.seconds_for([(110, "plain", 0)], config) is None  # never measured
    assert estimate.seconds_for(QUICK.cells, config.replace(batch_size=128)) is None
    # remembered between sessions as one line of JSON
    again = TimeEstimate.from_json(estimate.to_json())
    assert again == estimate and again.seconds_for(QUICK.cells, config) == 448
    with pytest.raises(ValueError, match="not a remembered time estimate"):
        TimeEstimate.from_json('{"seconds": 1}')


def _exp(steps=500) -> Experiment:
    cells = tuple(Cell(i, d, v, 0) for i, (d, v, _) in enumerate(QUICK.cells))
    return Experiment("e1", "plain vs ResNet (A) · depths 20, 56",
                      QUICK.config.replace(steps=steps), cells, "running", 0.0, 0.0)


def _log(step, total=500):
    return TrainLog(step=step, total_steps=total, epoch=0.0, loss=1.0, error=0.5, lr=0.1,
                    images_per_s=0.0, elapsed_s=0.0, eta_s=0.0)


def test_elapsed_and_time_left_of_the_experiment_and_its_runs():
    clock = FakeClock()
    times = ExperimentClock(clock)
    assert times.describe() == ""
    exp = _exp()
    times.started()
    times.cells_changed(exp)
    clock.advance(5)  # the data
    first = exp.cells[0]
    assert QUICK.cells[0] == (20, "plain", 0)
    times.run_started(replace(first, status="running"))
    times.logged([(0, _log(10))])
    clock.advance(20)
    times.logged([(0, _log(110))])  # 0.2 s a step: 78 s left for this run
    # the runs to come: ResNet-20 as long as plain-20 (~100 s), the 56s by depth (~280 s)
    assert times.run_times(0) == (20.0, 78.0)
    assert times.remaining() == 78.0 + 100.0 + 2 * 0.2 * 56 / 20 * 500
    assert times.describe() == ("elapsed 0:25 · about 12:18 left\n"
                                "plain-20 seed 0: 0:20, about 1:18 left")
    assert times.steps() == (110, 2000)
    clock.advance(78)
    times.logged([(0, _log(500))])
    times.run_finished(replace(first, status="finished"))  # took 98 s (a rerun of it would)
    assert times.expected(first) == 98.0 and times.run_times(0) is None
    assert times.remaining() == 100.0 + 2 * 0.2 * 56 / 20 * 500
    times.ended()
    clock.advance(60)
    assert times.describe() == "took 1:43"


def test_runs_still_to_come_take_the_measured_estimate_when_there_is_one():
    clock = FakeClock()
    times = ExperimentClock(clock)
    exp = _exp()
    times.estimate = _estimate(exp.config)
    times.started()
    times.cells_changed(exp)
    assert times.describe() == "elapsed 0:00 · about 7:26 left"  # 2 x 58 + 2 x 165 s
    times.estimate = replace(times.estimate, basis=())  # made for other settings: not used
    assert times.remaining() is None
    assert times.describe() == "elapsed 0:00 · time left: after the first steps"


def test_estimating_a_tiny_grid_trains_each_net_a_few_steps():
    plan = ExperimentPlan.from_grid(preset=None, depths=(8,), variants=("plain", "residual"),
                                    seeds=2, dataset=SMALL_DATA, steps=40, batch_size=8)
    reports = []
    estimate = estimate_experiment(plan, progress=lambda d, t, text: reports.append(text))
    assert [n.name for n in estimate.nets] == ["plain-8", "ResNet-8"]  # each net once
    assert all(n.step_s > 0 and n.validation_s >= 0 and n.overhead_s >= 0
               for n in estimate.nets)
    runs = sum(n.run_seconds(plan.config) for n in estimate.nets)
    assert abs(estimate.seconds - (estimate.data_s + 2 * runs)) < 0.1  # two seeds each
    assert f"timing ResNet-8: step {2 + TIMED_STEPS}/{2 + TIMED_STEPS}" in reports
    assert estimate.describe().startswith("about ")


def test_estimating_a_training_run_times_its_one_net():
    from resnet_studio.app.time_estimate import estimate_training
    from resnet_studio.core.experiments import make_spec
    from resnet_studio.core.training.config import TrainConfig

    config = TrainConfig(dataset=SMALL_DATA, steps=300, batch_size=8, eval_every=100)
    estimate = estimate_training(make_spec(8, "residual"), config)
    (net,) = estimate.nets
    assert net.name == "resnet8"
    expected = estimate.data_s + net.overhead_s + 300 * net.step_s + 3 * net.validation_s
    assert abs(estimate.seconds - expected) < 0.1
