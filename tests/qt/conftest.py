"""Qt fixtures: settings in a temp folder, and a test fails if it leaves a QThread running."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _garbage_collected_on_gui_thread(qapp):
    # As in the app: a cycle collected on a worker thread can deadlock Qt (see app.py).
    from resnet_studio.qt.app import collect_garbage_on_gui_thread

    collect_garbage_on_gui_thread(qapp)


@pytest.fixture(autouse=True)
def _qt_settings_isolated(tmp_path, qapp):
    from PySide6.QtCore import QCoreApplication, QSettings

    QCoreApplication.setOrganizationName("resnet-studio-tests")
    QCoreApplication.setApplicationName("resnet-studio-tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    yield


@pytest.fixture(autouse=True)
def _no_thread_left_running(qapp):
    yield
    from PySide6.QtCore import QThread, QThreadPool

    qapp.processEvents()
    assert QThreadPool.globalInstance().waitForDone(10_000), "background work still running"
    running = [t for t in qapp.findChildren(QThread) if t.isRunning()]
    assert not running, f"test left {len(running)} QThread(s) running"


@pytest.fixture
def window(qtbot):
    """`window(**MainWindow kwargs)` makes a shown main window (settings: this test's temp
    folder), closed after the test once its background work has ended."""
    from resnet_studio.qt.kit.job import wait_for_background_work
    from resnet_studio.qt.main_window import MainWindow

    made = []

    def make(**kwargs):
        w = MainWindow(**kwargs)
        qtbot.addWidget(w)
        w.show()
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()
    wait_for_background_work()
