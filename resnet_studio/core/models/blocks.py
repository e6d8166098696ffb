"""Residual blocks. Children keep torchvision's names (conv1 bn1 ... downsample)."""

from __future__ import annotations

import torch
from torch import nn


def conv3x3(cin: int, cout: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, groups=groups, bias=False)


def conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


def norm_layer(channels: int, norm: str) -> nn.Module:
    # norm="none" gives the no-BatchNorm regime the gradient experiments contrast with.
    return nn.BatchNorm2d(channels) if norm == "batch" else nn.Identity()


class ZeroPadShortcut(nn.Module):
    """Option A: strided subsampling plus zero channels. No parameters."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.cin, self.cout, self.stride = cin, cout, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        extra = self.cout - self.cin
        if extra:
            # Pad on the channel dim: F.pad's last pairs are (W, H, C).
            x = nn.functional.pad(x, (0, 0, 0, 0, 0, extra))
        return x

    def extra_repr(self) -> str:
        return f"{self.cin}->{self.cout}, stride={self.stride}"


def make_shortcut(kind: str, cin: int, cout: int, stride: int, norm: str, preact: bool):
    """The module on the shortcut path, or None for a bare identity (or no shortcut at all)."""
    reshapes = stride != 1 or cin != cout
    if kind == "none" or (kind in ("A", "B") and not reshapes):
        return None
    if kind == "A":
        return ZeroPadShortcut(cin, cout, stride)
    if preact:  # pre-activation projections act on the already normalised input: no BN of their own
        return nn.Sequential(conv1x1(cin, cout, stride))
    return nn.Sequential(conv1x1(cin, cout, stride), norm_layer(cout, norm))


def shortcut_kind(block: nn.Module) -> str:
    """identity | zero_pad | projection | none: what the graph draws for this block's shortcut."""
    if not block.has_shortcut:
        return "none"
    if block.downsample is None:
        return "identity"
    return "zero_pad" if isinstance(block.downsample, ZeroPadShortcut) else "projection"


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride=1, *, shortcut="B", norm="batch", groups=1,
                 width_per_group=64):
        super().__init__()
        cout = planes * self.expansion
        self.conv1 = conv3x3(cin, planes, stride)
        self.bn1 = norm_layer(planes, norm)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, cout)
        self.bn2 = norm_layer(cout, norm)
        self.downsample = make_shortcut(shortcut, cin, cout, stride, norm, preact=False)
        self.has_shortcut = shortcut != "none"
        self.stride = stride

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """F(x): the branch alone, before the addition."""
        out = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out))

    def identity(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.downsample is None else self.downsample(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.residual(x)
        if self.has_shortcut:
            out = out + self.identity(x)
        return self.relu(out)

    def last_norm(self) -> nn.Module:
        return self.bn2


class Bottleneck(nn.Module):
    """torchvision's v1.5 bottleneck: the stride sits on the 3x3 conv."""

    expansion = 4

    def __init__(self, cin, planes, stride=1, *, shortcut="B", norm="batch", groups=1,
                 width_per_group=64):
        super().__init__()
        width = int(planes * (width_per_group / 64.0)) * groups
        cout = planes * self.expansion
        self.conv1 = conv1x1(cin, width)
        self.bn1 = norm_layer(width, norm)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn2 = norm_layer(width, norm)
        self.conv3 = conv1x1(width, cout)
        self.bn3 = norm_layer(cout, norm)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = make_shortcut(shortcut, cin, cout, stride, norm, preact=False)
        self.has_shortcut = shortcut != "none"
        self.stride = stride

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))

    identity = BasicBlock.identity
    forward = BasicBlock.forward

    def last_norm(self) -> nn.Module:
        return self.bn3


class PreActBasicBlock(nn.Module):
    """He et al. 2016: BN-ReLU-conv order; a clean identity path, no ReLU after the add."""

    expansion = 1

    def __init__(self, cin, planes, stride=1, *, shortcut="B", norm="batch", groups=1,
                 width_per_group=64):
        super().__init__()
        cout = planes * self.expansion
        self.bn1 = norm_layer(cin, norm)
        self.relu = nn.ReLU(inplace=False)  # its input is also the shortcut's input
        self.conv1 = conv3x3(cin, planes, stride)
        self.bn2 = norm_layer(planes, norm)
        self.conv2 = conv3x3(planes, cout)
        self.downsample = make_shortcut(shortcut, cin, cout, stride, norm, preact=True)
        self.has_shortcut = shortcut != "none"
        self.stride = stride

    def _branch(self, pre: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.relu(self.bn2(self.conv1(pre))))

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        return self._branch(self.relu(self.bn1(x)))

    def identity(self, x: torch.Tensor) -> torch.Tensor:
        # Projections see the pre-activated input; a bare or zero-padded identity sees x itself.
        if self.downsample is None:
            return x
        if isinstance(self.downsample, ZeroPadShortcut):
            return self.downsample(x)
        return self.downsample(self.relu(self.bn1(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.relu(self.bn1(x))
        out = self._branch(pre)
        if not self.has_shortcut:
            return out
        if self.downsample is None:
            return out + x
        if isinstance(self.downsample, ZeroPadShortcut):
            return out + self.downsample(x)
        return out + self.downsample(pre)

    def last_norm(self) -> nn.Module:
        return self.bn2


class PreActBottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride=1, *, shortcut="B", norm="batch", groups=1,
                 width_per_group=64):
        super().__init__()
        width = int(planes * (width_per_group / 64.0)) * groups
        cout = planes * self.expansion
        self.bn1 = norm_layer(cin, norm)
        self.relu = nn.ReLU(inplace=False)
        self.conv1 = conv1x1(cin, width)
        self.bn2 = norm_layer(width, norm)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn3 = norm_layer(width, norm)
        self.conv3 = conv1x1(width, cout)
        self.downsample = make_shortcut(shortcut, cin, cout, stride, norm, preact=True)
        self.has_shortcut = shortcut != "none"
        self.stride = stride

    def _branch(self, pre: torch.Tensor) -> torch.Tensor:
        out = self.conv1(pre)
        out = self.conv2(self.relu(self.bn2(out)))
        return self.conv3(self.relu(self.bn3(out)))

    residual = PreActBasicBlock.residual
    identity = PreActBasicBlock.identity
    forward = PreActBasicBlock.forward

    def last_norm(self) -> nn.Module:
        return self.bn3


def block_class(block: str, preact: bool) -> type[nn.Module]:
    if preact:
        return PreActBasicBlock if block == "basic" else PreActBottleneck
    return BasicBlock if block == "basic" else Bottleneck


RESIDUAL_BLOCKS = (BasicBlock, Bottleneck, PreActBasicBlock, PreActBottleneck)
