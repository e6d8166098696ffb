"""Help > Tour: each step sets the app up as it says, and its check quotes what the tab shows."""

import pytest

from resnet_studio.app import tour
from resnet_studio.app.trained_nets import shipped_info
from resnet_studio.core.analysis.gradients import format_factor
from resnet_studio.qt.kit.job import wait_for_background_work
from resnet_studio.qt.main_window import MainWindow
from resnet_studio.qt.tabs.attributions import AttributionsTab
from resnet_studio.qt.tabs.gradients.lesion_view import LesionView
from resnet_studio.qt.tabs.images import ImagesTab


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    from PIL import Image

    sample = tmp_path / "sample.png"
    Image.new("RGB", (16, 16), (200, 40, 40)).save(sample)
    monkeypatch.setattr(tour, "sample_image", lambda folder=None: sample)
    opened = []  # the tabs' use_checkpoint (another branch's contract), recorded
    for cls in (ImagesTab, LesionView, AttributionsTab):
        monkeypatch.setattr(cls, "use_checkpoint", lambda self, path, twin=None, c=cls:
                            opened.append((c.__name__, path.stem, twin and twin.stem)),
                            raising=False)
    w = MainWindow(initial_model="resnet20", remember=False)
    w.opened, w.sample = opened, sample
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.show()
    w.start_loading()
    qtbot.waitUntil(lambda: w.runtime is not None, timeout=60_000)
    yield w
    w.tour.close()
    for tab in w.tabs.built():
        tab.shutdown()
    w.close()
    wait_for_background_work()


def test_each_step_sets_the_app_up_and_checks_what_it_shows(window, qtbot):
    grads = window.show_tab("gradients")
    grads.init_view.batch_spin.setValue(4)  # a small batch: the measurement takes a moment
    window.show_tour()
    panel = window.tour
    # 1: ResNet-56 vs plain-56 at initialisation, the ratio quoted from the measurement
    assert window.current_tab() is grads and grads.picker.model_combo.currentData() == 56
    assert grads.sections.currentIndex() == 0
    qtbot.waitUntil(lambda: grads.state.report is not None
                    and grads.state.report.net.model == "resnet56", timeout=60_000)
    check = panel.check()
    plain = grads.state.report.plain
    assert f"{format_factor(plain.first_to_last)}× the last one's in {plain.label}" in check.text
    # 2: the Depth Lab's quick preset; nothing to check before it has run
    panel.next_button.click()
    lab = window.depth_lab
    assert window.current_tab() is lab and lab.form.preset == "quick"
    assert panel.last_check.waiting and "press Run experiment" in panel.last_check.text
    # 3: the trained ResNet-56 in the Images tab's block view, with the sample image
    panel.next_button.click()
    images = window.images
    assert window.current_tab() is images and images.views.currentWidget() is images.residual
    qtbot.waitUntil(lambda: images.image_count() == 1, timeout=10_000)
    assert ("ImagesTab", "resnet56", None) in window.opened
    # 4: the lesion study of the shipped trained pair
    panel.next_button.click()
    assert window.current_tab() is grads and grads.sections.currentIndex() == 2
    assert window.opened[-1] == ("LesionView", "resnet56", "plain56")
    assert "press Run in the Lesion study page" in panel.check().text
    # 5: attributions of ResNet-20 and its plain twin on the sample image
    panel.next_button.click()
    attributions = window.attributions
    assert window.current_tab() is attributions
    assert window.opened[-1] == ("AttributionsTab", "resnet20", "plain20")
    assert attributions.state.image == str(window.sample)
    assert not panel.next_button.isEnabled() and panel.back_button.isEnabled()
    assert shipped_info("plain20").path.is_file()
