"""The window's Run menu, its colours (light, dark, the system's), the forms' layout at
1280x720 and the screenshot plan."""

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QComboBox, QSpinBox, QWidget

from resnet_studio.qt.kit import palette
from resnet_studio.qt.kit.job import wait_for_background_work
from resnet_studio.qt.kit.settings import Settings
from resnet_studio.qt.kit.theme import SETTINGS_KEY, Theme
from resnet_studio.qt.main_window import MainWindow
from resnet_studio.qt.screenshots import parse_sizes, plan_shots


@pytest.fixture
def window(qtbot):
    w = MainWindow(initial_model="resnet20", remember=False)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()
    wait_for_background_work()


def test_run_menu_presses_the_train_tabs_buttons_and_follows_them(window, qtbot):
    actions = window.run_menu.actions
    assert actions["start"].shortcut().toString() == "Ctrl+R"
    assert actions["stop"].shortcut().toString() == "Ctrl+."
    # before the Train tab exists only Start (and the Depth Lab's Run) can be chosen
    assert [a.isEnabled() for a in actions.values()] == [True, False, False, True]
    tab = window.show_tab("train")
    tab.set_spec(window.sidebar.spec())
    assert actions["start"].isEnabled() and not actions["stop"].isEnabled()
    tab.form.dataset.setCurrentText("")  # an invalid form: the button and the action say no
    assert not tab.start_button.isEnabled() and not actions["start"].isEnabled()
    tab.form.dataset.setCurrentText("synthetic")
    assert actions["start"].isEnabled()
    pressed = []
    tab.start_button.clicked.disconnect()
    tab.start_button.clicked.connect(lambda: pressed.append("start"))
    window.show_tab("architecture")
    actions["start"].trigger()
    assert pressed == ["start"] and window.current_tab() is tab
    tab.pause_button.setText("Resume")  # a paused run
    window.run_menu.refresh()
    assert actions["pause"].text() == "&Resume Training"


def test_run_menu_runs_the_depth_lab(window, qtbot):
    lab = window.show_tab("depth_lab")
    pressed = []
    lab.controls.run_button.clicked.disconnect()
    lab.controls.run_button.clicked.connect(lambda: pressed.append("run"))
    window.show_tab("train")
    window.run_menu.actions["depth_lab"].trigger()
    assert pressed == ["run"] and window.current_tab() is lab
    lab.controls.set_running(True, can_run=True)
    assert not window.run_menu.actions["depth_lab"].isEnabled()
    lab.controls.set_running(False, can_run=True)


def test_palette_follows_a_forced_system_scheme_unless_the_user_chose(window, qtbot):
    app = QApplication.instance()
    theme = Theme.of(app, window.settings)
    window.show_tab("train")  # a tab with figures: they follow too
    plots = [w for w in window.train.findChildren(QWidget)
             if isinstance(w, pg.GraphicsLayoutWidget)]
    assert plots
    try:
        theme.system_is_dark = lambda: True
        app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        assert theme.dark and palette.is_dark()
        assert app.palette().color(QPalette.ColorRole.Window).name() == "#2b2d30"
        assert plots[0].backgroundBrush().color().name() == palette.DARK["PLOT_BACKGROUND"]
        assert palette.message_style(error=True) == "color: #ef7070;"
        window.colour_actions["light"].trigger()  # the View menu's choice wins over the system
        assert not theme.dark and window.settings.value(SETTINGS_KEY) == "light"
        assert plots[0].backgroundBrush().color().name() == "#ffffff"
        window.colour_actions["dark"].trigger()
        assert theme.dark and app.palette().color(QPalette.ColorRole.Base).lightness() < 64
    finally:
        theme.system_is_dark = lambda: False
        theme.set_choice("system")
    assert not theme.dark and app.palette().color(QPalette.ColorRole.Window).lightness() > 200


def test_the_choice_is_remembered_between_sessions(qapp):
    theme = Theme.of(qapp, Settings(remember=False))
    try:
        theme.use_settings(Settings(remember=True))
        theme.set_choice("dark")
        assert Settings(remember=True).value(SETTINGS_KEY) == "dark"
        with pytest.raises(KeyError, match="'pink' is not one of system, light, dark"):
            theme.set_choice("pink")
    finally:
        theme.set_choice("system")
        theme.use_settings(Settings(remember=False))


@pytest.mark.parametrize("key", ["train", "depth_lab"])
def test_forms_are_not_clipped_at_1280x720(window, qtbot, key):
    window.resize(1280, 720)
    tab = window.show_tab(key)
    qtbot.wait(50)
    form = tab.form
    viewport = form.parentWidget()  # the scroll area's viewport
    fields = [w for w in form.findChildren(QWidget)
              if isinstance(w, (QComboBox, QSpinBox)) and w.isVisible()]
    assert fields
    for field in fields:
        right = field.mapTo(viewport, field.rect().topRight()).x()
        assert right < viewport.width(), f"{field.objectName() or field} cut at the right"


def test_screenshot_plan_names_one_file_per_tab_and_size(tmp_path):
    assert parse_sizes("1280x720, 1920x1080") == [(1280, 720), (1920, 1080)]
    with pytest.raises(ValueError, match="'12x7' is not a window size"):
        parse_sizes("12x7")
    shots = plan_shots(str(tmp_path / "{tab}-{size}.png"), ["train", "depth_lab"],
                       [(1280, 720), (1920, 1080)])
    assert [s.path.name for s in shots] == ["train-1280x720.png", "depth-lab-1280x720.png",
                                            "train-1920x1080.png", "depth-lab-1920x1080.png"]
    with pytest.raises(ValueError, match="put {tab} and {size}"):
        plan_shots(str(tmp_path / "one.png"), ["train", "depth_lab"], [(1280, 720)])
