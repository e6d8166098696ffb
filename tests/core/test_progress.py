"""Progress: reports reach the sink, cancel takes effect at the next report, stages nest."""

import threading

import pytest

from resnet_studio.core.common.progress import Cancelled, Progress


def test_reports_reach_the_sink_and_cancel_stops_at_the_next_one():
    seen = []
    progress = Progress(lambda d, t, s: seen.append((d, t, s)))
    progress(1, 10, "one")
    threading.Thread(target=progress.cancel).start()  # from another thread, as the GUI does
    with pytest.raises(Cancelled):
        for i in range(2, 1_000_000):
            progress(i, 1_000_000)
    assert seen[0] == (1, 10, "one") and progress.cancelled


def test_throttling_keeps_the_last_report_of_a_stage():
    seen = []
    progress = Progress(lambda d, t, s: seen.append(d), interval_s=60)
    for i in range(1, 101):
        progress(i, 100)
    assert seen == [1, 100]


def test_span_maps_a_stage_onto_the_whole_and_shares_cancel():
    seen = []
    progress = Progress(lambda d, t, s: seen.append((d, t, s)))
    training = progress.span(0, 80, 100)
    lesion = progress.span(80, 100, 100)
    training(50, 100, "training")
    lesion(1, 2, "lesion")
    assert seen == [(40, 100, "training"), (90, 100, "lesion")]
    lesion.cancel()
    with pytest.raises(Cancelled):
        training(60, 100)


def test_of_wraps_callables_and_none():
    seen = []
    Progress.of(lambda d, t, s: seen.append(d))(3, 4, "")
    Progress.of(None)(1, 2, "")  # silent
    p = Progress()
    assert Progress.of(p) is p and seen == [3]
