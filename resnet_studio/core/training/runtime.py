"""What the training loop runs on: the device, the model fitted to the data, mixed precision,
torch.compile; and what running out of memory or diverging means for the user."""

from __future__ import annotations

from collections.abc import Callable

import torch

from resnet_studio.core.common import device as common_device
from resnet_studio.core.data import DatasetError, DatasetInfo
from resnet_studio.core.spec import ArchSpec
from resnet_studio.core.training.config import ConfigError


def resolve_device(name: str = "auto") -> torch.device:
    """auto: CUDA, then Apple MPS, then the CPU. An unavailable explicit choice is an error."""
    if name == "auto":
        return torch.device(common_device.resolve_device("auto"))
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "CUDA is not available on this computer (use auto or cpu)")
    if name == "mps" and common_device.resolve_device("auto") != "mps":
        raise ConfigError("device", "Apple MPS is not available on this computer (use auto or "
                          "cpu)")
    if name not in ("cpu", "cuda", "mps"):
        raise ConfigError("device", f"unknown device '{name}'")
    return torch.device(name)


def describe_device(device: torch.device | None) -> str:
    """"CUDA NVIDIA H100", "Apple MPS", "CPU (8 threads)"; "" before a device is chosen."""
    if device is None:
        return ""
    if device.type == "cuda":
        return f"CUDA {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"


def fit_spec_to_data(spec: ArchSpec, info: DatasetInfo) -> ArchSpec:
    """The spec with the dataset's channels and classes (1-channel MNIST works with any
    preset); raises SpecError / DatasetError if it cannot train on these images."""
    from resnet_studio.core.zoo import with_io

    spec = with_io(spec, in_channels=info.in_channels, num_classes=info.num_classes).validate()
    if info.image_size < spec.min_input_side:
        raise DatasetError(
            f"{spec.name} needs images of at least {spec.min_input_side}x"
            f"{spec.min_input_side} pixels; {info.name} has {info.image_size}x"
            f"{info.image_size} (set image_size / --image-size {spec.min_input_side})")
    return spec


def compiled(model: torch.nn.Module, compile: bool
             ) -> tuple[Callable[[torch.Tensor], torch.Tensor], str | None]:
    """(the forward to call, a warning): torch.compile'd if asked and available."""
    if not compile:
        return model, None
    try:
        return torch.compile(model), None
    except Exception as e:  # no compiler toolchain, unsupported platform
        return model, f"torch.compile unavailable ({e}); running eagerly"


def mixed_precision(device: torch.device, amp: bool
                    ) -> tuple[torch.dtype | None, torch.amp.GradScaler | None, str | None]:
    """(autocast dtype, loss scaler, warning) for `amp` on `device`: bfloat16 where supported,
    float16 with loss scaling on older GPUs; (None, None, why) where autocast is unavailable."""
    if not amp:
        return None, None, None
    dtype, scaler = None, None
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            dtype = torch.bfloat16
        else:  # older GPUs: float16 needs loss scaling
            dtype = torch.float16
            scaler = torch.amp.GradScaler("cuda")
    elif device.type in ("cpu", "mps"):
        dtype = torch.bfloat16
    try:
        with torch.autocast(device.type, dtype=dtype):
            pass
    except (RuntimeError, ValueError) as e:
        return None, None, f"mixed precision unavailable on {device.type} ({e})"
    return dtype, scaler, None


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def out_of_memory_message(device: torch.device | None, batch_size: int,
                          step: int | None) -> str:
    """What to try; `step` None: while loading the data and the model."""
    if step is None:
        return (f"out of memory on {describe_device(device)} while loading the data and the "
                "model; try a smaller model or image size")
    return (f"out of memory on {describe_device(device)} with batch size {batch_size} "
            f"(step {step}). Try a smaller batch (e.g. {max(1, batch_size // 2)}), mixed "
            "precision (amp), or a smaller model.")


def divergence_message(step: int, lr: float, checkpoint: str | None,
                       checkpoint_step: int | None) -> str:
    kept = (f"the last good checkpoint (step {checkpoint_step}) is kept at {checkpoint}"
            if checkpoint else "no checkpoint had been written yet")
    return (f"training diverged: the loss became NaN or infinite by step {step}. Try a "
            f"lower learning rate (now {lr:g}; e.g. {lr / 10:g}) or a warm-up; {kept}")


__all__ = ["compiled", "describe_device", "divergence_message", "fit_spec_to_data",
           "is_out_of_memory", "mixed_precision", "out_of_memory_message", "resolve_device"]
