"""The tabs' building blocks: Job (progress, cancel, errors), LatestJob, QueueSession, Settings,
figure export."""

import re
import time
from pathlib import Path

from PIL import Image

from resnet_studio.core.common.paths import data_dir
from resnet_studio.qt.kit.job import Job, LatestJob, wait_for_background_work
from resnet_studio.qt.kit.plotting import export_figure, layout_widget, style_plot
from resnet_studio.qt.kit.session import QueueSession
from resnet_studio.qt.kit.settings import Settings


def count_to(n, progress):
    for i in range(n):
        time.sleep(0.005)
        progress(i + 1, n, f"step {i + 1}")
    return 2 * n


def bad_input(progress):
    raise ValueError("resnet21 is not a preset")


def broken(progress):
    raise ZeroDivisionError("division by zero")


def record(job):
    seen = {"progress": [], "events": []}
    job.progressed.connect(lambda d, t, s: seen["progress"].append((d, t, s)))
    job.succeeded.connect(lambda r: seen["events"].append(("ok", r)))
    job.failed.connect(lambda m: seen["events"].append(("failed", m)))
    job.cancelled.connect(lambda: seen["events"].append(("cancelled", None)))
    job.finished.connect(lambda: seen["events"].append(("finished", None)))
    return seen


def test_job_delivers_progress_then_result_then_finished(qtbot):
    job = Job()
    seen = record(job)
    assert job.start(count_to, 30)
    assert not job.start(count_to, 30)  # one call at a time
    assert job.wait(10_000)
    assert seen["events"] == [("ok", 60), ("finished", None)]
    assert seen["progress"][-1] == (30, 30, "step 30")  # the last report is never throttled
    assert len(seen["progress"]) < 30  # ... the others are (20 Hz)


def test_job_errors_are_one_line_and_keep_the_exception(qtbot):
    job = Job()
    seen = record(job)
    job.start(bad_input)
    job.wait()
    assert seen["events"] == [("failed", "resnet21 is not a preset"), ("finished", None)]
    seen["events"].clear()
    job.start(broken)
    job.wait()
    # a bug: its traceback in a crash log in the data folder, and the line says where
    kind, message = seen["events"][0]
    log = re.fullmatch(r"internal error: ZeroDivisionError: division by zero "
                       r"\(details in (.+\.log); please report it\)", message)
    assert kind == "failed" and log, message
    assert Path(log[1]).parent == data_dir() / "logs"
    assert "Traceback" in Path(log[1]).read_text() and "in broken" in Path(log[1]).read_text()
    assert isinstance(job.error, ZeroDivisionError)


def test_cancel_takes_effect_at_the_next_report(qtbot):
    job = Job()
    seen = record(job)
    job.start(count_to, 2000)
    qtbot.waitUntil(lambda: bool(seen["progress"]), timeout=5000)
    job.cancel()
    assert job.wait(5000)
    assert seen["events"] == [("cancelled", None), ("finished", None)]
    assert seen["progress"][-1][0] < 2000


def test_generator_functions_yield_progress_and_stop_at_a_yield(qtbot):
    def steps(n):
        for i in range(n):
            time.sleep(0.005)
            yield i + 1, n, "gen"
        return "all done"

    job = Job()
    seen = record(job)
    job.start(steps, 5)
    job.wait()
    assert seen["events"] == [("ok", "all done"), ("finished", None)]
    assert seen["progress"][-1] == (5, 5, "gen")
    seen["events"].clear()
    job.start(steps, 5000)
    qtbot.waitUntil(lambda: len(seen["progress"]) > 5, timeout=5000)
    job.cancel()
    job.wait()
    assert seen["events"] == [("cancelled", None), ("finished", None)]


def test_a_job_deleted_with_its_view_stops_its_call_and_reports_nothing(qtbot):
    """A tab closed (or a test's widget deleted) while its job runs: the call is cancelled at
    its next report and none of its signals reach the deleted Job (they raised 'Signal source
    has been deleted' in whatever ran the event loop next)."""
    from PySide6.QtWidgets import QWidget

    reached = []

    def long_count(progress):
        try:
            return count_to(2000, progress)
        finally:
            reached.append("ended")

    view = QWidget()
    job = Job(view)
    job.start(long_count)
    qtbot.waitUntil(lambda: job.is_running(), timeout=5000)
    time.sleep(0.05)  # reports are queued for the GUI thread
    view.deleteLater()
    qtbot.waitUntil(lambda: bool(reached), timeout=5000)  # stopped long before 2000 reports
    assert wait_for_background_work(5000)
    qtbot.wait(100)  # anything queued is delivered now: pytest-qt fails the test on an error


def test_latest_job_delivers_only_the_newest_call(qtbot):
    job = LatestJob()
    seen = record(job)
    busy = []
    job.runningChanged.connect(busy.append)
    job.start(count_to, 400)
    job.start(count_to, 3)
    assert job.wait(10_000)
    assert wait_for_background_work(10_000)
    qtbot.wait(20)
    assert seen["events"] == [("ok", 6), ("finished", None)]
    assert busy == [True, False]


class Counter:
    def __init__(self, post):
        self.post = post
        self.stopped = False

    def stop(self):
        self.stopped = True

    def run(self):
        for i in range(50):
            self.post("log", i)
            if i == 10:
                self.post("status", ("halfway", "ten logs"))
            if self.stopped:
                return "stopped"
        return "done"


class CounterSession(QueueSession):
    from PySide6.QtCore import Signal

    logged = Signal(list)
    statusChanged = Signal(str, str)
    finished = Signal(object)
    SIGNALS = {"log": "logged", "status": "statusChanged", "finished": "finished"}

    def start(self):
        self._run(Counter, lambda counter: counter.run())


def test_queue_session_batches_logs_and_keeps_their_order(qtbot):
    session = CounterSession()
    events = []
    session.logged.connect(lambda logs: events.append(("logs", list(logs))))
    session.statusChanged.connect(lambda s, m: events.append(("status", s)))
    session.finished.connect(lambda r: events.append(("finished", r)))
    with qtbot.waitSignal(session.runningChanged, timeout=5000, check_params_cb=lambda r: not r):
        session.start()
    logs = [i for kind, batch in events if kind == "logs" for i in batch]
    assert logs == list(range(50))
    status_at = next(k for k, e in enumerate(events) if e[0] == "status")
    before = [i for kind, batch in events[:status_at] if kind == "logs" for i in batch]
    assert before == list(range(11))  # logs before the event that followed them
    assert events[-1] == ("finished", "done")


def test_a_session_that_fails_says_why_in_one_line_and_logs_a_bug(qtbot):
    import sqlite3

    for error, expected in [(sqlite3.OperationalError("database is locked"),
                             "the run database failed: database is locked (another ResNet "
                             "Studio may be writing to it; try again)"),
                            (AttributeError("'NoneType' object has no attribute 'step'"),
                             None)]:
        def build(post, error=error):
            raise error

        session = CounterSession()
        failures = []
        session.failed.connect(failures.append)
        with qtbot.waitSignal(session.runningChanged, timeout=5000,
                              check_params_cb=lambda r: not r):
            session._run(build, lambda counter: counter.run())
        if expected is not None:
            assert failures == [expected]
            continue
        (line,) = failures
        log = re.fullmatch(r"internal error: AttributeError: 'NoneType' object has no "
                           r"attribute 'step' \(details in (.+); please report it\)", line)
        assert log, line
        assert "raise error" in Path(log[1]).read_text()


def test_settings_without_remember_never_touch_the_users_settings(qtbot):
    from PySide6.QtCore import QSettings

    QSettings().setValue("train/config", "saved by the user")
    temporary = Settings(remember=False)
    assert temporary.value("train/config") is None
    temporary.set_value("train/config", "screenshot")
    assert temporary.value("train/config") == "screenshot"
    assert QSettings().value("train/config") == "saved by the user"
    kept = Settings()
    kept.set_json("depthlab/form", {"depths": [20, 56]})
    assert Settings().json("depthlab/form") == {"depths": [20, 56]}
    kept.set_value("files/recent", "/one/file.json")
    assert kept.string_list("files/recent") == ["/one/file.json"]


def test_export_figure_writes_png_at_the_asked_width_and_svg(qtbot, tmp_path):
    view = layout_widget()
    qtbot.addWidget(view)
    view.resize(600, 400)
    plot = style_plot(view.addPlot(), "error (%)", "iterations", title="Depth", live=True)
    plot.plot([1, 2, 3], [3, 1, 2])
    view.show()
    png = export_figure(view.ci, tmp_path / "figure.png", width=800)
    svg = export_figure(view.ci, tmp_path / "figure.svg")
    assert Image.open(png).size[0] == 800
    assert "<svg" in svg.read_text()[:2000]
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically
