"""The Attributions tab: a grid of maps for the model and its plain twin, the IG delta, display
settings, export, and a cancelled or failed run leaving the tab usable.

Random ResNet-20 weights at 32×32 keep it fast (no download)."""

import numpy as np
import pytest
from PIL import Image

from resnet_studio.app.attribution import MethodParams
from resnet_studio.app.attribution_state import AttributionSettings
from resnet_studio.qt.tabs.attributions.form import AttributionForm
from resnet_studio.qt.tabs.attributions.tab import AttributionsTab

TIMEOUT = 60_000


@pytest.fixture
def image(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "cat.png"
    Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def tab(qtbot, image):
    w = AttributionsTab()
    w.resize(1200, 800)
    w.show()
    w.set_model("resnet20")
    w.set_weights("random")
    w.set_image(image)
    w.form.steps_spin.setValue(8)
    w.form.batch_spin.setValue(4)
    yield w
    w.cancel()
    qtbot.waitUntil(lambda: not w.is_busy(), timeout=TIMEOUT)
    w.close()
    w.deleteLater()


def run(qtbot, tab):
    with qtbot.waitSignal(tab.runFinished, timeout=TIMEOUT) as blocker:
        tab.run()
    return blocker.args[0]


def test_grid_twin_delta_display_and_export(qtbot, tab, tmp_path):
    tab.set_methods(["integrated_gradients", "layer_gradcam"])
    tab.set_compare("plain")
    busy, greyed = [], []
    tab.busyChanged.connect(busy.append)
    tab.busyChanged.connect(lambda _b: greyed.append(tab.stale.is_shown()))
    assert run(qtbot, tab) == "done"
    assert busy == [True, False]
    assert greyed == [True, False]  # the maps say they are being computed, then not
    cells = tab.cells()
    assert set(cells) == {("model", "integrated_gradients"), ("model", "layer_gradcam"),
                          ("plain twin", "integrated_gradients"), ("plain twin", "layer_gradcam")}
    ig = cells[("model", "integrated_gradients")]
    assert ig.result.delta is not None
    assert "δ" in tab.grid.caption_text("model", "integrated_gradients")
    assert ig.result.attribution.shape == (3, 32, 32)
    assert cells[("plain twin", "layer_gradcam")].title.startswith("plain_resnet20")
    # display settings redraw without recomputing
    before = tab.cell_pixmap("model", "integrated_gradients").toImage()
    tab.display.signed_check.setChecked(True)
    assert tab.display.colormap_combo.currentText() == "bwr"
    assert tab.cell_pixmap("model", "integrated_gradients").toImage() != before
    tab.display.opacity_slider.setValue(10)
    tab.display.clip_spin.setValue(90.0)
    # export: PNG overlay and the raw array
    png, npy = tab.export("model", "integrated_gradients", tmp_path / "ig")
    assert png.is_file() and Image.open(png).size == (32, 32)
    assert np.array_equal(np.load(npy), ig.result.attribution)
    # a picked class as the target
    tab.set_methods(["saliency"])
    tab.set_compare(None)
    qtbot.waitUntil(lambda: tab.form.target_combo.count() == 11, timeout=TIMEOUT)  # + 10 classes
    tab.set_target(3)
    assert run(qtbot, tab) == "done"
    assert set(tab.cells()) == {("model", "saliency")}
    assert tab.cells()[("model", "saliency")].result.target == 3
    assert tab.form.target_combo.currentText() == "3: cat"
    assert tab.form.layer_combo.findData("layer3.2") == 1  # Grad-CAM layers, last block first
    # the sanity check
    with qtbot.waitSignal(tab.runFinished, timeout=TIMEOUT) as blocker:
        tab.run_sanity()
    assert blocker.args[0] == "done"
    steps = tab.state.sanity.report.steps
    assert "layer3" in [s.randomized for s in steps]
    shown = tab.sanity_view.verdict.text() + tab.sanity_view.table.text()
    assert "layer3" in shown and ("passed" in shown or "flagged" in shown)
    # the cascade as maps in the main area: the original, then one per step
    assert tab.pages.currentWidget() is tab.sanity_view
    assert len(tab.sanity_view.pictures) == len(steps) + 1
    assert tab.sanity_view.caption_texts()[0] == "original"
    assert tab.sanity_view.caption_texts()[1].startswith(f"down to {steps[0].randomized}")
    assert not tab.sanity_view.pictures[-1].pixmap().isNull()


def test_cancel_and_failure_leave_tab_usable(qtbot, tab):
    tab.set_methods(["integrated_gradients"])
    tab.form.steps_spin.setValue(1000)
    tab.form.batch_spin.setValue(1)
    progressed = []
    tab.job.progressed.connect(lambda done, total, text: progressed.append((done, total, text)))
    with qtbot.waitSignal(tab.runFinished, timeout=TIMEOUT) as blocker:
        tab.run()
        assert tab.is_busy() and not tab.run_button.isEnabled()
        qtbot.waitUntil(lambda: any(p[1] > 0 for p in progressed), timeout=TIMEOUT)
        tab.cancel()
    assert blocker.args[0] == "cancelled"
    assert not tab.is_busy() and tab.run_button.isEnabled()
    assert "Cancelled" in tab.status_text()
    assert progressed[-1][0] < progressed[-1][1]  # stopped long before the 1000 batches

    tab.set_weights(tab.state.image + ".missing.pt")  # a failing run
    assert run(qtbot, tab) == "failed"
    assert tab.status_text().startswith("Failed") and tab.run_button.isEnabled()

    tab.set_weights("random")
    tab.set_methods(["saliency"])
    assert run(qtbot, tab) == "done"
    assert ("model", "saliency") in tab.cells()


def test_form_value_round_trip(qtbot):
    form = AttributionForm()
    qtbot.addWidget(form)
    assert form.value() == AttributionSettings()
    settings = AttributionSettings(
        methods=("saliency", "occlusion"), noise_tunnel="vargrad",
        params=MethodParams(steps=20, baseline="noise", batch_size=2, samples=7, window=6,
                            stride=3))
    form.set_value(settings)
    assert form.value() == settings
