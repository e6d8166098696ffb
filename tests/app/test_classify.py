"""Classification as both front-ends run it: files in, predictions and reasons out; the window's
batches through the shared model cache give what `classify` gives; and the tab's state object.

Random resnet20 weights (CIFAR stem, 32x32 inputs) keep it fast."""

import csv
import io

import numpy as np
import pytest
from PIL import Image

from resnet_studio.app.classify import (
    classify_batch,
    classify_files,
    predictions_to_csv,
    write_predictions_csv,
)
from resnet_studio.app.images import LoadRequest, load_step, open_source
from resnet_studio.app.images_state import ImagesState, SourceProblem
from resnet_studio.app.model_sources import ModelSourceCache
from resnet_studio.core.preprocess import CIFAR10_CLASSES
from resnet_studio.core.weights import random_source


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    for i, size in enumerate([(40, 30), (64, 64), (50, 90)]):
        Image.fromarray(rng.integers(0, 256, (*size, 3), np.uint8)).save(tmp_path / f"p{i}.png")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    return tmp_path


def test_files_are_classified_in_order_and_bad_ones_listed(folder):
    loads = []

    def source():
        loads.append(1)
        return random_source("resnet20")

    result = classify_files([folder], source, topk=10, batch_size=2)
    assert loads == [1]  # loaded once, when the first image had loaded
    assert [p.name for p in result.predictions] == ["p0.png", "p1.png", "p2.png"]
    assert [p.index for p in result.predictions] == [0, 1, 2]
    assert [f.path.name for f in result.failures] == ["broken.jpg"]
    for p in result.predictions:
        assert abs(sum(p.probabilities) - 1) < 1e-5  # all 10 classes: a full softmax
        assert set(p.labels) == set(CIFAR10_CLASSES)
    doc = result.to_dict()
    assert doc["model"] == "resnet20" and doc["kind"] == "random"
    assert doc["preprocess"]["crop"] == 32 and len(doc["predictions"][0]["top"]) == 10
    assert doc["failures"][0]["path"].endswith("broken.jpg")


def test_no_weights_are_loaded_when_no_image_loads(folder):
    result = classify_files([folder / "broken.jpg", folder / "missing.png"],
                            lambda: pytest.fail("loaded a model for nothing"))
    assert result.predictions == [] and len(result.failures) == 2 and result.model == ""


def test_a_folder_is_decoded_and_classified_one_batch_at_a_time(tmp_path, monkeypatch):
    """However many files, no more than one batch of decoded images is alive at once."""
    import weakref

    from resnet_studio.core import classify as core_classify
    from resnet_studio.core import images

    for i in range(11):
        Image.new("RGB", (40, 30), (20 * i, 0, 0)).save(tmp_path / f"img{i:02d}.png")
    alive: set[int] = set()
    load_image, classify = images.load_image, core_classify.classify

    def counted_load(path, **kw):
        image = load_image(path, **kw)
        alive.add(id(image))
        weakref.finalize(image, alive.discard, id(image))
        return image

    batches = []

    def spy(source, batch, **kw):
        batches.append((len(batch), len(alive)))
        return classify(source, batch, **kw)

    monkeypatch.setattr(images, "load_image", counted_load)
    monkeypatch.setattr(core_classify, "classify", spy)
    result = classify_files([tmp_path], random_source("resnet20"), batch_size=4)
    assert batches == [(4, 4), (4, 4), (3, 3)]
    assert [p.name for p in result.predictions] == [f"img{i:02d}.png" for i in range(11)]
    assert [p.index for p in result.predictions] == list(range(11))


def test_the_window_batches_give_what_the_command_gives(folder):
    """The tab loads in steps and classifies in batches from the shared cache; `classify`
    decodes and classifies files: the same files give the same predictions."""
    cli = classify_files([folder], random_source("resnet20"), topk=3)
    models = ModelSourceCache()
    info = open_source(models, "resnet20", "random")
    found = load_step(LoadRequest(paths=(str(folder),)))
    assert [f.name for f in found.found] == ["broken.jpg", "p0.png", "p1.png", "p2.png"]
    loaded = load_step(LoadRequest(files=tuple(found.found)))
    assert [r.name for r in loaded.images] == ["p0.png", "p1.png", "p2.png"]
    assert loaded.images[2].thumbnail.shape == (50, 90, 3)  # under THUMB_SIDE: as it is
    gui = classify_batch(models, info, [r.image for r in loaded.images[:2]], topk=3) + \
        classify_batch(models, info, [loaded.images[2].image], topk=3)
    assert [p.classes for p in gui] == [p.classes for p in cli.predictions]
    assert np.allclose([p.probabilities for p in gui],
                       [p.probabilities for p in cli.predictions], atol=1e-6)


def test_open_source_describes_the_model_without_handing_it_out():
    models = ModelSourceCache()
    info = open_source(models, "resnet20", "random")
    assert (info.name, info.kind, info.input_shape) == ("resnet20", "random", (3, 32, 32))
    assert info.layers[0] == ("conv1", (16, 32, 32))
    assert info.shape_of("layer3") == (64, 8, 8) and len(info.blocks) == 9
    assert info.categories[3] == "cat" and models.cached("resnet20", "random")
    assert not any(hasattr(v, "parameters") for v in vars(info).values())  # no module inside
    # what the architecture view's clicks name
    assert info.find("stem") == ("layer", "relu")  # a CIFAR stem ends with its ReLU
    assert info.find("layer2.0") == ("block", "layer2.0")
    assert info.find("layer1.0.relu:2") == ("layer", "layer1.0.relu:2")
    assert info.find("fc") is None


def test_csv_has_one_row_per_image_and_rank(folder, tmp_path):
    predictions = classify_files([folder], random_source("resnet20"), topk=2).predictions
    rows = list(csv.reader(io.StringIO(predictions_to_csv(predictions))))
    assert rows[0] == ["image", "path", "rank", "class_index", "label", "probability"]
    assert [r[:3] for r in rows[1:3]] == [["p0.png", str(folder / "p0.png"), "1"],
                                          ["p0.png", str(folder / "p0.png"), "2"]]
    assert rows[1][4] == CIFAR10_CLASSES[int(rows[1][3])]
    assert float(rows[1][5]) == pytest.approx(predictions[0].probabilities[0], abs=1e-6)
    write_predictions_csv(tmp_path / "out.csv", predictions)
    assert (tmp_path / "out.csv").read_text().count("\n") == 1 + 3 * 2


# -- the tab's state ---------------------------------------------------------------------------------

def test_state_loads_classifies_cancels_and_retries(folder):
    state = ImagesState()
    state.choose_model("resnet20")
    assert state.effective_weights() == "auto"  # ImageNet weights if here, else the shipped net
    state.choose_weights("imagenet")
    assert state.effective_weights() == "random"  # no ImageNet weights for a CIFAR net
    assert state.source_to_load() is None  # nothing to classify yet: not loaded
    assert state.source_to_load(needed=True) == ("resnet20", "random")

    state.queue_paths([folder])
    found = load_step(state.next_load())
    assert state.loaded(found) == [] and state.files_found == 4
    assert len(state.load_queue) == 1  # one chunk of 4 files
    new = state.loaded(load_step(state.next_load()))
    assert [e.name for e in new] == ["p0.png", "p1.png", "p2.png"]
    assert [f.path.name for f in state.skipped] == ["broken.jpg"]
    assert state.progress()[0] == ""  # nothing in flight
    assert state.next_batch(2) == []  # no model yet
    assert state.message_for(new[0]) == "Not classified: no weights loaded"

    models = ModelSourceCache()
    state.source_loading("resnet20", "random")
    assert state.progress()[0] == "Loading the model…"
    state.source_ready(open_source(models, "resnet20", "random"))
    batch = state.next_batch(2)
    assert [e.state for e in state.entries] == ["running", "running", "pending"]
    assert state.next_batch(2) == []  # one batch in flight at a time
    predictions = classify_batch(models, state.source, [e.record.image for e in batch])
    done = state.classified_batch(predictions)
    assert [e.uid for e in done] == [e.uid for e in batch]
    assert state.progress()[0] == "Classified 2 of 3"
    p = done[1].prediction
    assert p.index == 1 and p.name == "p1.png"
    assert done[1].caption() == (f"{p.top1_probability:.1%} {p.top1}"
                                 if p.top1_probability < 0.1 else
                                 f"{p.top1_probability:.0%} {p.top1}")
    assert p.top1 in done[1].tooltip()

    state.next_batch(2)
    assert state.cancel() == []  # the running one stops when its job says so
    assert [e.state for e in state.batch_stopped(failed=False)] == ["cancelled"]
    assert state.remaining() == 1 and len(state.predictions()) == 2
    assert [e.state for e in state.retry()] == ["pending"]
    state.clear()
    assert state.entries == [] and state.skipped == [] and state.predictions() == []


def test_a_weights_file_that_fails_goes_back_to_what_is_in_use():
    state = ImagesState()
    state.choose_model("resnet20")
    state.source_loading("resnet20", "random")
    state.source_ready(open_source(ModelSourceCache(), "resnet20", "random", warm_up=False))
    state.choose_weights("/tmp/other.pth")
    assert state.weights_choice() == "file" and not state.source_is_wanted()
    state.source_loading(*state.wanted())
    error = ValueError("other.pth does not fit resnet20: it is a checkpoint for a different "
                       "architecture, resnet56. Use --model resnet56.")
    state.source_failed(SourceProblem.of(error))
    assert state.weights == "random" and state.source_is_wanted()
    assert state.problem.for_window().endswith("Choose resnet56 in the Model sidebar.")
    assert not state.problem.offline
    state.choose_model("resnet32")  # another model: retried, the problem forgotten
    assert state.problem is None and state.source_to_load(needed=True) == ("resnet32", "random")
