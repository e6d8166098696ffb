"""Refusing what cannot fit, from the command line: one line naming the number and the limit,
exit code 2, no traceback, and `--no-memory-check` letting a borderline case through.

The machine's available memory is replaced by a small fake one, so the cases do not depend on
the memory of the machine that runs them."""

import json
import zipfile

import pytest
from PIL import Image

from resnet_studio.cli import main
from resnet_studio.core import inspect
from resnet_studio.core.common import budget
from resnet_studio.core.spec import ArchSpec
from tests.helpers import TINY, TINY_DATA

MB = 1_000_000


@pytest.fixture
def available(monkeypatch):
    """Set the machine's available memory (bytes) for the test."""
    def set_to(nbytes: int) -> None:
        monkeypatch.setattr(budget, "available_memory", lambda: nbytes)

    set_to(2_000 * MB)
    return set_to


def _refused(capsys, argv: list[str]) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, err
    lines = err.strip().splitlines()  # a progress line may come before the error
    assert "Traceback" not in err and lines[-1].startswith(f"resnet-studio {argv[0]}: error: ")
    assert sum(line.startswith("resnet-studio") for line in lines) == 1
    return lines[-1]


def _spec(tmp_path, **fields) -> str:
    path = tmp_path / "spec.json"
    ArchSpec(name="resnet-custom", stem="cifar", num_classes=10, **fields).save(path)
    return str(path)


# -- summary: the inspector refuses absurd depths at once ---------------------------------------

def test_summary_of_a_100000_block_stage_is_refused(tmp_path, capsys):
    err = _refused(capsys, ["summary", _spec(tmp_path, layers=(100_000,), widths=(16,))])
    assert "layers: each must be at most 1,000" in err  # the spec's own limit, before any work


def test_summary_of_many_large_stages_names_each(tmp_path, capsys):
    err = _refused(capsys, ["summary", _spec(tmp_path, layers=(1000, 1000, 1000, 1000),
                                             widths=(16, 32, 64, 128))])
    assert "4,000 blocks (1,000 + 1,000 + 1,000 + 1,000) are more than the 3,000" in err


def test_summary_no_memory_check_inspects_past_the_limit(monkeypatch, capsys):
    monkeypatch.setattr(inspect, "MAX_BLOCKS", 10)
    err = _refused(capsys, ["summary", "resnet32"])  # 15 blocks
    assert "15 blocks (5 + 5 + 5) are more than the 10" in err
    assert main(["summary", "resnet32", "--no-memory-check", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["graph"]["stages"]) == 3


# -- train: model, batch and dataset against the memory --------------------------------------

def test_train_with_absurd_widths_names_the_need_and_the_limit(tmp_path, capsys, available):
    spec = _spec(tmp_path, layers=(2, 2, 2, 2), widths=(16384,) * 4)
    err = _refused(capsys, ["train", spec, "--device", "cpu", "--no-store", "--batch-size", "128"])
    assert "training resnet-custom at batch 128 on synthetic needs about " in err
    assert "(parameters " in err and "this machine has 2.0 GB available" in err
    assert "this machine has 2.0 GB available. Use a smaller model, batch or dataset, or turn " \
           "the memory check off (--no-memory-check) to try anyway." in err


def test_train_with_an_absurd_batch_is_refused(tmp_path, capsys, available):
    err = _refused(capsys, ["train", "resnet56", "--device", "cpu", "--no-store",
                            "--dataset", "synthetic:train=100000", "--batch-size", "50000"])
    # the peak comes as the backward pass starts: all activations, the fc's gradients alone
    assert "training resnet56 at batch 50,000 on synthetic:train=100000 needs about 54.4 GB of " \
           "memory (parameters 3.4 MB, gradients 2.6 KB, optimizer state 3.4 MB, activations " \
           "54.0 GB, dataset 364.9 MB); this machine has 2.0 GB available" in err


def test_train_on_a_billion_synthetic_images_is_refused_before_generation(capsys, available):
    err = _refused(capsys, ["train", "resnet20", "--device", "cpu", "--no-store",
                            "--dataset", "synthetic:train=1000000000"])
    assert "on synthetic:train=1000000000 needs about 1.2 TB of memory" in err
    assert "dataset 1.2 TB); this machine has 2.0 GB available" in err


def test_train_on_oversized_synthetic_images_is_refused(capsys, available):
    err = _refused(capsys, ["train", "resnet20", "--device", "cpu", "--no-store",
                            "--dataset", "synthetic:size=2048,train=200,val=10"])
    assert "training resnet20 at batch 64 on synthetic:size=2048,train=200,val=10 needs about " \
           "456.2 GB of memory" in err
    assert "activations 411.2 GB, dataset 44.9 GB); this machine has 2.0 GB available" in err


def test_train_no_memory_check_lets_a_borderline_run_through(tmp_path, capsys, available):
    spec = str(tmp_path / "tiny.json")
    TINY.save(spec)
    args = ["train", spec, "--dataset", TINY_DATA, "--steps", "2", "--batch-size", "16",
            "--eval-every", "0", "--device", "cpu", "--no-store", "--json"]
    available(1_500_000)  # the tiny net's step and its dataset need about 1.7 MB
    err = _refused(capsys, args)
    assert "needs about 1.7 MB of memory" in err and "this machine has 1.5 MB available" in err
    assert main([*args, "--no-memory-check"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["status"] == "finished"


# -- classify: weights archives and batches ------------------------------------------------------

@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (64, 48), (120, 80, 40)).save(path)
    return str(path)


def _archive(path, size: int, compression: int) -> str:
    """A .pth-named zip whose data member holds `size` zero bytes (streamed)."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        info = zipfile.ZipInfo("archive/data/0")
        info.compress_type = compression
        with z.open(info, "w") as f:
            for _ in range(size // MB):
                f.write(bytes(MB))
    return str(path)


def test_classify_refuses_a_zip_bomb_for_weights(tmp_path, photo, capsys):
    bomb = _archive(tmp_path / "bomb.pth", 20 * MB, zipfile.ZIP_DEFLATED)
    err = _refused(capsys, ["classify", photo, "--model", "resnet20", "--weights", bomb])
    assert "refused to load bomb.pth: its member archive/data/0 claims 20.0 MB compressed " \
           "into " in err and "decompression bomb" in err


def test_classify_refuses_weights_declaring_more_than_the_memory(tmp_path, photo, capsys,
                                                                available):
    big = _archive(tmp_path / "big.pth", 40 * MB, zipfile.ZIP_STORED)
    available(10 * MB)
    err = _refused(capsys, ["classify", photo, "--model", "resnet20", "--weights", big])
    assert "loading big.pth needs about 40.0 MB of memory (declared contents 40.0 MB); this " \
           "machine has 10.0 MB available" in err


def test_classify_refuses_a_batch_that_cannot_be_decoded(tmp_path, capsys, available):
    for i in range(3):
        Image.new("RGB", (32, 32), (i, 0, 0)).save(tmp_path / f"{i}.png")
    available(5 * MB)  # 3 images of up to 1024x1024 need 9.4 MB
    err = _refused(capsys, ["classify", str(tmp_path), "--model", "resnet20", "--weights",
                            "random"])
    assert "decoding 3 images at a time needs about 9.4 MB of memory" in err
    assert "Use a smaller batch (--batch-size)" in err
    assert main(["classify", str(tmp_path), "--model", "resnet20", "--weights", "random",
                 "--json", "--no-memory-check"]) == 0
    assert len(json.loads(capsys.readouterr().out)["predictions"]) == 3


# -- sweep: the plan's largest run is checked before the experiment is stored ---------------

def test_sweep_that_cannot_fit_is_refused_before_anything_is_stored(capsys, available):
    from resnet_studio.core.experiments import ExperimentStore
    from resnet_studio.core.experiments.plan import get_experiment_preset

    available(1 * MB)
    argv = ["sweep", "--depths", "20,56", "--variants", "plain,resnet", "--steps", "2",
            "--dataset", TINY_DATA]
    err = _refused(capsys, argv)
    batch = get_experiment_preset("quick").config.batch_size  # the sweep's schedule
    assert f"training resnet56 at batch {batch} on synthetic:size=8" in err  # the deepest first
    assert "this machine has 1.0 MB" in err
    with ExperimentStore() as store:
        assert store.list() == []  # nothing stored: a refused plan leaves no pending runs
    available(2_000 * MB)  # the same plan fits a larger machine; the flag needs no memory
    assert main([*argv, "--no-memory-check", "--json"]) == 0
