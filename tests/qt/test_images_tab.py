"""The Images tab as a user meets it: files in, predictions and reasons out, Cancel, weights
sources and their errors, feature mosaics, the residual block view, CSV export.

Random resnet18 weights and small generated images keep it fast (no download)."""

import csv
import subprocess
import sys
import urllib.error

import numpy as np
import pytest
from PIL import Image, ImageDraw

from resnet_studio.qt.kit.palette import WARNING
from resnet_studio.qt.tabs.images.tab import ImagesTab

TIMEOUT = 30_000


def _image(path, seed, size=64):
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(im)
    for _ in range(3):
        x, y = (int(v) for v in rng.integers(0, size - 16, 2))
        draw.ellipse([x, y, x + 16, y + 12], fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    im.save(path)
    return path


@pytest.fixture
def files(tmp_path):
    good = [_image(tmp_path / "a.png", 1), _image(tmp_path / "b.jpg", 2),
            _image(tmp_path / "c.png", 3)]
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes(good[1].read_bytes()[:200])  # a JPEG cut short
    text = tmp_path / "notes.png"
    text.write_text("meeting notes, not a picture\n")
    return good, corrupt, text


@pytest.fixture
def tab(qtbot):
    w = ImagesTab()
    w.resize(1200, 800)
    w.show()
    yield w
    # not qtbot.addWidget: that deletes the widget before this runs, with its work still going
    w.cancel()
    qtbot.waitUntil(lambda: not w.is_busy(), timeout=TIMEOUT)
    w.close()
    w.deleteLater()


def ready(qtbot, tab, model="resnet18"):
    """The tab with random weights for `model`, loaded."""
    with qtbot.waitSignal(tab.sourceReady, timeout=TIMEOUT) as blocker:
        tab.set_weights("random")
        tab.set_model(model)
    return blocker.args[0]


def idle(qtbot, tab):
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=TIMEOUT)


def add_and_classify(qtbot, tab, paths, expected):
    tab.add_paths([str(p) for p in paths])
    qtbot.waitUntil(lambda: len(tab.predictions()) >= expected and not tab.is_busy(),
                    timeout=TIMEOUT)


def test_module_imports_no_torch():
    code = ("import sys; import resnet_studio.qt.tabs.images.tab; "
            "bad = [m for m in ('torch', 'torchvision', 'captum') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_good_images_are_classified_and_bad_files_listed_with_reasons(qtbot, tab, files):
    handle = ready(qtbot, tab)
    good, corrupt, text = files
    add_and_classify(qtbot, tab, [*good, corrupt, text], expected=3)

    predictions = tab.predictions()
    assert [p.name for p in predictions] == ["a.png", "b.jpg", "c.png"]
    assert tab.image_count() == 3 and tab.strip.count() == 3
    for p in predictions:
        assert len(p.labels) == tab.topk == 5
        assert all(label in handle.categories for label in p.labels)
        assert list(p.probabilities) == sorted(p.probabilities, reverse=True)
    for uid, p in zip(tab.strip.uids(), predictions):
        pct = p.top1_probability
        pct = f"{pct:.1%}" if pct < 0.1 else f"{pct:.0%}"
        assert f"{pct} {p.top1[:5]}" in tab.strip.caption_of(uid)
        assert p.top1 in tab.strip.tooltip_of(uid)

    tab.select_image(1)
    rows = tab.bars.rows()
    assert [label for label, _ in rows] == list(predictions[1].labels)
    assert all(0.0 <= prob <= 1.0 for _, prob in rows)

    skipped = tab.skipped_texts()
    assert len(skipped) == 2
    assert any(s.startswith("notes.png: not an image") for s in skipped)
    assert any(s.startswith("broken.jpg: ") and len(s) > len("broken.jpg: ") for s in skipped)
    assert tab.skipped.isVisibleTo(tab)


def test_random_weights_are_labelled_in_warning_colour(qtbot, tab):
    ready(qtbot, tab)
    text = tab.source_text()
    assert "resnet18 · random weights (untrained)" in text
    assert WARNING in text  # the warning colour
    assert tab.source_combo.currentData() == "random"
    # a CIFAR preset has no ImageNet weights: that choice is disabled there
    assert tab.source_combo.model().item(0).isEnabled()
    with qtbot.waitSignal(tab.sourceReady, timeout=TIMEOUT):
        tab.set_model("resnet20")
    assert not tab.source_combo.model().item(0).isEnabled()
    assert "resnet20 · random weights (untrained)" in tab.source_text()


def test_cancel_stops_a_long_run_and_the_tab_stays_usable(qtbot, tab, tmp_path):
    ready(qtbot, tab)
    many = tmp_path / "many"
    many.mkdir()
    for i in range(60):
        _image(many / f"img{i:02d}.png", i, size=48)
    tab.batch_size = 2
    tab.add_paths([str(many)])
    qtbot.waitUntil(lambda: len(tab.predictions()) >= 2, timeout=TIMEOUT)
    assert tab.cancel_button.isVisible()
    tab.cancel()
    idle(qtbot, tab)
    done = len(tab.predictions())
    assert 2 <= done < 60
    assert not tab.cancel_button.isVisible()
    assert tab.resume_button.isVisibleTo(tab)
    assert f"({tab.image_count() - done})" in tab.resume_button.text()
    assert tab.state.remaining() == tab.image_count() - done
    assert {e.state for e in tab.state.entries} == {"done", "cancelled"}

    # a later add works and classifies just the new image
    extra = _image(tmp_path / "later.png", 99)
    add_and_classify(qtbot, tab, [extra], expected=done + 1)
    assert tab.predictions()[-1].name == "later.png"
    assert len(tab.predictions()) == done + 1

    tab.batch_size = 32
    tab.classify_remaining()
    qtbot.waitUntil(lambda: len(tab.predictions()) == tab.image_count() and not tab.is_busy(),
                    timeout=TIMEOUT)
    assert not tab.resume_button.isVisibleTo(tab)


def test_a_state_dict_for_another_architecture_shows_the_error_and_keeps_the_model(
        qtbot, tab, files, tmp_path):
    import torch

    from resnet_studio.core.models import build_model
    from resnet_studio.core.zoo import get_spec

    handle = ready(qtbot, tab)
    add_and_classify(qtbot, tab, files[0], expected=3)
    before = tab.predictions()
    path = tmp_path / "cifar_resnet20.pth"
    torch.save(build_model(get_spec("resnet20")).state_dict(), path)

    with qtbot.waitSignal(tab.sourceFailed, timeout=TIMEOUT) as blocker:
        tab.load_weights_file(path)
    message = blocker.args[0]
    assert "cifar_resnet20.pth does not fit resnet18" in message
    assert "different architecture" in message
    idle(qtbot, tab)
    banner = tab.banner_text()
    assert "Cannot use these weights" in banner and "cifar_resnet20.pth" in banner
    assert "Choose resnet20 in the Model sidebar." in banner and "--model" not in banner
    assert not tab.use_random_button.isVisibleTo(tab)
    # nothing lost: the same model, the same predictions, the picker back on random
    assert tab.source is handle
    assert tab.predictions() == before
    assert tab.source_combo.currentData() == "random"
    assert "random weights (untrained)" in tab.source_text()


def test_offline_imagenet_weights_name_file_and_folder_and_offer_random(
        qtbot, tab, files, tmp_path, monkeypatch):
    import resnet_studio.core.weights.torchvision as hub

    def offline(url, timeout=30.0):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(hub, "_open_url", offline)
    with qtbot.waitSignal(tab.sourceFailed, timeout=TIMEOUT):
        tab.set_weights("imagenet")  # (the default, "auto", never downloads)
        tab.set_model("resnet18")
    idle(qtbot, tab)
    banner = tab.banner_text()
    assert "resnet18-f37072fd.pth" in banner
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in banner
    assert tab.use_random_button.isVisibleTo(tab)
    assert "could not be loaded" in tab.source_text()
    problem = tab.state.problem
    assert problem.offline and problem.file == "resnet18-f37072fd.pth"
    assert problem.folder == str(tmp_path / "torch" / "hub" / "checkpoints")

    tab.add_paths([str(files[0][0])])  # no model: the image waits, nothing retried
    qtbot.waitUntil(lambda: tab.image_count() == 1 and not tab.is_busy(), timeout=TIMEOUT)
    assert tab.predictions() == []
    assert "no weights" in tab.bars.message()

    with qtbot.waitSignal(tab.sourceReady, timeout=TIMEOUT) as blocker:
        tab.use_random_button.click()
    assert blocker.args[0].kind == "random"
    qtbot.waitUntil(lambda: len(tab.predictions()) == 1 and not tab.is_busy(), timeout=TIMEOUT)
    assert tab.banner_text() == ""


def test_a_layer_shows_a_mosaic_laid_out_by_channel_count(qtbot, tab, files):
    tab.select_layer("layer1.0.conv1")  # before the model is there: applied once it is
    ready(qtbot, tab)
    add_and_classify(qtbot, tab, files[0], expected=3)
    tab.views.setCurrentWidget(tab.features)
    tab.select_image(0)
    qtbot.waitUntil(lambda: tab.features.result is not None and not tab.is_busy(),
                    timeout=TIMEOUT)
    view = tab.features
    assert view.layer() == "layer1.0.conv1"
    r = view.result
    assert r.maps.channels == 64 and r.maps.size == (56, 56)
    assert (r.rows, r.cols) == (8, 8)
    assert view.mosaic_view.image.shape == (8 * 56 + 7, 8 * 56 + 7, 3)

    tab.select_layer("layer3.0.conv1")  # 256 channels of 14×14 -> 16×16 tiles
    qtbot.waitUntil(lambda: view.result.maps.layer == "layer3.0.conv1" and not tab.is_busy(),
                    timeout=TIMEOUT)
    assert view.mosaic_view.image.shape == (16 * 14 + 15, 16 * 14 + 15, 3)

    # clicking a tile enlarges that channel, with its statistics
    channel = view.tile_at(14 + 1 + 3, 2)  # second tile of the first row
    assert channel == int(view.result.order[1])
    view.select_channel(channel)
    assert view.channel_view.image.shape == (14, 14, 3)
    assert f"channel <b>{channel}</b>" in view.channel_title.text()
    stats = view.channel_stats.text()
    assert "mean" in stats and "std" in stats and "max" in stats

    view.colormap_combo.setCurrentIndex(view.colormap_combo.findData("gray"))
    qtbot.waitUntil(lambda: view.result.options[1] == "gray" and not tab.is_busy(),
                    timeout=TIMEOUT)
    tile = view.mosaic_view.image[:14, :14]
    assert (tile[..., 0] == tile[..., 1]).all() and (tile[..., 1] == tile[..., 2]).all()


def test_residual_block_view_shows_x_fx_and_the_sum(qtbot, tab, files):
    ready(qtbot, tab)
    add_and_classify(qtbot, tab, files[0], expected=3)
    tab.views.setCurrentWidget(tab.residual)
    tab.select_image(2)
    tab.select_layer("layer1.0")
    view = tab.residual
    qtbot.waitUntil(lambda: view.result is not None and not tab.is_busy(), timeout=TIMEOUT)
    assert view.block() == "layer1.0"
    images = view.images()
    assert len(images) == 3
    assert all(im is not None and im.shape == (56, 56, 3) for im in images)
    d = view.result.decomposition
    assert d.shortcut_kind == "identity" and d.max_abs_error < 1e-4
    assert np.allclose(view.result.planes[2], view.result.planes[0] + view.result.planes[1],
                       atol=1e-5)
    assert all(c.text() for c in view.captions)
    assert "identity" in view.captions[0].text() or "unchanged" in view.captions[0].text()

    view.set_channel(5)
    qtbot.waitUntil(lambda: view.result.channel == 5 and not tab.is_busy(), timeout=TIMEOUT)
    assert np.allclose(view.result.planes[1], d.residual[5])


def test_csv_export_writes_one_row_per_image_and_rank(qtbot, tab, files, tmp_path):
    ready(qtbot, tab)
    add_and_classify(qtbot, tab, files[0], expected=3)
    assert tab.export_button.isEnabled()
    out = tmp_path / "predictions.csv"
    assert tab.export_csv(out) == 3
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["image", "path", "rank", "class_index", "label", "probability"]
    assert len(rows) == 1 + 3 * tab.topk
    assert [r[0] for r in rows[1::5]] == ["a.png", "b.jpg", "c.png"]
    assert [r[2] for r in rows[1:6]] == ["1", "2", "3", "4", "5"]


def test_a_pasted_image_is_classified_and_clear_empties_the_tab(qtbot, tab, files):
    ready(qtbot, tab)
    rgba = Image.new("RGBA", (80, 60), (200, 30, 30, 128))
    tab.add_pil_image(rgba)
    qtbot.waitUntil(lambda: len(tab.predictions()) == 1 and not tab.is_busy(), timeout=TIMEOUT)
    p = tab.predictions()[0]
    assert p.name == "Pasted image 1" and p.path is None

    tab.add_paths([str(files[2])])
    idle(qtbot, tab)
    assert tab.skipped.count() == 1
    tab.clear()
    assert tab.image_count() == 0 and tab.strip.count() == 0 and tab.skipped.count() == 0
    assert not tab.export_button.isEnabled()
