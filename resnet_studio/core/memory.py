"""How much memory a model needs to train or to classify a batch, checked against
`core.common.budget` before anything is built.

Training: `core.training_memory` traces one step on meta tensors (the tensors autograd saves,
counted as it saves them; weights, gradients, optimiser state and the backward pass's peak),
within a few percent of a real step's peak on the CPU. Inference (classification under
inference_mode) keeps no activation after its use: the peak is the weights plus the two largest
consecutive layer outputs, from the inspector's layer table alone (no torch, no weights).

The allocator and the kernels' workspaces come on top (more for inference: peak RSS measured
on the CPU up to 2.4x), so a check against these refuses only what cannot fit, and the
message's "about" is a floor, not a promise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import prod
from typing import TYPE_CHECKING, Any

from resnet_studio.core.common import budget
from resnet_studio.core.summary import InputTooSmall, ModelSummary, Shape

if TYPE_CHECKING:
    from resnet_studio.core.spec import ArchSpec
    from resnet_studio.core.training.config import TrainConfig

FLOAT = 4  # bytes per float32 element


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes by what they hold; `parts()` names the non-zero ones for a message."""

    parameters: int = 0
    gradients: int = 0
    optimizer: int = 0
    activations: int = 0
    data: int = 0

    @property
    def total(self) -> int:
        return self.parameters + self.gradients + self.optimizer + self.activations + self.data

    def parts(self) -> dict[str, int]:
        names = {"parameters": self.parameters, "gradients": self.gradients,
                 "optimizer state": self.optimizer, "activations": self.activations,
                 "dataset": self.data}
        return {k: v for k, v in names.items() if v}


def _peak_pair(summary: ModelSummary) -> int:
    """Elements of the largest two consecutive layer outputs (a layer's input and output)."""
    sizes = [prod(summary.input_shape)] + [prod(r.output_shape) for r in summary.layers]
    return max(a + b for a, b in zip(sizes, sizes[1:]))


def inference_memory(summary: ModelSummary, batch_size: int) -> MemoryEstimate:
    """Weights and the forward pass's peak for a batch under inference_mode."""
    return MemoryEstimate(parameters=summary.total_params * FLOAT,
                          activations=_peak_pair(summary) * batch_size * FLOAT)


def device_memory(device: Any) -> tuple[int | None, str]:
    """(bytes free, how a message names it) on a torch device: the GPU's own memory for CUDA,
    the machine's for the CPU and Apple's unified memory."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        try:
            return torch.cuda.mem_get_info(dev)[0], f"the GPU ({torch.cuda.get_device_name(dev)})"
        except (RuntimeError, AssertionError):
            return None, "the GPU"
    return budget.available_memory(), "this machine"


def check_training_memory(spec: ArchSpec, config: TrainConfig, *,
                          query_device: bool = True) -> MemoryEstimate | None:
    """BudgetError if training `spec` under `config` cannot fit: the model's step on the
    config's device, the dataset (known from its name) in the machine's memory. Returns the
    estimate; None when checks are off, or when the trainer refuses the run with a better
    message (an input too small for the model, a batch larger than the dataset).
    `query_device=False` checks against the machine's memory alone, as for the CPU: no CUDA
    context is made (for the GUI thread, where a first CUDA call freezes the window)."""
    from torch import device as torch_device

    from resnet_studio.core.data.footprint import dataset_footprint
    from resnet_studio.core.inspect import summarize
    from resnet_studio.core.training.runtime import resolve_device
    from resnet_studio.core.training_memory import training_memory
    from resnet_studio.core.zoo import with_io

    if not budget.checks_enabled():
        return None
    data = dataset_footprint(config.dataset, config.image_size or None)
    if data.images is not None and config.batch_size > data.images:
        return None  # the trainer refuses a batch larger than the set, saying so
    spec = with_io(spec, in_channels=data.channels, num_classes=data.classes or spec.num_classes)
    try:
        summary = summarize(spec, (data.channels, data.side, data.side))
    except InputTooSmall:
        return None
    step = training_memory(spec, summary.input_shape, config.batch_size,
                           "bf16" if config.amp else "fp32", config.optimizer,
                           momentum=config.momentum, summary=summary)
    model = MemoryEstimate(parameters=step.parameters, gradients=step.peak_gradients,
                           optimizer=step.optimizer_state,
                           activations=step.peak_activations + step.backward)
    estimate = replace(model, data=data.peak_bytes())
    what = f"training {spec.name} at batch {config.batch_size:,} on {config.dataset}"
    advice = "Use a smaller model, batch or dataset"
    device = resolve_device(config.device) if query_device else torch_device("cpu")
    free, where = device_memory(device)
    if device.type != "cuda":
        budget.check_memory(what, estimate.total, estimate.parts(), limit=free, advice=advice)
    else:  # the dataset loads into the machine's memory, then moves to the GPU with the model
        budget.check_memory(f"loading {config.dataset}", data.peak_bytes(),
                            {"dataset": data.peak_bytes()}, advice=advice)
        on_gpu = replace(model, data=data.image_bytes)
        budget.check_memory(what, on_gpu.total, on_gpu.parts(), limit=free, where=where,
                            advice=advice)
    return estimate


def check_inference_memory(spec: ArchSpec, input_shape: Shape, batch_size: int, *,
                           device: Any = "cpu", what: str = "") -> None:
    """BudgetError if the activations of a forward pass of `batch_size` images at
    `input_shape` cannot fit on `device` (the model is loaded already: its weights are no
    longer free memory); passes where the inspector cannot describe the input."""
    from resnet_studio.core.inspect import summarize

    if not budget.checks_enabled():
        return
    try:
        summary = summarize(spec, input_shape)
    except InputTooSmall:
        return
    need = inference_memory(summary, batch_size).activations
    free, where = device_memory(device)
    budget.check_memory(what or f"classifying with {spec.name} at batch {batch_size:,}", need,
                        {"activations": need}, limit=free, where=where,
                        advice="Use a smaller batch (--batch-size)")


def check_model_memory(spec: ArchSpec, what: str = "") -> None:
    """BudgetError if the weights of `spec` alone cannot fit in the machine's memory (before a
    model is built or a file is loaded into it)."""
    from resnet_studio.core.inspect import summarize

    if not budget.checks_enabled():
        return
    weights = summarize(spec).total_params * FLOAT
    budget.check_memory(what or f"building {spec.name}", weights, {"parameters": weights},
                        advice="Use a smaller model")


__all__ = ["MemoryEstimate", "check_inference_memory", "check_model_memory",
           "check_training_memory", "device_memory", "inference_memory"]
