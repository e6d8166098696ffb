"""Memory budgets: the estimates, the refusal's message, weights archives checked before torch
reads them, datasets sized before they are generated, and the inspector's block limit."""

import io
import zipfile

import pytest
import torch

from resnet_studio.core import inspect
from resnet_studio.core.common import budget
from resnet_studio.core.common.budget import BudgetError, check_weights_file, memory_checks
from resnet_studio.core.data import load_dataset, make_synthetic
from resnet_studio.core.data.footprint import dataset_footprint
from resnet_studio.core.memory import inference_memory
from resnet_studio.core.spec import ArchSpec, SpecError
from resnet_studio.core.training_memory import training_memory
from resnet_studio.core.zoo import get_spec

MB = 1_000_000


def _fake_available(monkeypatch, nbytes):
    monkeypatch.setattr(budget, "available_memory", lambda: nbytes)


def test_meminfo_gives_the_available_memory():
    assert budget._meminfo_available() is None or budget._meminfo_available() > 0
    assert budget.size_text(950) == "950 bytes"
    assert budget.size_text(22_100_000_000) == "22.1 GB"
    assert budget.size_text(3.2e12) == "3.2 TB"


def test_refusal_names_the_need_its_parts_and_the_limit():
    with pytest.raises(BudgetError) as e:
        budget.check_memory("training x at batch 8", 3_200_000_000_000,
                            {"parameters": 1_100_000_000_000, "activations": 2_100_000_000_000},
                            limit=22_100_000_000, advice="Use a smaller model or batch")
    assert str(e.value) == (
        "training x at batch 8 needs about 3.2 TB of memory (parameters 1.1 TB, activations "
        "2.1 TB); this machine has 22.1 GB available. Use a smaller model or batch, or turn the "
        "memory check off (--no-memory-check) to try anyway.")
    assert isinstance(e.value, ValueError)
    budget.check_memory("x", 10, limit=10)  # exactly what is there fits
    with memory_checks(False):
        budget.check_memory("x", 10**15, limit=1)


def test_training_estimate_counts_weights_gradients_momentum_and_saved_activations():
    summary = inspect.summarize(get_spec("resnet20"))
    sgd = training_memory(get_spec("resnet20"), None, 128)
    weights = summary.total_params * 4
    assert (sgd.parameters, sgd.gradients, sgd.optimizer_state) == (weights, weights, weights)
    assert training_memory(get_spec("resnet20"), None, 128, optimizer="adamw"
                           ).optimizer_state == 2 * weights
    assert training_memory(get_spec("resnet20"), None, 128, momentum=0).optimizer_state == 0
    # saved activations grow with the batch (all but BN's per-channel statistics), inference
    # keeps only a layer's input and output
    double = training_memory(get_spec("resnet20"), None, 256).activations
    assert -10_000 < double - 2 * sgd.activations < 0
    assert sgd.activations == 194_555_268  # what autograd saves on the CPU, byte for byte
    assert inference_memory(summary, 128).activations < sgd.activations / 10


def test_inspector_refuses_more_than_max_blocks_at_once():
    with pytest.raises(SpecError, match="each must be at most 1,000"):  # the spec's own limit
        inspect.summarize(ArchSpec(layers=(100_000,), widths=(16,), stem="cifar"))
    with pytest.raises(BudgetError) as e:
        inspect.summarize(ArchSpec(layers=(1000,) * 4, widths=(16, 32, 64, 128), stem="cifar"))
    assert isinstance(e.value, SpecError) and e.value.field == "layers"
    assert "4,000 blocks (1,000 + 1,000 + 1,000 + 1,000) are more than the 3,000" in str(e.value)


def test_synthetic_sets_are_sized_before_generation_and_drawn_in_chunks(monkeypatch):
    with pytest.raises(BudgetError, match=r"synthetic:classes=10,size=16,channels=3,"
                       r"train=1000000000.* \(1,000,002,000 images of 3x16x16\) needs about "
                       r"1\.2 TB"):
        load_dataset("synthetic:train=1000000000")
    assert dataset_footprint("synthetic:size=8,train=100,val=0").image_bytes == 100 * 3 * 64
    whole = make_synthetic(50, size=12, seed=3)
    from resnet_studio.core.data import synthetic

    monkeypatch.setattr(synthetic, "SYNTHETIC_CHUNK_PIXELS", 7 * 144)  # 7 images a chunk
    chunked = make_synthetic(50, size=12, seed=3)
    assert (whole[0] == chunked[0]).all() and (whole[1] == chunked[1]).all()


def test_resizing_a_known_dataset_is_sized_before_loading(monkeypatch):
    _fake_available(monkeypatch, 100 * MB)
    with pytest.raises(BudgetError, match=r"loading cifar10 \(60,000 images of 3x512x512\)"):
        load_dataset("cifar10", image_size=512, download=False)


# -- weights archives ------------------------------------------------------------------------

def test_a_zip_bomb_is_refused_from_its_directory(tmp_path):
    bomb = tmp_path / "bomb.pth"
    with zipfile.ZipFile(bomb, "w") as z:
        info = zipfile.ZipInfo("archive/data/0")
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w") as f:
            for _ in range(10):
                f.write(bytes(MB))
    assert bomb.stat().st_size < 50_000
    with pytest.raises(BudgetError) as e:
        check_weights_file(bomb)
    assert str(e.value).startswith("refused to load bomb.pth: its member archive/data/0 claims "
                                   "10.0 MB compressed into ")
    assert "decompression bomb" in str(e.value)


def test_declared_sizes_over_the_budget_are_refused_and_real_weights_pass(tmp_path):
    weights = tmp_path / "w.pth"
    torch.save({"w": torch.zeros(1_000_000)}, weights)  # 4 MB, stored uncompressed
    check_weights_file(weights, limit=5 * MB)
    with pytest.raises(BudgetError, match=r"loading w\.pth needs about 4\.0 MB of memory "
                                          r"\(declared contents 4\.0 MB\); this machine has "
                                          r"3\.0 MB available"):
        check_weights_file(weights, limit=3 * MB)
    legacy = tmp_path / "legacy.pt"
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(1_000_000)}, buf, _use_new_zipfile_serialization=False)
    legacy.write_bytes(buf.getvalue())
    with pytest.raises(BudgetError, match="loading legacy.pt needs about 4.0 MB"):
        check_weights_file(legacy, limit=3 * MB)
    with memory_checks(False):
        check_weights_file(weights, limit=1)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_the_gui_threads_check_asks_no_device(monkeypatch):
    from resnet_studio.core import memory
    from resnet_studio.core.training.config import ConfigError, TrainConfig

    asked = []
    monkeypatch.setattr(memory, "device_memory",
                        lambda device: asked.append(device.type) or (10**12, "this machine"))
    config = TrainConfig(dataset="synthetic:size=8,train=64,val=16", batch_size=16,
                         device="cuda")
    with pytest.raises(ConfigError, match="CUDA is not available"):  # the device is resolved
        memory.check_training_memory(get_spec("resnet20"), config)
    estimate = memory.check_training_memory(get_spec("resnet20"), config, query_device=False)
    assert asked == ["cpu"] and estimate is not None and estimate.total > 0
