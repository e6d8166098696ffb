"""Training memory without compute: what one training step of a spec holds, per layer and in
total, traced on meta tensors (no weights, no arithmetic).

A step holds the float32 weights, their gradients, the optimiser's state (SGD momentum: one
buffer per weight; AdamW: two) and, between the forward and the backward pass, the tensors
autograd saves for the backward. Those are counted as autograd itself sees them: the model's
forward (and the loss) runs on meta tensors (fake CPU tensors under bf16 autocast, which meta
tensors ignore) inside `torch.autograd.graph.saved_tensors_hooks`, and every saved tensor's
storage is counted once: an in-place ReLU saves the BN output it overwrote, a conv saves its
input (already counted where the previous layer saved it) and its weight (a parameter, not an
activation), BatchNorm its input and its small per-channel batch statistics; under autocast the
bf16 copies of inputs and weights that convs save count too. Forward hooks attribute each
storage to the layer call that saved it first (`LayerMemory`, matched to the inspector's rows).
BatchNorm runs as a stand-in that saves what the real one saves (`_bn_stand_in`): on meta
tensors the real one is a slow Python decomposition.

The step's peak comes during the backward pass, which runs the layers in reverse: each frees
its saved tensors once its own backward has run, its weights' gradients appear, and gradients
of activations are in flight meanwhile (`_backward_peak` walks it; the peak is usually near
the start, where the late layers' large weight gradients meet nearly all the activations).
Measured on the CPU (tests/core/test_training_memory.py): the saved bytes equal a real
forward's to the byte, fp32 and bf16; the peak is within 2% of a real SGD step's (ResNet-20,
-18, -50, -56 at several sizes and batches).

Speed: blocks after the first in a stage repeat the second one exactly (same shapes, same
saves), so a skeleton with at most two blocks per stage is traced and its second block's rows
stand for the rest: ResNet-152 at batch 64 in about 0.05 s (benchmarks/bench_memory_estimate.py;
the first estimate in a process also imports torch._dynamo, which meta kernels use).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from math import prod

from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.summary import ModelSummary, Shape

PRECISIONS = ("fp32", "bf16")
OPTIMIZER_STATE = {"sgd": 1, "adamw": 2}  # buffers per weight (SGD: momentum; AdamW: 2 moments)
FLOAT = 4
MAX_BATCH = 10**9  # far beyond any machine; refuses numbers that only overflow the arithmetic
_BLOCK = re.compile(r"^(layer\d+)\.(\d+)(\.|$)")


@dataclass(frozen=True)
class LayerMemory:
    """Bytes the forward call `call` of layer `name` saves for the backward pass (a tensor two
    layers save counts once, at the first), at the whole batch."""

    name: str
    call: int
    type: str
    stage: str | None
    block: str | None
    activations: int
    params: int  # trainable parameters (first call only), as the inspector's row


@dataclass(frozen=True)
class TrainingMemory:
    """One training step's memory, by what holds it; bytes throughout."""

    model: str
    input_shape: Shape
    batch_size: int
    precision: str  # fp32 | bf16 (autocast)
    optimizer: str  # sgd | adamw
    parameters: int
    gradients: int
    optimizer_state: int
    activations: int  # saved for the backward pass, all layers plus the loss
    # At the busiest moment of the backward pass: the saved activations not yet freed, the
    # weight gradients made so far and the activation gradients in flight.
    peak_activations: int
    peak_gradients: int
    backward: int
    layers: tuple[LayerMemory, ...] = ()

    @property
    def total(self) -> int:
        """The step's peak: weights and optimiser state, plus what the backward pass holds at
        its busiest (at most all activations and all gradients, usually a little less)."""
        return (self.parameters + self.optimizer_state + self.peak_activations
                + self.peak_gradients + self.backward)

    def parts(self) -> dict[str, int]:
        """The peak's non-zero parts, named for a message ("optimizer state 3.4 MB")."""
        names = {"parameters": self.parameters, "gradients": self.peak_gradients,
                 "optimizer state": self.optimizer_state, "activations": self.peak_activations,
                 "backward buffers": self.backward}
        return {k: v for k, v in names.items() if v}

    def by_stage(self, weights: bool = True) -> dict[str, int]:
        """Bytes per part of the net ("stem", "layer1", ..., "head"): each layer's saved
        activations plus (with `weights`) its weights, their gradients and optimiser state."""
        per_weight = weights and (self.parameters + self.gradients + self.optimizer_state) // max(
            sum(r.params for r in self.layers), 1)
        out: dict[str, int] = {}
        for r in self.layers:  # rows outside the stages: the stem before them, the head after
            key = r.stage or ("head" if len(out) > 1 else "stem")
            out[key] = out.get(key, 0) + r.activations + r.params * per_weight
        return out

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_shape"] = list(self.input_shape)
        d["total"] = self.total
        d["by_stage"] = self.by_stage()
        return d


def _skeleton(spec: ArchSpec) -> ArchSpec:
    """`spec` with at most two blocks per stage: the third and later blocks repeat the second.
    Nameless, so that ResNet-20, -56 and -110 share one (and one cached trace)."""
    return replace(spec, name="", layers=tuple(min(n, 2) for n in spec.layers))


def _skeleton_name(name: str) -> str:
    """The skeleton's layer standing for `name`: layer3.7.conv1 -> layer3.1.conv1."""
    m = _BLOCK.match(name)
    if m and int(m.group(2)) > 1:
        return f"{m.group(1)}.1{name[m.end(2):]}"
    return name


def check_request(batch_size: int, precision: str, optimizer: str) -> None:
    """ValueError naming what to change, for a batch, precision or optimiser we cannot take."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or \
            not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"batch size must be a whole number from 1 to {MAX_BATCH:,}, "
                         f"got {batch_size!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if optimizer not in OPTIMIZER_STATE:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZER_STATE)}, "
                         f"got {optimizer!r}")


def _bn_stand_in(torch):
    """A BatchNorm forward that saves what training-mode `native_batch_norm` saves (PyTorch's
    derivatives.yaml: the input, weight, running mean and variance, and the batch's mean and
    inverse std, float32 per channel) and returns an empty output: on meta tensors the real one
    runs a Python decomposition of some thirty ops, 10 ms a call, most of a trace's time.
    The tests compare the traced bytes with a real CPU forward's."""

    class SavesLikeBatchNorm(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, weight, bias, running_mean, running_var):
            stats = [x.new_empty(x.shape[1], dtype=torch.float32) for _ in range(2)]
            ctx.save_for_backward(x, weight, running_mean, running_var, *stats)
            return torch.empty_like(x)

        @staticmethod
        def backward(ctx, grad):  # never runs: the trace stops after the forward
            raise NotImplementedError

    def forward(self, x):
        return SavesLikeBatchNorm.apply(x, self.weight, self.bias, self.running_mean,
                                        self.running_var)
    return forward


def saved_by_layer(spec: ArchSpec, input_shape: Shape, batch_size: int,
                   precision: str = "fp32") -> dict[tuple[str, int], int]:
    """{(layer name, call): bytes it saves for backward} of one forward + cross-entropy loss
    of `spec` (the whole model, as built) at `batch_size`; the loss's saves under ("loss", 1).

    Runs on meta tensors (fake CPU tensors for bf16 autocast): no weight, no arithmetic."""
    import contextlib

    import torch

    from resnet_studio.core.models import build_model

    if precision == "bf16":
        from torch._subclasses.fake_tensor import FakeTensorMode

        mode, device = FakeTensorMode(), "cpu"
    else:
        mode, device = contextlib.nullcontext(), "meta"
    with mode:
        model = build_model(spec, device).train()
        model.requires_grad_(True)
        state = {t.untyped_storage()._cdata for t in (*model.parameters(), *model.buffers())}
        saved: dict[int, tuple[str, int, int]] = {}
        running: list[tuple[str, int]] = []
        calls: dict[str, int] = {}
        kept: list[torch.Tensor] = []  # keeps every storage alive, so no address is reused

        def pack(t: torch.Tensor) -> torch.Tensor:
            storage = t.untyped_storage()
            kept.append(t)
            if storage._cdata not in state and storage._cdata not in saved:
                name, call = running[-1] if running else ("loss", 1)
                saved[storage._cdata] = (name, call, storage.nbytes())
            return t

        def enter(name: str):
            def hook(_module, _inputs):
                calls[name] = calls.get(name, 0) + 1
                running.append((name, calls[name]))
            return hook

        def leave(_module, _inputs, _output):
            running.pop()

        bn_forward = _bn_stand_in(torch)
        for name, module in model.named_modules():
            if name and not list(module.children()):  # leaf layers: the inspector's rows
                module.register_forward_pre_hook(enter(name))
                module.register_forward_hook(leave)
            if isinstance(module, torch.nn.BatchNorm2d):
                module.forward = bn_forward.__get__(module)
        x = torch.empty((batch_size, *input_shape), device=device)
        target = torch.zeros(batch_size, dtype=torch.long, device=device)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), \
                torch.autocast("cpu", torch.bfloat16, enabled=precision == "bf16"):
            torch.nn.functional.cross_entropy(model(x), target)
    out: dict[tuple[str, int], int] = {}
    for name, call, nbytes in saved.values():
        out[name, call] = out.get((name, call), 0) + nbytes
    return out


@lru_cache(maxsize=32)
def _skeleton_trace(skeleton: ArchSpec, input_shape: Shape, batch_size: int,
                    precision: str) -> dict[tuple[str, int], int]:
    """`saved_by_layer` of a skeleton, remembered: a Depth Lab grid checks the same few
    skeletons each time it runs (callers only read the dict)."""
    return saved_by_layer(skeleton, input_shape, batch_size, precision)


def training_memory(spec: ArchSpec, input_shape: Shape | None = None, batch_size: int = 1,
                    precision: str = "fp32", optimizer: str = "sgd", *,
                    momentum: float = 0.9, summary: ModelSummary | None = None
                    ) -> TrainingMemory:
    """Memory of one training step of `spec` at `input_shape` (C,H,W; None: the model's own)
    and `batch_size`, in `precision` (fp32, or bf16 autocast with float32 weights) with
    `optimizer` (sgd with momentum, or adamw; SGD with `momentum=0` keeps no state).

    Raises ValueError for a bad batch, precision or optimiser, InputTooSmall for an input the
    model cannot take. `summary` (the inspector's, at the same input) saves recomputing it."""
    from resnet_studio.core.inspect import summarize

    check_request(batch_size, precision, optimizer)
    if summary is None or (input_shape and tuple(input_shape) != summary.input_shape):
        summary = summarize(spec, input_shape)
    shape = summary.input_shape
    saved = _skeleton_trace(_skeleton(spec), tuple(shape), batch_size, precision)
    layers = tuple(LayerMemory(r.name, r.call, r.type, r.stage, r.block,
                               saved.get((_skeleton_name(r.name), r.call), 0), r.params)
                   for r in summary.layers)
    weights = summary.total_params * FLOAT
    buffers = OPTIMIZER_STATE[optimizer] if optimizer != "sgd" or momentum else 0
    held, grads, flight = _backward_peak(summary, layers, batch_size, precision)
    return TrainingMemory(
        model=spec.name, input_shape=shape, batch_size=batch_size, precision=precision,
        optimizer=optimizer, parameters=weights, gradients=weights,
        optimizer_state=buffers * weights,
        activations=sum(r.activations for r in layers) + saved.get(("loss", 1), 0),
        peak_activations=held, peak_gradients=grads, backward=flight, layers=layers)


def _backward_peak(summary: ModelSummary, layers: tuple[LayerMemory, ...], batch_size: int,
                   precision: str) -> tuple[int, int, int]:
    """(saved activations, weight gradients, gradient buffers) alive at the busiest moment of
    the backward pass, which runs the layers in reverse: a layer's saved tensors are freed
    once its backward has run, its weights' gradients appear as it runs, and meanwhile the
    gradients of its output and input (and, in a block, the shortcut's gradient waiting for
    the main path) are in flight."""
    element = 2 if precision == "bf16" else FLOAT
    waiting = {n.id: prod(n.in_shape) for n in summary.graph.nodes
               if n.kind == "block" and n.shortcut != "none"}
    inputs = [prod(summary.input_shape)] + [prod(r.output_shape) for r in summary.layers[:-1]]
    held, grads = sum(r.activations for r in layers), 0
    peak = (held, 0, 0)
    for row, layer, n_in in reversed(list(zip(summary.layers, layers, inputs))):
        grads += layer.params * FLOAT
        flight = (n_in + prod(row.output_shape) + waiting.get(row.block, 0)) * batch_size
        here = (held, grads, flight * element)
        peak = max(peak, here, key=sum)
        held -= layer.activations
    return peak


def largest_batch(spec: ArchSpec, budget: int, input_shape: Shape | None = None,
                  precision: str = "fp32", optimizer: str = "sgd", *,
                  momentum: float = 0.9) -> int:
    """The largest batch whose training step fits in `budget` bytes (0: not even one image).

    Every part of the estimate is affine in the batch (weights fixed, activations and buffers
    per image), so two traces give the line and a third confirms the answer."""
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"memory budget must be a positive number of bytes, got {budget!r}")
    kw = dict(precision=precision, optimizer=optimizer, momentum=momentum)
    one = training_memory(spec, input_shape, 1, **kw)
    if one.total > budget:
        return 0
    per_image = training_memory(spec, input_shape, 2, **kw).total - one.total
    batch = min(MAX_BATCH, 1 + (budget - one.total) // max(per_image, 1))
    while batch > 1 and training_memory(spec, input_shape, batch, **kw).total > budget:
        batch -= 1  # a per-channel byte or two of rounding
    return batch


__all__ = ["MAX_BATCH", "OPTIMIZER_STATE", "PRECISIONS", "LayerMemory", "TrainingMemory",
           "check_request", "largest_batch", "saved_by_layer", "training_memory"]
