"""GradientLogger: per-block gradient norms during training, without a host sync per step.

Every `every` steps, inside `on_after_backward` (the gradients are in `trainer.model`), the norm
of every parameter gradient is computed on the device with one fused op (`torch._foreach_norm`),
the per-block norms are summed from them on the device (`index_add_` of the squares, then a
square root) and the row is kept in a device-side list. Nothing is read back there: the rows go
to the host in one transfer when the trainer logs (`on_log`, which syncs anyway), and from there
into the run store as metrics named after the block:

    grad/stem         the stem (conv1, bn1)
    grad/layer1.0     one residual block: the L2 norm over all its parameters' gradients
    ...
    grad/head         what follows the last block (fc, and a pre-activation net's final BN)
    grad/layer1.0.conv1   with per_conv=True: each conv's weight gradient (qualified name)

so any stored run can be shown later (the Gradients tab reads them back with
`gradient_series`). `history()` and `latest()` give the recorded rows to a live view (any
thread).

With float16 loss scaling (GradScaler) the gradients are divided by the scale on the device;
steps the scaler skips (inf/NaN gradients) are recorded as they are.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from resnet_studio.core.training.callbacks import Callback

if TYPE_CHECKING:
    import torch

    from resnet_studio.core.training.trainer import Trainer

PREFIX = "grad/"
STEM, HEAD = "stem", "head"
_BLOCK_ID = re.compile(r"^[A-Za-z_]\w*\.\d+$")  # layer1.0, layer3.17


@dataclass
class GradientHistory:
    """Recorded gradient norms: `values[i, j]` is the norm of `names[j]` at `steps[i]`."""

    names: list[str]  # metric names without the prefix: "stem", "layer1.0", ..., "head"
    steps: np.ndarray  # int64, one per record
    values: np.ndarray  # float64, records x names
    block_names: list[str] = field(default_factory=list)  # the per-block part of `names`

    @property
    def blocks(self) -> np.ndarray:
        """The per-block columns only (records x blocks), in `block_names` order."""
        idx = [self.names.index(n) for n in self.block_names]
        return self.values[:, idx]

    def __len__(self) -> int:
        return len(self.steps)


def is_block_metric(name: str) -> bool:
    """True for "stem", "head" and block ids ("layer2.3"); False for per-conv names."""
    return name in (STEM, HEAD) or bool(_BLOCK_ID.match(name))


def block_order_key(name: str) -> tuple:
    """Forward order: stem, layer1.0, layer1.1, ..., layer2.0, ..., head; then anything else."""
    if name == STEM:
        return (0,)
    if name == HEAD:
        return (2,)
    parts = re.split(r"(\d+)", name)
    return (1, *[(0, int(p)) if p.isdigit() else (1, p) for p in parts if p])


def gradient_series(metrics: dict[str, list[tuple[int, float]]], *, per_conv: bool = False
                    ) -> GradientHistory:
    """The gradient norms of a stored run (`RunStore.metrics(run)`), as a steps x names table.

    Only per-block series by default (per_conv=True adds the per-conv ones). Steps missing for
    some name (a run resumed with other settings) are NaN.
    """
    series = {k[len(PREFIX):]: v for k, v in metrics.items() if k.startswith(PREFIX)}
    names = sorted((n for n in series if per_conv or is_block_metric(n)), key=block_order_key)
    steps = sorted({int(s) for n in names for s, _ in series[n]})
    col = {s: i for i, s in enumerate(steps)}
    values = np.full((len(steps), len(names)), np.nan)
    for j, n in enumerate(names):
        for s, v in series[n]:
            values[col[int(s)], j] = np.nan if v is None else v
    return GradientHistory(names=names, steps=np.asarray(steps, dtype=np.int64), values=values,
                           block_names=[n for n in names if is_block_metric(n)])


def parameter_groups(model: torch.nn.Module) -> list[tuple[str, list[tuple[str, Any]]]]:
    """[(group name, [(param name, param)])] in forward order: stem, each block, head.

    A ResNet from the builder (with `stage_names`) is split into its blocks; any other module
    into its top-level children."""
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    stages = list(getattr(model, "stage_names", []) or [])
    groups: dict[str, list] = {}
    if stages:
        seen_block = False
        for name, p in params:
            first, _, rest = name.partition(".")
            if first in stages:
                group = f"{first}.{rest.partition('.')[0]}"
                seen_block = True
            else:
                group = HEAD if seen_block else STEM
            groups.setdefault(group, []).append((name, p))
        # a parameter registered before the blocks but used after them (none in our builder)
        # lands in "stem"; the order of the groups follows the forward pass
        return sorted(groups.items(), key=lambda kv: block_order_key(kv[0]))
    for name, p in params:
        groups.setdefault(name.partition(".")[0] if "." in name else name, []).append((name, p))
    return list(groups.items())


class GradientLogger(Callback):
    """Records per-block gradient norms every `every` steps; see the module docstring.

    store: a RunStore to write the metrics to (default: the store of the trainer's own
    RunRecorder, i.e. `Trainer(..., store=...)`; none: only kept in memory). per_conv: also each
    conv's weight-gradient norm. keep: records kept in memory for `history()` (the store keeps
    them all). flush_every_s: how often rows are written to the store (and at validation,
    status changes and the end).
    """

    def __init__(self, every: int = 10, *, per_conv: bool = False, store: Any | None = None,
                 flush_every_s: float = 2.0, keep: int = 100_000):
        if every < 1:
            raise ValueError("every must be at least 1")
        self.every = int(every)
        self.per_conv = per_conv
        self.store = store
        self.flush_every_s = flush_every_s
        self.keep = keep
        self.run_id: str | None = None
        self.names: list[str] = []  # the recorded series, without the prefix
        self.block_names: list[str] = []
        self._lock = threading.Lock()
        self._steps: list[int] = []
        self._rows: list[np.ndarray] = []
        self._pending: list[tuple[int, torch.Tensor]] = []  # device rows not fetched yet
        self._unsaved: list[tuple[int, str, float]] = []
        self._last_flush = 0.0
        self._run_checked = False
        self._model = None
        self._params: list = []
        self._group_index = None  # device int64 tensor: the group of each parameter
        self._conv_index = None  # device int64 tensor: positions of the conv weights
        self._index_device = None
        self._n_groups = 0

    # -- set-up ------------------------------------------------------------------------------
    def _prepare(self, model) -> None:
        import torch

        groups = parameter_groups(model)
        self._model = model
        self._params, group_of, conv_pos, conv_names = [], [], [], []
        conv_weights = {id(m.weight): name for name, m in model.named_modules()
                        if isinstance(m, torch.nn.Conv2d)}
        for g, (_, members) in enumerate(groups):
            for _, p in members:
                if self.per_conv and id(p) in conv_weights:
                    conv_pos.append(len(self._params))
                    conv_names.append(conv_weights[id(p)])
                self._params.append(p)
                group_of.append(g)
        self.block_names = [g for g, _ in groups]
        self.names = self.block_names + conv_names
        self._n_groups = len(groups)
        self._group_index_cpu = torch.tensor(group_of, dtype=torch.int64)
        self._conv_index_cpu = torch.tensor(conv_pos, dtype=torch.int64)
        self._index_device = None
        if self._params:  # onto the device now: a host-to-device copy in the hook could sync
            self._indices(self._params[0].device)

    def _indices(self, device):
        if self._index_device != device:
            self._group_index = self._group_index_cpu.to(device)
            self._conv_index = self._conv_index_cpu.to(device)
            self._index_device = device
        return self._group_index, self._conv_index

    def on_train_start(self, trainer: Trainer) -> None:
        self.run_id = trainer.run_id
        self._run_checked = False
        if self.store is None:
            from resnet_studio.core.training.recorder import RunRecorder

            recorder = next((cb for cb in trainer.callbacks.callbacks
                             if isinstance(cb, RunRecorder)), None)
            self.store = recorder.store if recorder is not None else None
        self._prepare(trainer.model)
        self._last_flush = time.monotonic()

    # -- every step: device work only ---------------------------------------------------------
    def on_after_backward(self, trainer: Trainer, step: int) -> None:
        if step % self.every:
            return
        model = trainer.model
        if model is not self._model:
            self._prepare(model)
        row = self.compute(getattr(trainer, "_scaler", None))
        if row is not None:
            self._pending.append((step, row))

    def compute(self, scaler: Any | None = None) -> torch.Tensor | None:
        """The norms of the current gradients as one device tensor (groups, then convs); no
        host sync. None when no parameter has a gradient."""
        import torch

        grads = [p.grad for p in self._params]
        present = [g is not None for g in grads]
        if not any(present):
            return None
        device = next(g for g in grads if g is not None).device
        group_index, conv_index = self._indices(device)
        if all(present):
            norms = _foreach_norms(grads)
        else:  # a parameter without a gradient (unused, or frozen mid-run) counts as zero
            zero = torch.zeros((), device=device)
            kept = [g for g in grads if g is not None]
            got = iter(_foreach_norms(kept))
            norms = [next(got) if ok else zero for ok in present]
        p = torch.stack([n.to(torch.float32) for n in norms])
        sq = torch.zeros(self._n_groups, dtype=torch.float32, device=device)
        sq.index_add_(0, group_index, p * p)
        row = sq.sqrt_()
        if len(conv_index):
            row = torch.cat([row, p[conv_index]])
        scale = getattr(scaler, "_scale", None) if scaler is not None else None
        if isinstance(scale, torch.Tensor):  # GradScaler: unscale on the device
            row = row / scale.to(row.device, torch.float32)
        return row

    # -- at the trainer's log: one transfer -----------------------------------------------------
    def fetch(self) -> int:
        """Move the pending device rows to the host (one sync); returns how many."""
        import torch

        pending, self._pending = self._pending, []
        if not pending:
            return 0
        steps = [s for s, _ in pending]
        block = torch.stack([r for _, r in pending]).to("cpu", torch.float64).numpy()
        with self._lock:
            self._steps.extend(steps)
            self._rows.extend(block)
            if len(self._steps) > self.keep:
                del self._steps[: -self.keep], self._rows[: -self.keep]
        for s, row in zip(steps, block):
            self._unsaved.extend((s, PREFIX + n, float(v) if math.isfinite(v) else None)
                                 for n, v in zip(self.names, row.tolist()))
        return len(steps)

    def flush(self) -> None:
        """Write the fetched rows to the store."""
        if self.store is None:
            self._unsaved = []  # memory only
            return
        if self.run_id is None or not self._unsaved:
            return
        if not self._run_checked:  # a store given by hand may not hold this run
            self._run_checked = True
            if not self.store.exists(self.run_id):
                self.store, self._unsaved = None, []
                return
        rows, self._unsaved = self._unsaved, []
        self.store.add_metrics(self.run_id, rows)
        self._last_flush = time.monotonic()

    def on_log(self, trainer: Trainer, log) -> None:
        self.fetch()
        if time.monotonic() - self._last_flush >= self.flush_every_s:
            self.flush()

    def on_validation_end(self, trainer: Trainer, result) -> None:
        self.fetch()
        self.flush()

    def on_status(self, trainer: Trainer, status: str, message: str) -> None:
        if status != "running":
            self.fetch()
            self.flush()

    def on_train_end(self, trainer: Trainer, result) -> None:
        self.fetch()
        self.flush()

    # -- for a live view (any thread) -------------------------------------------------------------
    def history(self) -> GradientHistory:
        with self._lock:
            steps = np.asarray(self._steps, dtype=np.int64)
            values = (np.vstack(self._rows) if self._rows
                      else np.zeros((0, len(self.names))))
        return GradientHistory(names=list(self.names), steps=steps, values=values,
                               block_names=list(self.block_names))

    def latest(self) -> dict[str, float] | None:
        """{name: norm} of the last fetched record, or None."""
        with self._lock:
            if not self._rows:
                return None
            return dict(zip(self.names, self._rows[-1].tolist()))


def _foreach_norms(tensors: list) -> list:
    import torch

    fused = getattr(torch, "_foreach_norm", None)
    if fused is not None:
        try:
            return list(fused(tensors))
        except (RuntimeError, TypeError):  # mixed devices/dtypes on an exotic set-up
            pass
    return [torch.linalg.vector_norm(t) for t in tensors]


__all__ = ["HEAD", "PREFIX", "STEM", "GradientHistory", "GradientLogger", "block_order_key",
           "gradient_series", "is_block_metric", "parameter_groups"]
