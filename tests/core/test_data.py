"""Datasets: the synthetic generator, batching, image folders, CIFAR/MNIST files made here
(never downloaded), and the offline error path."""

import errno
import pickle
import struct
from dataclasses import replace

import numpy as np
import pytest
import torch

from resnet_studio.core import data as D
from resnet_studio.core.data import DatasetError, DatasetUnavailable, TensorBatches, download, load_dataset

# -- synthetic ---------------------------------------------------------------------------------


def test_synthetic_is_deterministic_per_seed():
    a, ya = D.make_synthetic(64, size=12, seed=3)
    b, yb = D.make_synthetic(64, size=12, seed=3)
    c, _ = D.make_synthetic(64, size=12, seed=4)
    v, _ = D.make_synthetic(64, size=12, seed=3, split="val")
    assert a.dtype == np.uint8 and a.shape == (64, 3, 12, 12)
    assert np.array_equal(a, b) and np.array_equal(ya, yb)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, v)  # train and val are different draws


def test_synthetic_options_and_defaults():
    d = load_dataset("synthetic:classes=4,size=8,channels=1,train=200,val=40,seed=1")
    assert d.train_x.shape == (200, 1, 8, 8) and d.val_x.shape == (40, 1, 8, 8)
    assert d.info.num_classes == 4 and d.info.in_channels == 1 and d.info.image_size == 8
    assert set(d.train_y.tolist()) == {0, 1, 2, 3}
    assert len(d.info.classes) == 4 and not d.info.flip
    opts = D.SyntheticOptions.parse("")
    assert (opts.classes, opts.size, opts.channels, opts.train, opts.val) == (10, 16, 3, 10_000,
                                                                                2_000)
    with pytest.raises(DatasetError, match="unknown option"):
        load_dataset("synthetic:colour=3")
    with pytest.raises(DatasetError, match="whole number"):
        load_dataset("synthetic:size=big")


def test_synthetic_easy_draws_the_same_glyphs_cleanly():
    d = load_dataset("synthetic:size=12,train=64,val=8,easy=1")
    assert d.info.name == "synthetic:classes=10,size=12,channels=3,train=64,val=8,seed=0,easy=1"
    clean, y = D.make_synthetic(64, size=12, easy=True)
    cluttered, y2 = D.make_synthetic(64, size=12)
    assert (y == y2).all() and (d.train_x.numpy() == clean).all()
    # less pixel noise and no distractors: neighbouring pixels mostly agree
    step = lambda x: np.median(np.abs(np.diff(x.astype(float), axis=-1)))
    assert step(clean) == 10.0 and step(cluttered) == 23.0
    with pytest.raises(DatasetError, match="easy must be 0"):
        load_dataset("synthetic:easy=2")


def test_synthetic_needs_more_than_a_linear_probe():
    """Position, size, angle, colour and clutter vary, so the class lives in the arrangement of
    strokes, not in a fixed pixel pattern: class means and a least-squares linear probe on the
    pixels stay far below what a small CNN reaches (> 0.9)."""
    x, y = D.make_synthetic(2500, size=16, seed=0)
    xv, yv = D.make_synthetic(1000, size=16, seed=0, split="val")
    flat = torch.from_numpy(x).float().flatten(1) / 255
    flat_v = torch.from_numpy(xv).float().flatten(1) / 255
    y, yv = torch.from_numpy(y), torch.from_numpy(yv)
    means = torch.stack([flat[y == c].mean(0) for c in range(10)])
    nearest_mean = (torch.cdist(flat_v, means).argmin(1) == yv).float().mean().item()
    ones = lambda t: torch.cat([t, torch.ones(len(t), 1)], 1)
    w = torch.linalg.lstsq(ones(flat), torch.nn.functional.one_hot(y, 10).float()).solution
    linear = ((ones(flat_v) @ w).argmax(1) == yv).float().mean().item()
    assert nearest_mean < 0.4 and linear < 0.4  # chance is 0.1


def test_unknown_dataset_names_the_choices():
    with pytest.raises(DatasetError, match="cifar10"):
        load_dataset("imagenet-1k")
    with pytest.raises(DatasetError, match="path"):
        load_dataset("imagefolder:")


# -- batching ------------------------------------------------------------------------------------


def _with_augmentation(d):
    # synthetic data needs no augmentation; give it the CIFAR kind to exercise that path
    return replace(d, info=replace(d.info, crop_pad=2, flip=True))


def test_batch_order_is_a_pure_function_of_seed_and_epoch():
    d = _with_augmentation(load_dataset("synthetic:size=8,train=100,val=10"))
    a = TensorBatches(d, 16, seed=5, augment=True)
    b = TensorBatches(d, 16, seed=5, augment=True)
    seq = [a.batch(s) for s in range(14)]  # crosses an epoch boundary (6 steps per epoch)
    for s in (13, 2, 7, 0):  # random access after "resuming" anywhere
        x, y = b.batch(s)
        assert torch.equal(x, seq[s][0]) and torch.equal(y, seq[s][1])
    other = TensorBatches(d, 16, seed=6, augment=True)
    assert not torch.equal(other.batch(0)[1], seq[0][1])
    # an epoch visits distinct images
    c = TensorBatches(d, 16, seed=5, augment=False)
    c.batch(0)
    assert len(set(c._perm.tolist())) == 96
    assert a.steps_per_epoch == 6 and a.epoch_of(13) == 2


def test_crop_augmentation_shifts_and_normalises():
    d = _with_augmentation(load_dataset("synthetic:size=8,train=64,val=8"))
    tb = TensorBatches(d, 8, seed=0, augment=True)
    x = d.train_x[:8]
    pad = d.info.crop_pad
    same = tb._augment(x, torch.full((8, 2), pad), None)
    assert torch.equal(same, x)
    shifted = tb._augment(x, torch.zeros(8, 2, dtype=torch.long), None)
    assert torch.equal(shifted[:, :, pad:, pad:], x[:, :, :-pad, :-pad])
    assert (shifted[:, :, :pad] == 0).all()  # zero (black) padding, as in the paper
    flipped = tb._augment(x, torch.full((8, 2), pad), torch.ones(8, dtype=torch.bool))
    assert torch.equal(flipped, x.flip(3))
    xb, _ = TensorBatches(d, 64, seed=0, augment=False).batch(0)
    assert xb.dtype == torch.float32
    assert abs(xb.mean().item()) < 0.2 and abs(xb.std().item() - 1) < 0.2


def test_batch_larger_than_dataset_is_a_clear_error():
    d = load_dataset("synthetic:size=8,train=20,val=4")
    with pytest.raises(DatasetError, match="smaller batch"):
        TensorBatches(d, 32)


# -- image folders -------------------------------------------------------------------------------


def _png(path, colour, size=(10, 7), mode="RGB"):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path)


def test_image_folder_split_is_deterministic_and_stratified(tmp_path):
    for i in range(6):
        _png(tmp_path / "cats" / f"{i}.png", (200, 10 * i, 0))
        _png(tmp_path / "dogs" / f"{i}.jpg", (0, 10 * i, 200))
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    (tmp_path / "dogs" / "broken.png").write_bytes(b"\x89PNG garbage")
    a = load_dataset(f"imagefolder:{tmp_path}", val_fraction=0.34, image_size=8)
    b = load_dataset(f"imagefolder:{tmp_path}", val_fraction=0.34, image_size=8)
    assert a.info.classes == ("cats", "dogs")
    assert a.train_x.shape[1:] == (3, 8, 8)
    assert a.info.train_size + a.info.val_size == 12
    assert sorted(a.val_y.tolist()) == [0, 0, 1, 1]
    assert torch.equal(a.val_x, b.val_x) and torch.equal(a.train_y, b.train_y)
    assert any("broken.png" in s for s in a.info.skipped)


def test_image_folder_greyscale_gives_one_channel(tmp_path):
    for i in range(3):
        _png(tmp_path / "a" / f"{i}.png", 30 * i, mode="L")
        _png(tmp_path / "b" / f"{i}.png", 200 - 30 * i, mode="L")
    d = load_dataset(f"imagefolder:{tmp_path}", val_fraction=0.0, image_size=8)
    assert d.info.in_channels == 1 and d.train_x.shape == (6, 1, 8, 8) and d.info.val_size == 0


def test_empty_image_folder(tmp_path):
    with pytest.raises(DatasetError, match="no class sub-folders"):
        load_dataset(f"imagefolder:{tmp_path}")
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(f"imagefolder:{tmp_path / 'nope'}")


def test_malformed_image_folders(tmp_path):
    loose = tmp_path / "loose"
    _png(loose / "a.png", (1, 2, 3))
    with pytest.raises(DatasetError, match="one sub-folder per class"):
        load_dataset(f"imagefolder:{loose}")

    one_class = tmp_path / "one"
    _png(one_class / "only" / "a.png", (1, 2, 3))
    (one_class / "empty").mkdir()
    with pytest.raises(DatasetError, match="at least 2 class sub-folders.*empty: empty"):
        load_dataset(f"imagefolder:{one_class}")

    corrupt = tmp_path / "corrupt"
    _png(corrupt / "good" / "a.png", (1, 2, 3))
    (corrupt / "bad").mkdir()
    (corrupt / "bad" / "x.png").write_bytes(b"definitely not a png")
    with pytest.raises(DatasetError, match="no readable images in bad"):
        load_dataset(f"imagefolder:{corrupt}")


# -- CIFAR / MNIST from files the test writes ------------------------------------------------------


def _fake_cifar10(root, per_batch=6):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {"data": rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8),
                 "labels": [int(v) for v in rng.integers(0, 10, size=per_batch)],
                 "batch_label": name}
        (folder / name).write_bytes(pickle.dumps(entry))
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
             "truck"]
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names}))
    return folder


def test_cifar10_layout_loads_without_download(tmp_path, monkeypatch):
    _fake_cifar10(tmp_path)
    monkeypatch.setattr(download, "fetch_url", lambda *a, **k: pytest.fail("must not download"))
    d = load_dataset("cifar10", root=tmp_path, val_fraction=0.1)
    assert d.info.num_classes == 10 and d.info.classes[0] == "airplane"
    assert d.info.train_size == 27 and d.info.val_size == 3  # 30 images, 10% held out
    assert d.train_x.shape[1:] == (3, 32, 32) and d.train_x.dtype == torch.uint8
    assert d.info.crop_pad == 4 and d.info.flip  # the paper's augmentation
    test = load_dataset("cifar10", root=tmp_path, val_fraction=0.0)
    assert test.info.val_size == 6  # validates on the test batch


def test_cifar_reader_refuses_code_in_pickles(tmp_path):
    folder = _fake_cifar10(tmp_path)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (folder / "data_batch_3").write_bytes(pickle.dumps({"data": Evil(), "labels": []}))
    with pytest.raises(DatasetError, match="damaged"):
        load_dataset("cifar10", root=tmp_path)


def _idx(path, array, magic_type=0x08):
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">I", (magic_type << 8) | array.ndim)
    header += b"".join(struct.pack(">I", n) for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_mnist_layout_loads_as_one_channel(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    rng = np.random.default_rng(0)
    _idx(raw / "train-images-idx3-ubyte", rng.integers(0, 256, (20, 28, 28)))
    _idx(raw / "train-labels-idx1-ubyte", rng.integers(0, 10, (20,)))
    _idx(raw / "t10k-images-idx3-ubyte", rng.integers(0, 256, (5, 28, 28)))
    _idx(raw / "t10k-labels-idx1-ubyte", rng.integers(0, 10, (5,)))
    d = load_dataset("mnist", root=tmp_path, val_fraction=0.25, download=False)
    assert d.train_x.shape == (15, 1, 28, 28) and d.info.in_channels == 1
    assert d.info.mean == (0.1307,) and not d.info.flip
    big = load_dataset("mnist", root=tmp_path, val_fraction=0.25, download=False, image_size=32)
    assert big.train_x.shape == (15, 1, 32, 32)


def test_missing_files_offline_name_files_and_folder(tmp_path, monkeypatch):
    calls = []

    def offline(url, dest, progress=None, label=""):
        calls.append(url)
        raise OSError(errno.ENETUNREACH, "Network is unreachable")

    monkeypatch.setattr(download, "fetch_url", offline)
    with pytest.raises(DatasetUnavailable) as info:
        load_dataset("cifar10", root=tmp_path)
    msg = str(info.value)
    assert calls and "Network is unreachable" in msg
    assert "data_batch_1" in msg and "cifar-10-python.tar.gz" in msg
    assert str(tmp_path / "cifar-10-batches-py") in msg

    with pytest.raises(DatasetUnavailable) as info:
        load_dataset("fashionmnist", root=tmp_path)
    assert "train-images-idx3-ubyte" in str(info.value)
    assert str(tmp_path / "FashionMNIST" / "raw") in str(info.value)

    calls.clear()
    with pytest.raises(DatasetUnavailable, match="downloads are off"):
        load_dataset("cifar100", root=tmp_path, download=False)
    assert not calls


def test_download_reports_progress_and_checks_md5(tmp_path, monkeypatch):
    seen = []

    def fake_fetch(url, dest, progress=None, label=""):
        dest.write_bytes(b"not the real archive")
        progress(10, 20, "downloading x")
        progress(20, 20, "downloading x")

    monkeypatch.setattr(download, "fetch_url", fake_fetch)
    with pytest.raises(DatasetUnavailable, match="checksum mismatch"):
        load_dataset("cifar10", root=tmp_path, progress=lambda *a: seen.append(a))
    assert seen[-1] == (20, 20, "downloading x")
    assert not (tmp_path / "cifar-10-python.tar.gz").exists()  # a bad download is removed


def test_archives_put_there_by_hand_are_used_offline(tmp_path, monkeypatch):
    import gzip
    import tarfile

    monkeypatch.setattr(download, "fetch_url", lambda *a, **k: pytest.fail("must not download"))
    src = tmp_path / "src"
    _fake_cifar10(src)
    root = tmp_path / "root"
    root.mkdir()
    with tarfile.open(root / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    d = load_dataset("cifar10", root=root, download=False)
    assert d.info.train_size + d.info.val_size == 30

    raw = root / "MNIST" / "raw"
    rng = np.random.default_rng(1)
    for name, arr in [("train-images-idx3-ubyte", rng.integers(0, 256, (8, 28, 28))),
                      ("train-labels-idx1-ubyte", rng.integers(0, 10, (8,))),
                      ("t10k-images-idx3-ubyte", rng.integers(0, 256, (4, 28, 28))),
                      ("t10k-labels-idx1-ubyte", rng.integers(0, 10, (4,)))]:
        _idx(raw / name, arr)
        (raw / f"{name}.gz").write_bytes(gzip.compress((raw / name).read_bytes()))
        (raw / name).unlink()
    m = load_dataset("mnist", root=root, val_fraction=0.0, download=False)
    assert m.info.train_size == 8 and m.info.val_size == 4
