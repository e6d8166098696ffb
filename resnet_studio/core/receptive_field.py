"""Receptive field and effective stride of a layer, exact from the conv/pool geometry.

A `Field` says which input pixels one output pixel of a layer can see, along one axis (every
ResNet layer is square): output index i sees the input pixels centred at `start + i * jump`,
`size` of them. Through a layer of kernel k, stride s, padding p and dilation d (Araujo et al.
2019, "Computing Receptive Fields of Convolutional Neural Networks", Distill):

    size_out = size_in + (d(k - 1)) * jump_in      jump_out = jump_in * s
    start_out = start_in + (d(k - 1) / 2 - p) * jump_in

Pointwise layers (BN, ReLU) keep the field. A residual block adds two paths, so its output sees
the union of what the main path and the shortcut see (`union`); in a ResNet the main path's 3x3
convs always see more than the 1x1 (or bare) shortcut, but a block whose main path is cut sees
only what its shortcut sees (tests/core/test_receptive_field.py holds both against gradients).

torchvision's ResNet-50/101/152 are "v1.5": the bottleneck's stride sits on its 3x3 conv, which
then sees at the finer spacing, so the fields differ from the original v1 (stride on the first
1x1) that Araujo et al. list for TF-slim: ResNet-v1-50's last block sees 483 pixels there,
torchvision's ResNet-50 427 (`V1_NOTE`).
"""

from __future__ import annotations

from dataclasses import dataclass

# What the table's header tooltip and the README say about the published ResNet-50 figure.
V1_NOTE = (
    "Araujo et al. 2019 (Distill, \"Computing Receptive Fields of Convolutional Neural "
    "Networks\") list 483 pixels for ResNet-v1-50 (TF-slim, SAME padding): the original v1 "
    "bottleneck, with the stride on its first 1x1 conv, so the 3x3 after it works on the "
    "coarser grid and widens the field twice as much. torchvision's ResNet-50 is v1.5, with "
    "the stride on the 3x3 itself: its last layer sees 427 pixels, 2·(4 + 8 + 16) = 56 fewer "
    "over the three downsampling blocks. Both have an effective stride of 32.")


@dataclass(frozen=True)
class Field:
    """What one output pixel sees along an axis: `size` input pixels, centred at
    `start + i * jump` for output index i (`jump`: the layer's effective stride in input
    pixels). A fresh input sees itself: Field(1, 1, 0)."""

    size: int = 1
    jump: int = 1
    start: float = 0.0

    def conv(self, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> Field:
        """The field after a conv or pooling window of this geometry."""
        span = dilation * (kernel - 1)
        return Field(self.size + span * self.jump, self.jump * stride,
                     self.start + (span / 2 - padding) * self.jump)

    def union(self, other: Field) -> Field:
        """What the sum of two paths sees (same jump: both reach the same output grid)."""
        if other.jump != self.jump:
            raise ValueError(f"paths with strides {self.jump} and {other.jump} cannot be added")
        lo = min(self.start - (self.size - 1) / 2, other.start - (other.size - 1) / 2)
        hi = max(self.start + (self.size - 1) / 2, other.start + (other.size - 1) / 2)
        return Field(int(hi - lo) + 1, self.jump, (lo + hi) / 2)

    def span(self, index: int) -> tuple[float, float]:
        """First and last input pixel (may lie in the padding) seen by output `index`."""
        centre = self.start + index * self.jump
        return centre - (self.size - 1) / 2, centre + (self.size - 1) / 2


__all__ = ["V1_NOTE", "Field"]
