"""What several processes training one model share out: each rank's part of every batch and of
the validation set, and the torchrun command line."""

import torch

from resnet_studio.app.distributed import LaunchSettings
from resnet_studio.core.data import TensorBatches, load_dataset

DATA = "synthetic:size=8,train=96,val=10"


def test_the_ranks_parts_of_a_step_are_one_process_batch_of_that_step():
    data = load_dataset(DATA)
    whole = TensorBatches(data, 12, seed=3)
    parts = [TensorBatches(data, 12, seed=3, shard=(rank, 3)) for rank in range(3)]
    for step in (0, 7, 8, 13):  # 8 steps per epoch: the second epoch reshuffles
        x, y = whole.batch(step)
        xs, ys = zip(*(p.batch(step) for p in parts))
        assert [len(v) for v in ys] == [4, 4, 4]
        assert torch.equal(torch.cat(xs), x) and torch.equal(torch.cat(ys), y)
    val = [torch.cat([y for _, y in p.eval_batches(3)]) for p in parts]
    assert [len(v) for v in val] == [3, 3, 4]  # every held-out image once
    assert torch.equal(torch.cat(val), data.val_y)


def test_torchrun_flags_one_box_and_across_boxes():
    assert LaunchSettings(nproc=4).torchrun_args() == [
        "--nproc-per-node", "4", "--nnodes", "1", "--standalone"]
    across = LaunchSettings(nproc=8, nnodes=2, node_rank=1, rdzv_endpoint="node0:29400",
                            rdzv_id="job7", rdzv_backend="c10d")
    across.check()
    assert across.world == 16 and across.torchrun_args() == [
        "--nproc-per-node", "8", "--nnodes", "2", "--node-rank", "1",
        "--rdzv-endpoint", "node0:29400", "--rdzv-id", "job7", "--rdzv-backend", "c10d"]
