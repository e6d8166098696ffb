"""Training batches by indexing tensors on the device: no DataLoader, no worker processes, and
every step's batch rebuildable after a restart."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from resnet_studio.core.data.dataset import DatasetError, ImageData


def epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch, 0x5EED]).generate_state(1, np.uint64)[0]
               & 0x7FFF_FFFF_FFFF_FFFF)


class TensorBatches:
    """Training batches by indexing device tensors: no DataLoader, no worker processes.

    Step `s` (0-based) reads batch `s % steps_per_epoch` of epoch `s // steps_per_epoch`; each
    epoch's permutation and augmentation draws come from a generator seeded with (seed, epoch),
    so any step's batch can be rebuilt after a restart.

    `shard` (rank, world): this process's contiguous 1/world of every batch and of the
    validation set, for training one model in several processes (core.training.distributed);
    the ranks' parts of step `s` together are the one process's batch of step `s`.
    """

    def __init__(self, data: ImageData, batch_size: int, *, seed: int = 0, augment: bool = True,
                 channels_last: bool = False, shard: tuple[int, int] = (0, 1)):
        n = len(data.train_y)
        if batch_size < 1:
            raise DatasetError("batch size must be at least 1")
        rank, world = shard
        if batch_size % world:
            raise DatasetError(f"batch size {batch_size} does not split evenly across {world} "
                               f"processes; use a multiple of {world}")
        if n < batch_size:
            raise DatasetError(f"batch size {batch_size} is larger than the training set "
                               f"({n} images); use a smaller batch")
        self.data = data
        self.batch_size = batch_size
        self.seed = seed
        self.augment = augment and (data.info.crop_pad > 0 or data.info.flip)
        self.channels_last = channels_last
        self.rank, self.world = rank, world
        self.steps_per_epoch = n // batch_size
        self.device = data.train_x.device
        info = data.info
        mean = torch.tensor(info.mean, dtype=torch.float32, device=self.device)
        std = torch.tensor(info.std, dtype=torch.float32, device=self.device)
        self._scale = (1.0 / (255.0 * std)).view(1, -1, 1, 1)
        self._shift = (-mean / std).view(1, -1, 1, 1)
        self._epoch = -1
        self._perm: torch.Tensor | None = None
        self._offsets: torch.Tensor | None = None
        self._flips: torch.Tensor | None = None

    def _prepare_epoch(self, epoch: int) -> None:
        n = len(self.data.train_y)
        g = torch.Generator().manual_seed(epoch_seed(self.seed, epoch))
        used = self.steps_per_epoch * self.batch_size
        self._perm = torch.randperm(n, generator=g)[:used].to(self.device)
        if self.augment:
            pad = self.data.info.crop_pad
            self._offsets = torch.randint(0, 2 * pad + 1, (used, 2), generator=g).to(self.device)
            self._flips = (torch.rand(used, generator=g) < 0.5).to(self.device) \
                if self.data.info.flip else None
        self._epoch = epoch

    def epoch_of(self, step: int) -> int:
        return step // self.steps_per_epoch

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised float images and labels for 0-based training step `step`."""
        epoch, pos = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            self._prepare_epoch(epoch)
        part = self.batch_size // self.world
        start = pos * self.batch_size + self.rank * part
        sl = slice(start, start + part)
        idx = self._perm[sl]
        x = self.data.train_x[idx]
        y = self.data.train_y[idx]
        if self.augment:
            x = self._augment(x, self._offsets[sl],
                              None if self._flips is None else self._flips[sl])
        return self.normalize(x), y

    def _augment(self, x: torch.Tensor, offsets: torch.Tensor,
                 flips: torch.Tensor | None) -> torch.Tensor:
        pad = self.data.info.crop_pad
        b, _, h, w = x.shape
        if pad:
            # He et al. 2015: pad with zeros (black), then a random crop of the original size
            xp = F.pad(x, (pad, pad, pad, pad))
            rows = (offsets[:, 0:1] + torch.arange(h, device=x.device)).view(b, 1, h, 1)
            cols = (offsets[:, 1:2] + torch.arange(w, device=x.device)).view(b, 1, 1, w)
            bidx = torch.arange(b, device=x.device).view(b, 1, 1, 1)
            cidx = torch.arange(x.shape[1], device=x.device).view(1, -1, 1, 1)
            x = xp[bidx, cidx, rows, cols]
        if flips is not None:
            x = torch.where(flips.view(b, 1, 1, 1), x.flip(3), x)
        return x

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        out = x.float() * self._scale + self._shift
        if self.channels_last:
            out = out.contiguous(memory_format=torch.channels_last)
        return out

    def eval_batches(self, batch_size: int = 1024,
                     split: str = "val") -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        x = self.data.val_x if split == "val" else self.data.train_x
        y = self.data.val_y if split == "val" else self.data.train_y
        n = len(y)
        start, end = n * self.rank // self.world, n * (self.rank + 1) // self.world
        for i in range(start, end, batch_size):
            j = min(i + batch_size, end)
            yield self.normalize(x[i:j]), y[i:j]


__all__ = ["TensorBatches", "epoch_seed"]
