"""The heavy imports, done in a worker once the window is on screen, and the sidebar's
parameter counts (from the inspector: no torch needed)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class RuntimeInfo:
    torch_version: str
    device: str  # what the status bar shows: "CUDA: NVIDIA H100", "Apple MPS", "CPU · 2 threads"
    device_kind: str  # cuda | mps | cpu


def load_runtime() -> RuntimeInfo:
    import torch

    # the memory estimate's first meta-tensor op imports it (~1 s): here, not on the GUI thread
    # at a tab's first memory check (the Depth Lab checks its plan there)
    import torch._dynamo  # noqa: F401

    if torch.cuda.is_available():
        return RuntimeInfo(torch.__version__, f"CUDA: {torch.cuda.get_device_name(0)}", "cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return RuntimeInfo(torch.__version__, "Apple MPS", "mps")
    threads = torch.get_num_threads() or os.cpu_count() or 1
    return RuntimeInfo(torch.__version__, f"CPU · {threads} threads", "cpu")


def preset_param_counts() -> dict[str, int]:
    from resnet_studio.core.inspect import summarize
    from resnet_studio.core.zoo import PRESETS

    return {name: summarize(p.spec).total_params for name, p in PRESETS.items()}
