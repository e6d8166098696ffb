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
