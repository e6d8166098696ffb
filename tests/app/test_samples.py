"""The offline defaults of the Images and Attributions tabs: the shipped sample images are what
the built-in data's generator draws, the shipped trained ResNet-20 classifies them, and
"automatic" weights mean ImageNet's only once their file is on this machine."""

import io

import numpy as np
import pytest
from PIL import Image

from resnet_studio.app import samples
from resnet_studio.app.classify import classify_batch
from resnet_studio.app.images import open_source
from resnet_studio.app.model_sources import ModelSourceCache
from resnet_studio.app.shared_images import SharedImages
from resnet_studio.app.trained_nets import shipped_info
from resnet_studio.core.images import load_image


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No ImageNet weights on this machine."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


def test_the_sample_images_are_what_the_generator_draws_one_per_class():
    paths = samples.sample_paths()
    assert [p.name for p in paths] == [f"glyph-{c}.png" for c in range(5)]
    assert [samples.sample_class(p) for p in paths] == [f"glyph {c}" for c in range(5)]
    drawn = samples.make_samples()
    assert sorted(drawn) == [p.name for p in paths]
    for p in paths:
        shipped = np.asarray(Image.open(p))
        again = np.asarray(Image.open(io.BytesIO(drawn[p.name])))
        assert shipped.shape == (16, 16, 3) and np.array_equal(shipped, again), p.name


def test_regenerate_writes_the_same_pixels(tmp_path):
    written = samples.regenerate(tmp_path)
    assert [p.name for p in written] == [p.name for p in samples.sample_paths()]
    for new, old in zip(written, samples.sample_paths()):
        assert np.array_equal(np.asarray(Image.open(new)), np.asarray(Image.open(old)))


def test_automatic_weights_offline_are_the_shipped_resnet20_and_it_knows_the_samples(offline):
    chosen = samples.default_source("resnet18")
    assert chosen.shipped and chosen.model is None
    assert chosen.weights == str(shipped_info("resnet20").path)
    assert chosen.twin == str(shipped_info("plain20").path)
    assert samples.shipped_label(chosen.weights) == "trained ResNet-20 (built-in glyphs), shipped"
    assert samples.shipped_label(chosen.twin) == "trained plain-20 (built-in glyphs), shipped"
    assert samples.shipped_label("random") is None

    models = ModelSourceCache()
    info = open_source(models, "resnet56", samples.AUTO, warm_up=False)
    assert (info.name, info.kind, info.shipped) == ("resnet20", "checkpoint", True)
    assert info.label == "trained ResNet-20 (built-in glyphs), shipped"
    assert info.categories == tuple(f"glyph {c}" for c in range(5))
    assert info.requested == ("resnet56", "auto", False) and info.key[1] == chosen.weights
    paths = samples.sample_paths()
    predictions = classify_batch(models, info, [load_image(p) for p in paths], topk=2)
    assert [p.top1 for p in predictions] == [samples.sample_class(p) for p in paths]


def test_automatic_weights_are_imagenet_once_their_file_is_here(offline):
    assert not samples.imagenet_weights_here("resnet18")
    offline.mkdir(parents=True)
    (offline / "resnet18-f37072fd.pth").write_bytes(b"")  # only looked at, never read here
    chosen = samples.default_source("resnet18")
    assert (chosen.model, chosen.weights, chosen.twin) == ("resnet18", "imagenet", None)
    # a model torchvision has no weights for, and the shipped choice, stay on the shipped pair
    assert samples.default_source("resnet56").shipped
    assert samples.default_source("resnet18", samples.SHIPPED).shipped


def test_shared_images_keep_order_drop_repeats_and_tell_listeners(tmp_path):
    shared, heard = SharedImages(), []

    class Tab:
        def added(self, paths):
            heard.append(paths)

    tab = Tab()
    shared.subscribe(tab.added)
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert shared.add([a, b, a]) == [str(a), str(b)]
    assert shared.add([b]) == []
    assert shared.paths() == [str(a), str(b)] and heard == [[str(a), str(b)]]
    del tab  # a closed tab is forgotten, not called
    shared.add([tmp_path / "c.png"])
    assert len(heard) == 1
