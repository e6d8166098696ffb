"""EtaMeter: elapsed time and time left from progress reports, on a clock the test moves."""

from resnet_studio.core.common.eta import EtaMeter
from tests.fake_clock import FakeClock


def test_time_left_comes_from_the_rate_after_the_first_report():
    clock = FakeClock()
    meter = EtaMeter(clock)
    clock.advance(30)  # loading data: not part of the rate
    assert meter.remaining() is None and meter.elapsed() == 30
    meter.report(0, 500)
    clock.advance(10)
    meter.report(100, 500)  # 0.1 s a step
    assert meter.seconds_per_unit() == 0.1
    assert meter.remaining() == 40.0
    clock.advance(4)  # between reports the time left counts down
    assert meter.remaining() == 36.0 and meter.elapsed() == 44
    clock.advance(100)  # late: never below zero
    assert meter.remaining() == 0.0


def _measured(done: int, total: int, seconds: float) -> tuple[FakeClock, EtaMeter]:
    """A meter that saw `done` of `total` units done `seconds` after the first report (0)."""
    clock = FakeClock()
    meter = EtaMeter(clock)
    meter.report(0, total)
    clock.advance(seconds)
    meter.report(done, total)
    return clock, meter


def test_paused_work_neither_ages_nor_finishes():
    clock, meter = _measured(50, 100, 20)
    meter.pause()
    clock.advance(600)  # ten minutes paused
    assert meter.paused and meter.elapsed() == 20 and meter.remaining() == 20.0
    meter.resume()
    clock.advance(5)
    assert not meter.paused and meter.elapsed() == 25 and meter.remaining() == 15.0


def test_a_restart_measures_the_rate_again():
    clock, meter = _measured(10, 10, 10)
    meter.report(0, 4)  # a new call of the same job (a LatestJob's next request)
    assert meter.remaining() is None
    clock.advance(2)
    meter.report(1, 4)
    assert meter.remaining() == 6.0
