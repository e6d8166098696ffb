"""One model trained by several processes (torch.distributed; the processes are started by
torchrun, see app.distributed): which rank this process is, and the few places where the
Trainer's loop differs from a single process's.

`Ranks()` is the single process: every hook leaves things as they are. `DistributedRanks.
from_env()`, in a worker torchrun started (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR in the
environment), joins the process group — NCCL when training on CUDA, gloo on the CPU — and then:

- each rank trains on its contiguous 1/world of every global batch (TensorBatches' `shard`), so
  the global batch and the batch order are those of one process; DistributedDataParallel
  averages the gradients, so the update is the whole batch's. BatchNorm normalises each rank's
  part by its own statistics (as torchvision's reference scripts do without --sync-bn;
  SyncBatchNorm refuses CPU tensors), so the curves match one process's closely, not exactly;
- the logged loss and error, and validation (each rank its 1/world of the held-out set, with
  rank 0's BatchNorm statistics), are sums over all ranks;
- the ranks agree on a stop one step after any of them asks (SIGTERM may reach them at
  different steps), through a gloo all-reduce that never waits for the GPU;
- rank 0 alone writes checkpoints (the unwrapped model's state_dict, so any number of processes
  resumes them) and the run store; the others keep the same bookkeeping, so every rank takes
  the same collective steps.

Threads: everything here runs on the training thread.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from resnet_studio.core.training.config import ConfigError
from resnet_studio.core.training.meters import LogWindow

# torchrun sets these in every worker's environment
WORKER_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


class Ranks:
    """A single process: rank 0 of 1; every hook is the identity."""

    rank = 0
    world = 1
    local_rank = 0

    @property
    def main(self) -> bool:
        """Does this process write checkpoints, the run store and the output?"""
        return self.rank == 0

    @property
    def shard(self) -> tuple[int, int]:
        return self.rank, self.world

    def device(self, device: torch.device) -> torch.device:
        return device

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """What the training loop calls for a forward pass."""
        return model

    def window(self, device: torch.device, start: int) -> LogWindow:
        return LogWindow(device, start)

    def restored_window(self, device: torch.device, state: dict[str, Any] | None,
                        step: int) -> LogWindow:
        return LogWindow.restored(device, state, step)

    def stop_agreed(self, requested: bool) -> bool:
        return requested

    def synced(self, model: torch.nn.Module) -> torch.nn.Module:
        """The model as every rank should evaluate it."""
        return model

    def sums(self, loss_sum: torch.Tensor, correct: torch.Tensor, n: int
             ) -> tuple[float, float, int]:
        """Validation's (loss sum, correct, samples) on the host: one sync."""
        loss, right = torch.stack([loss_sum, correct]).tolist()
        return loss, right, n

    def close(self) -> None:
        pass


class ReducedLogWindow(LogWindow):
    """A LogWindow whose totals are sums over all ranks. `count` is already the global number
    of images: every rank's part of a batch has the same size."""

    world = 1

    def add(self, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        super().add(loss, logits, labels)
        self.count += len(labels) * (self.world - 1)

    def totals(self) -> tuple[float, float]:
        sums = torch.stack([self.loss, self.correct])
        dist.all_reduce(sums)
        loss, correct = sums.tolist()
        return loss, correct


class TrainForward(torch.nn.Module):
    """DistributedDataParallel while gradients are on (a training step: gradients averaged over
    the ranks); the plain model under no_grad (validation: each rank its own part, with no
    collective per batch)."""

    def __init__(self, ddp: torch.nn.Module, model: torch.nn.Module):
        super().__init__()
        self.ddp, self.model = ddp, model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ddp(x) if torch.is_grad_enabled() else self.model(x)


class DistributedRanks(Ranks):
    """This process's place among `world` processes training one model (see the module doc)."""

    def __init__(self, rank: int, world: int, local_rank: int, cuda: bool):
        self.rank, self.world, self.local_rank, self.cuda = rank, world, local_rank, cuda
        # the stop vote travels on the CPU even when the gradients go through NCCL
        self._control = dist.new_group(backend="gloo") if cuda else None
        self._vote: tuple[Any, torch.Tensor] | None = None

    @classmethod
    def from_env(cls, device: torch.device) -> DistributedRanks:
        """Join the process group torchrun set up; `device` is the run's resolved device."""
        missing = [k for k in WORKER_ENV if k not in os.environ]
        if missing:
            raise ConfigError("device", "a distributed worker is started by torchrun "
                              f"(resnet-studio train --nproc N); {', '.join(missing)} not set")
        if device.type == "mps":
            raise ConfigError("device", "several processes train on CUDA GPUs or the CPU, not "
                              "Apple MPS")
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        local_rank = int(os.environ["LOCAL_RANK"])
        cuda = device.type == "cuda"
        if cuda:
            torch.cuda.set_device(local_rank)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if cuda else "gloo")
        return cls(rank, world, local_rank, cuda)

    def device(self, device: torch.device) -> torch.device:
        return torch.device("cuda", self.local_rank) if self.cuda else device

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        from torch.nn.parallel import DistributedDataParallel

        ddp = DistributedDataParallel(model, device_ids=[self.local_rank] if self.cuda else None)
        return TrainForward(ddp, model)

    def window(self, device: torch.device, start: int) -> LogWindow:
        window = ReducedLogWindow(device, start)
        window.world = self.world
        return window

    def restored_window(self, device: torch.device, state: dict[str, Any] | None,
                        step: int) -> LogWindow:
        # the saved sums are global: rank 0 carries them on, the others start from zero
        state = dict(state or {})
        if not self.main:
            state.update(loss=0.0, correct=0.0)
        window = ReducedLogWindow.restored(device, state, step)
        window.world = self.world
        return window

    def stop_agreed(self, requested: bool) -> bool:
        """True on every rank at the same step: one step after any rank asked to stop."""
        agreed = False
        if self._vote is not None:
            work, votes = self._vote
            work.wait()
            agreed = bool(votes.item())
        votes = torch.tensor([int(requested)], dtype=torch.int32)
        self._vote = (dist.all_reduce(votes, group=self._control, async_op=True), votes)
        return agreed

    def synced(self, model: torch.nn.Module) -> torch.nn.Module:
        for buffer in model.buffers():  # BatchNorm's running statistics, as rank 0 saves them
            dist.broadcast(buffer, 0)
        return model

    def sums(self, loss_sum: torch.Tensor, correct: torch.Tensor, n: int
             ) -> tuple[float, float, int]:
        sums = torch.stack([loss_sum, correct, torch.full_like(loss_sum, float(n))])
        dist.all_reduce(sums)
        loss, right, total = sums.tolist()
        return loss, right, int(total)

    def close(self) -> None:
        if self._vote is not None:
            self._vote[0].wait()
            self._vote = None
        if dist.is_initialized():
            dist.destroy_process_group()


def skip_checkpoint(run_dir: str | Path, **_: Any) -> Path:
    """What the ranks other than 0 do instead of save_checkpoint: write nothing, and know the
    sidecar rank 0 writes."""
    from resnet_studio.core.training.checkpoint import SIDECAR

    return Path(run_dir) / SIDECAR


def in_worker() -> bool:
    """Was this process started by torchrun?"""
    return all(k in os.environ for k in WORKER_ENV)


__all__ = ["DistributedRanks", "Ranks", "ReducedLogWindow", "TrainForward", "in_worker",
           "skip_checkpoint"]
