"""Which torch device a name means: "auto" picks CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    return name
