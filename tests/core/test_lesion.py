"""Lesion study (Veit et al. 2016): deleting one block hurts a residual net far less than
skipping one layer of a plain net."""

import json
from dataclasses import replace

import pytest
import torch

from resnet_studio.cli import main
from resnet_studio.core.analysis.gradients import build_seeded
from resnet_studio.core.analysis.lesion import (
    DeletedBlock,
    block_deleted,
    lesion_study,
    summarize_lesion,
    template_task,
    train_briefly,
)
from resnet_studio.core.zoo import get_spec, with_io
from tests.helpers import cifar_net

SMALL = cifar_net((2, 2), (4, 8), shortcut="B", num_classes=3, name="small")


def test_deleting_a_zero_branch_changes_nothing_and_shape_changers_are_kept():
    # zero-init residual: every branch outputs exactly 0, so a block equals its identity path
    model = build_seeded(replace(SMALL, zero_init_residual=True), 0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    images = torch.randn(40, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, 3, (40,), generator=torch.Generator().manual_seed(1))
    report = lesion_study(model, images, labels, batch_size=16)
    assert [b.id for b in report.blocks] == ["layer1.0", "layer1.1", "layer2.1"]
    assert report.skipped == ["layer2.0"]
    assert all(b.drop == 0 and b.deleted_as == "identity path" for b in report.blocks)
    assert report.mean_drop == 0 and report.samples == 40 and report.chance == pytest.approx(1 / 3)
    # the model comes back whole
    assert not isinstance(model.layer1[0], DeletedBlock) and model.training
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    with block_deleted(model, "layer1.1"):
        assert isinstance(model.layer1[1], DeletedBlock)
    assert not isinstance(model.layer1[1], DeletedBlock)

    plain = build_seeded(SMALL.plain_twin(), 0)
    rep = lesion_study(plain, images, labels)
    assert all(b.deleted_as == "skipped" for b in rep.blocks) and rep.plain
    json.dumps(rep.to_dict(), allow_nan=False)


def test_a_briefly_trained_resnet20_loses_less_per_deleted_block_than_plain20():
    # 10 classes, each a fixed random 3x8x8 template in N(0, 2^2) pixel noise (2048 + 512 images)
    tx, ty, vx, vy, _ = template_task(classes=10, size=8, noise=2.0, seed=0)
    reports = {}
    for plain in (False, True):
        model = build_seeded(get_spec("resnet20", plain=plain), 0)
        train_briefly(model, tx, ty, steps=60, batch_size=32, lr=0.05, seed=0)
        reports[plain] = lesion_study(model, vx, vy)
    res, plain = reports[False], reports[True]
    print(summarize_lesion(res))
    print(summarize_lesion(plain))
    assert len(res.blocks) == len(plain.blocks) == 7  # the two downsampling blocks stay
    assert res.intact_accuracy > 0.3 and plain.intact_accuracy > 0.25  # both learned something
    assert res.mean_drop < 0.5 * plain.mean_drop


@pytest.mark.parametrize("data", ["synthetic", "templates"])
def test_cli_trains_briefly_and_says_so(capsys, data):
    assert main(["lesion", "resnet20", "--data", data, "--steps", "2", "--batch", "16",
                 "--train", "64", "--val", "32", "--size", "8", "--compare-plain", "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)["reports"]
    assert [r["model"] for r in reports] == ["resnet20", "plain_resnet20"]
    for r in reports:
        assert "trained here for 2 steps" in r["source"] and f"{data}:" in r["source"]
        assert r["samples"] == 32 and len(r["blocks"]) == 7


def test_cli_lesions_a_checkpoint(tmp_path, capsys):
    from resnet_studio.core.training.checkpoint import save_checkpoint
    from resnet_studio.core.training.config import TrainConfig

    spec = with_io(get_spec("resnet20"), num_classes=4)
    model = build_seeded(spec, 0)
    save_checkpoint(tmp_path / "run", step=7, run_id="t", spec=spec,
                    config=TrainConfig(dataset="synthetic:classes=4,size=8,train=64,val=48"),
                    model_state=model.state_dict())
    assert main(["lesion", "--checkpoint", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "checkpoint" in out and "step 7" in out and "48 held-out images" in out
    assert "layer1.0" in out and "not deleted (they change the shape): layer2.0, layer3.0" in out
    assert main(["lesion", "resnet20", "--checkpoint", str(tmp_path / "nothing")]) == 2
    assert main(["lesion", "plain-20", "--checkpoint", str(tmp_path / "run")]) == 2
    assert "holds resnet20, not plain-20" in capsys.readouterr().err
