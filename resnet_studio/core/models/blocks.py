"""Residual blocks. Children keep torchvision's names and order (conv1 bn1 ... downsample), so
its weights load unchanged; every block exposes `residual(x)` (F) and `identity(x)` (what the
shortcut adds: α·shortcut(x), α being `shortcut_scale`, a plain float and not in the state_dict).

Two orderings (post-activation, He et al. 2015; pre-activation, He et al. 2016) times two
branches (basic, bottleneck): the ordering is a base class, the branch a `block` name."""

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


def branch_convs(block: str, cin: int, planes: int, stride: int, groups: int = 1,
                 width_per_group: int = 64) -> list[nn.Conv2d]:
    """The convs of F(x), input to output. basic: two 3x3, the first one strided. bottleneck:
    1x1 reduce, grouped 3x3, 1x1 expand (x4); torchvision's v1.5 puts the stride on the 3x3,
    whose width is `planes` at 64 channels per group (ResNeXt and Wide ResNet change it)."""
    if block == "basic":
        return [conv3x3(cin, planes, stride), conv3x3(planes, planes)]
    width = int(planes * (width_per_group / 64.0)) * groups
    return [conv1x1(cin, width), conv3x3(width, width, stride, groups),
            conv1x1(width, planes * Bottleneck.expansion)]


class ResidualBlock(nn.Module):
    """What every block shares: y = F(x) + α·shortcut(x), or y = F(x) for a plain block.

    A subclass registers the layers of F in torchvision's names and order (`_add_layers`);
    `downsample` comes after them, as in torchvision's state_dicts. `residual(x)` is F(x) alone
    and `identity(x)` what the shortcut adds, so analyses get both directly."""

    block = "basic"  # which convs make F: see branch_convs
    expansion = 1
    preact = False

    def __init__(self, cin, planes, stride=1, *, shortcut="B", norm="batch", groups=1,
                 width_per_group=64, shortcut_scale=1.0):
        super().__init__()
        convs = branch_convs(self.block, cin, planes, stride, groups, width_per_group)
        self._add_layers(convs, cin, norm)
        cout = convs[-1].out_channels
        self.downsample = make_shortcut(shortcut, cin, cout, stride, norm, preact=self.preact)
        self.has_shortcut = shortcut != "none"
        self.shortcut_scale = float(shortcut_scale)
        self.stride = stride

    def _add_layers(self, convs: list[nn.Conv2d], cin: int, norm: str) -> None:
        raise NotImplementedError

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """F(x): the branch alone, before the addition."""
        raise NotImplementedError

    def _scaled(self, shortcut: torch.Tensor) -> torch.Tensor:
        # α = 1 adds the shortcut itself: bit for bit the unscaled network
        return shortcut if self.shortcut_scale == 1.0 else shortcut * self.shortcut_scale

    def last_norm(self) -> nn.Module:
        """The norm that ends F(x): zero-initialised, it makes the block start as the identity."""
        return getattr(self, f"bn{2 if self.block == 'basic' else 3}")


class PostActBlock(ResidualBlock):
    """He et al. 2015: conv-BN(-ReLU) inside F, a ReLU after the addition."""

    def identity(self, x: torch.Tensor) -> torch.Tensor:
        return self._scaled(x if self.downsample is None else self.downsample(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.residual(x)
        if self.has_shortcut:
            out = out + self.identity(x)
        return self.relu(out)


class BasicBlock(PostActBlock):
    def _add_layers(self, convs, cin, norm):
        self.conv1, self.bn1 = convs[0], norm_layer(convs[0].out_channels, norm)
        self.relu = nn.ReLU(inplace=True)
        self.conv2, self.bn2 = convs[1], norm_layer(convs[1].out_channels, norm)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out))


class Bottleneck(PostActBlock):
    """torchvision's v1.5 bottleneck: the stride sits on the 3x3 conv."""

    block = "bottleneck"
    expansion = 4

    def _add_layers(self, convs, cin, norm):
        self.conv1, self.bn1 = convs[0], norm_layer(convs[0].out_channels, norm)
        self.conv2, self.bn2 = convs[1], norm_layer(convs[1].out_channels, norm)
        self.conv3, self.bn3 = convs[2], norm_layer(convs[2].out_channels, norm)
        self.relu = nn.ReLU(inplace=True)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))


class PreActBlock(ResidualBlock):
    """He et al. 2016: BN-ReLU-conv order; a clean identity path, no ReLU after the add.
    Layers: bn1 relu conv1, then bn<i> conv<i> for each further conv."""

    preact = True

    def _add_layers(self, convs, cin, norm):
        self.bn1 = norm_layer(cin, norm)
        self.relu = nn.ReLU(inplace=False)  # its input is also the shortcut's input
        for i, conv in enumerate(convs, 1):
            if i > 1:
                self.add_module(f"bn{i}", norm_layer(conv.in_channels, norm))
            self.add_module(f"conv{i}", conv)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        return self._branch(self.relu(self.bn1(x)))

    def identity(self, x: torch.Tensor) -> torch.Tensor:
        return self._shortcut(x, None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.relu(self.bn1(x))
        out = self._branch(pre)
        return out + self._shortcut(x, pre) if self.has_shortcut else out

    def _shortcut(self, x: torch.Tensor, pre: torch.Tensor | None) -> torch.Tensor:
        # Projections see the pre-activated input; a bare or zero-padded identity sees x itself.
        if self.downsample is None:
            return self._scaled(x)
        if isinstance(self.downsample, ZeroPadShortcut):
            return self._scaled(self.downsample(x))
        return self._scaled(self.downsample(self.relu(self.bn1(x)) if pre is None else pre))

    def _branch(self, pre: torch.Tensor) -> torch.Tensor:
        out = self.conv1(pre)
        out = self.conv2(self.relu(self.bn2(out)))
        if self.block == "basic":
            return out
        return self.conv3(self.relu(self.bn3(out)))


class PreActBasicBlock(PreActBlock):
    pass


class PreActBottleneck(PreActBlock):
    block = "bottleneck"
    expansion = 4


def block_class(block: str, preact: bool) -> type[ResidualBlock]:
    if preact:
        return PreActBasicBlock if block == "basic" else PreActBottleneck
    return BasicBlock if block == "basic" else Bottleneck


RESIDUAL_BLOCKS = (BasicBlock, Bottleneck, PreActBasicBlock, PreActBottleneck)
