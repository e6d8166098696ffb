"""What the Images and Attributions tabs show on first launch without a network (the shipped
trained ResNet-20, its trained plain-20 twin and the sample glyphs), "Use in…"'s
`use_checkpoint(path, twin)`, the twin explained for the net's class (or its own), and images
shared between the two tabs.

The values depend on the shipped nets (app/trained_nets.py) classifying the five sample glyphs
correctly (validation error 0.0 for both at the time of writing)."""

import shutil

import pytest

from resnet_studio.app.samples import sample_paths
from resnet_studio.app.trained_nets import shipped_info
from resnet_studio.qt.kit.tab import TabContext
from resnet_studio.qt.tabs.attributions.tab import AttributionsTab
from resnet_studio.qt.tabs.images.tab import ImagesTab

TIMEOUT = 60_000
SHIPPED = "trained ResNet-20 (built-in glyphs), shipped"
GLYPHS = [f"glyph {c}" for c in range(5)]


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no ImageNet weights here


@pytest.fixture
def context():
    return TabContext()


def _close(qtbot, tab):
    tab.shutdown()
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=TIMEOUT)
    tab.close()
    tab.deleteLater()


@pytest.fixture
def images(qtbot, context):
    tab = ImagesTab(context)
    tab.resize(1000, 700)
    yield tab
    _close(qtbot, tab)


@pytest.fixture
def attributions(qtbot, context):
    tab = AttributionsTab(context)
    tab.resize(1000, 700)
    tab.set_methods(["saliency"])
    yield tab
    _close(qtbot, tab)


def run(qtbot, tab):
    with qtbot.waitSignal(tab.runFinished, timeout=TIMEOUT) as blocker:
        tab.run()
    assert blocker.args[0] == "done", tab.status_text()


def checkpoint_copy(tmp_path, name, run_id):
    """A stored run's checkpoint as "Use in…" passes it: a safetensors beside its json."""
    folder = tmp_path / run_id
    folder.mkdir()
    src = shipped_info(name).path
    for suffix in (".safetensors", ".json"):
        shutil.copy(src.with_suffix(suffix), folder / f"model{suffix}")
    return folder / "model.safetensors"


def test_images_offline_show_the_shipped_net_classifying_the_sample_glyphs(
        qtbot, images, context, attributions):
    images.set_model("resnet56")  # the sidebar's default: no trained weights for it here
    images.show()
    qtbot.waitUntil(lambda: len(images.predictions()) == 5 and not images.is_busy(),
                    timeout=TIMEOUT)
    assert images.source.name == "resnet20" and images.source.label == SHIPPED
    assert images.source_combo.currentData() == "shipped"
    text = images.source_text()
    assert SHIPPED in text and "sidebar: resnet56 (untrained here)" in text
    assert [p.name for p in images.predictions()] == [p.name for p in sample_paths()]
    assert [p.top1 for p in images.predictions()] == GLYPHS
    # the samples are the Attributions tab's too, without opening them again
    assert context.images.paths() == [str(p) for p in sample_paths()]
    assert attributions.inputs.image_paths() == [str(p) for p in sample_paths()]


def test_attributions_offline_explain_both_trained_nets_for_the_nets_class(
        qtbot, attributions):
    attributions.set_model("resnet56")
    qtbot.waitUntil(lambda: attributions.state.resolved is not None, timeout=TIMEOUT)
    assert attributions.inputs.model_label.text() == f"resnet20: {SHIPPED}"
    assert attributions.state.image == str(sample_paths()[0])  # glyph-0.png
    assert attributions.form.target_combo.itemText(1) == "0: glyph 0"
    run(qtbot, attributions)
    net, twin = (attributions.cells()[(row, "saliency")] for row in ("model", "plain twin"))
    assert net.title == f"resnet20: {SHIPPED}"
    assert twin.title == "plain_resnet20: trained plain-20 (built-in glyphs), shipped"
    assert (net.result.target, net.target_label, net.predicted_label) == (0, "glyph 0", "glyph 0")
    assert (twin.result.target, twin.predicted_label) == (0, "glyph 0")
    assert "class 0: <b>glyph 0</b> (its prediction)" in \
        attributions.grid.caption_text("plain twin", "saliency")


def test_compute_pressed_while_the_shipped_net_loads_says_so_and_runs_once_loaded(
        qtbot, attributions):
    attributions.set_model("resnet56")
    with qtbot.waitSignal(attributions.runFinished, timeout=TIMEOUT) as blocker:
        attributions.run()  # the shipped net and its sample glyph are still to come
        assert attributions.status_text() == "Loading the model and its sample image…"
        assert attributions.state.image is None and not attributions.is_busy()
    assert blocker.args[0] == "done"
    assert attributions.state.image == str(sample_paths()[0])
    assert sorted(attributions.cells()) == [("model", "saliency"), ("plain twin", "saliency")]
    assert attributions.status_text() == "2 attribution map(s) computed."


def test_the_twin_explains_the_nets_class_or_if_asked_its_own(qtbot, attributions, tmp_path):
    # random weights: the two nets predict different classes of the glyph
    attributions.set_model("resnet20")
    attributions.set_weights("random")
    attributions.set_image(sample_paths()[3])
    run(qtbot, attributions)
    net, twin = (attributions.cells()[(row, "saliency")] for row in ("model", "plain twin"))
    assert net.predicted_label != twin.predicted_label
    assert twin.result.target == net.result.target  # the same class by default
    assert f"(predicts {twin.predicted_label})" in \
        attributions.grid.caption_text("plain twin", "saliency")

    attributions.form.same_target_combo.setCurrentIndex(1)  # each its own prediction
    assert attributions.form.value().same_target is False
    run(qtbot, attributions)
    net2, twin2 = (attributions.cells()[(row, "saliency")] for row in ("model", "plain twin"))
    assert net2.result.target == net.result.target
    assert twin2.target_label == twin2.predicted_label == twin.predicted_label
    assert twin2.result.target != net2.result.target


def test_use_checkpoint_shows_a_stored_run_and_its_trained_twin(qtbot, images, attributions,
                                                                tmp_path):
    net = checkpoint_copy(tmp_path, "resnet20", "run-7")
    twin = checkpoint_copy(tmp_path, "plain20", "run-8")
    # "Use in…" may come before the sidebar's first model: the checkpoint stays
    attributions.use_checkpoint(net, twin=twin)
    attributions.set_model("resnet56")
    qtbot.waitUntil(lambda: attributions.state.resolved is not None, timeout=TIMEOUT)
    assert attributions.inputs.model_label.text().startswith("resnet20: checkpoint run-7")
    assert attributions.inputs.compare_combo.currentData() == "plain"
    attributions.set_image(sample_paths()[2])
    run(qtbot, attributions)
    rows = {row: cell for (row, _), cell in attributions.cells().items()}
    assert rows["model"].title.startswith("resnet20: checkpoint run-7")
    assert rows["plain twin"].title.startswith("plain_resnet20: checkpoint run-8")
    assert rows["model"].result.target == rows["plain twin"].result.target == 2

    images.set_model("resnet56")
    images.show()
    with qtbot.waitSignal(images.sourceReady, timeout=TIMEOUT) as blocker:
        images.use_checkpoint(net, twin=twin)
    assert (blocker.args[0].name, blocker.args[0].kind) == ("resnet20", "checkpoint")
    assert "checkpoint run-7" in images.source_text()
    assert images.source_combo.currentData() == "file"
    # the image opened in the Attributions tab is here too
    qtbot.waitUntil(lambda: "glyph-2.png" in [p.name for p in images.predictions()]
                    and not images.is_busy(), timeout=TIMEOUT)
    # another model in the sidebar: back to the automatic weights
    with qtbot.waitSignal(images.sourceReady, timeout=TIMEOUT) as blocker:
        images.set_model("resnet110")
    assert blocker.args[0].label == SHIPPED


def test_both_tabs_fit_beside_the_sidebar_at_1280x720(qtbot, images, attributions):
    # the page area at 1280 x 720 is about 940 x 640: no horizontal scrolling, and the Images
    # page's height does not grow with its width (a wrapped label would make it scroll)
    assert images.minimumSizeHint().width() <= 700
    assert not images.layout().hasHeightForWidth()
    assert images.minimumSizeHint().height() <= 560
    images.resize(940, 640)
    images.show()
    qtbot.waitUntil(lambda: images.features.controls._rows == 2, timeout=TIMEOUT)
    assert attributions.minimumSizeHint().width() <= 940 - 128

