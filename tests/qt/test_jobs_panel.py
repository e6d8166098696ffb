"""The jobs panel: every running Job and session with its title, progress, elapsed time, time
left (a clock the test moves) and Cancel; the status-bar button; the notice when heavy work
starts beside other heavy work."""

import os
import queue
import threading
import time

import pytest
from PySide6.QtCore import Signal

from resnet_studio.qt.jobs_panel import JobsPanel
from resnet_studio.qt.kit.job import PROGRESS_HZ, Job, job_registry, wait_for_background_work
from resnet_studio.qt.kit.session import QueueSession
from resnet_studio.qt.main_window import MainWindow
from tests.fake_clock import FakeClock

MEASURING = "Gradients: measuring resnet56 and its plain twin at initialisation"
TRAINING = "Train: resnet20 on synthetic, 400 steps"


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(job_registry(), "clock", fake)
    return fake


def reported(reports: queue.Queue, progress):
    """Reports what the test puts in the queue; None ends it. Waits are cancellation points."""
    while True:
        try:
            item = reports.get(timeout=0.01)
        except queue.Empty:
            progress.check()
            continue
        if item is None:
            return "done"
        time.sleep(1.5 / PROGRESS_HZ)  # a report sooner than 1/PROGRESS_HZ after one is dropped
        progress(*item)


class Waiter:
    def __init__(self):
        self.stopped = threading.Event()

    def stop(self):
        self.stopped.set()


class PausableSession(QueueSession):
    pausedChanged = Signal(bool)

    def start(self):
        self.title = TRAINING
        self._run(lambda post: Waiter(), lambda waiter: waiter.stopped.wait(30))


def entry_of(work):
    return next(w for w in job_registry().running() if w.work is work)


def test_running_jobs_are_listed_with_progress_elapsed_and_time_left(qtbot, clock):
    panel = JobsPanel(job_registry())
    qtbot.addWidget(panel)
    assert panel.button.text() == "No jobs running" and panel.row_texts() == []
    notices = []
    job_registry().notice.connect(notices.append)

    reports = queue.Queue()
    job = Job(title=MEASURING, heavy=True)
    job.start(reported, reports)
    reports.put((0, 100, "forward"))
    qtbot.waitUntil(lambda: entry_of(job).text == "forward", timeout=5000)
    clock.advance(10)
    reports.put((50, 100, "backward"))
    qtbot.waitUntil(lambda: entry_of(job).meter.done == 50, timeout=5000)
    panel.refresh()
    assert panel.row_texts() == [(MEASURING, "backward · 50%", "0:10", "about 0:10")]
    assert panel.button.text() == "1 job running"

    # heavy work beside heavy work: both slow down, and the user is told
    session = PausableSession()
    session.start()
    cores = os.cpu_count()
    assert notices == [f"{TRAINING} started while {MEASURING} runs: both will be slower, they "
                       f"share this computer's {cores} processor core{'s' if cores > 1 else ''}."]
    assert panel.notice.text() == f"⚠ {notices[0]}"
    panel.refresh()
    assert len(panel.row_texts()) == 1  # a job younger than the grace period is not listed yet
    session.report(0, 400, "step 0 / 400")
    clock.advance(20)
    session.report(100, 400, "step 100 / 400")
    session.pausedChanged.emit(True)
    clock.advance(300)  # paused for five minutes: neither elapsed nor time left moves
    panel.refresh()
    assert panel.row_texts()[1] == (TRAINING, "step 100 / 400 · 25%", "0:20",
                                    "paused (1:00 left)")
    assert panel.button.text() == "2 jobs running"
    assert panel.row_texts()[0][2] == "5:30"

    panel.cancel_row(0)  # Cancel the measurement
    qtbot.waitUntil(lambda: not job.is_running(), timeout=5000)
    panel.refresh()
    assert [r[0] for r in panel.row_texts()] == [TRAINING] and panel.notice.isHidden()
    panel.cancel_row(0)  # Cancel the session: it stops
    assert session.wait(5000)
    qtbot.waitUntil(lambda: not session.is_running() and not job_registry().running())
    panel.refresh()
    assert panel.row_texts() == [] and panel.button.text() == "No jobs running"
    assert job_registry().running() == []


def test_an_untitled_job_is_named_after_its_function(qtbot):
    job = Job()
    job.start(reported, queue.Queue())
    assert job.call_title == "Reported" and entry_of(job).title == "Reported"
    job.cancel()
    assert job.wait(5000)


def test_the_status_bar_button_opens_the_jobs_dock(qtbot):
    window = MainWindow(remember=False)
    qtbot.addWidget(window)
    window.show()
    assert window.jobs_panel.button in window.statusBar().findChildren(type(window.jobs_panel
                                                                            .button))
    assert window.jobs_dock.isHidden()
    window.jobs_panel.button.click()
    assert window.jobs_dock.isVisible()
    window.jobs_panel.button.click()
    assert window.jobs_dock.isHidden()
    window.close()
    wait_for_background_work()
