"""Build an nn.Module from an ArchSpec, with torchvision's top-level names and init."""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from resnet_studio.core.models.blocks import block_class, norm_layer
from resnet_studio.core.spec import ArchSpec


class ResNet(nn.Module):
    """conv1 bn1 relu maxpool layer1..N avgpool fc, as torchvision names them.

    The CIFAR stem has no maxpool; pre-activation nets end with `final_bn`/`final_relu`
    because their last block's output has not been normalised yet.
    """

    def __init__(self, spec: ArchSpec):
        super().__init__()
        spec.validate()
        self.spec = spec
        stem_width = spec.widths[0]
        imagenet = spec.stem == "imagenet"
        if imagenet:
            self.conv1 = nn.Conv2d(spec.in_channels, stem_width, 7, stride=2, padding=3, bias=False)
        else:
            self.conv1 = nn.Conv2d(spec.in_channels, stem_width, 3, stride=1, padding=1, bias=False)
        # A pre-activation CIFAR net hands the raw conv output to its first block's BN.
        if not (spec.preact and not imagenet):
            self.bn1 = norm_layer(stem_width, spec.norm)
            self.relu = nn.ReLU(inplace=True)
        if imagenet:
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        block = block_class(spec.block, spec.preact)
        cin = stem_width
        self.stage_names: list[str] = []
        for i, (planes, count) in enumerate(zip(spec.widths, spec.layers)):
            blocks = []
            for j in range(count):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(block(cin, planes, stride, shortcut=spec.shortcut, norm=spec.norm,
                                    groups=spec.groups, width_per_group=spec.width_per_group,
                                    shortcut_scale=spec.shortcut_scale))
                cin = planes * block.expansion
            name = f"layer{i + 1}"
            self.add_module(name, nn.Sequential(*blocks))
            self.stage_names.append(name)
        if spec.preact:
            self.final_bn = norm_layer(cin, spec.norm)
            self.final_relu = nn.ReLU(inplace=True)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, spec.num_classes)
        self.num_features = cin
        if self.fc.weight.device.type != "meta":  # meta tensors hold no values to initialise
            self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's init: Kaiming-normal fan_out convs, BN at (1, 0), default Linear.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if self.spec.zero_init_residual:
            for stage in self.stages():
                for blk in stage:
                    last = blk.last_norm()
                    if isinstance(last, nn.BatchNorm2d):
                        nn.init.constant_(last.weight, 0)

    def stages(self) -> list[nn.Sequential]:
        return [getattr(self, n) for n in self.stage_names]

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        if hasattr(self, "bn1"):
            x = self.relu(self.bn1(x))
        if hasattr(self, "maxpool"):
            x = self.maxpool(x)
        return x

    def head(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "final_bn"):
            x = self.final_relu(self.final_bn(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages():
            x = stage(x)
        return self.head(x)


def set_shortcut_scale(model: ResNet, alpha: float) -> ResNet:
    """Scale every shortcut by `alpha` in place (y = F(x) + α·shortcut(x)), weights untouched;
    `model.spec` follows, so what measures the model names the α it ran at."""
    spec = replace(model.spec, shortcut_scale=float(alpha)).validate()
    for stage in model.stages():
        for blk in stage:
            blk.shortcut_scale = spec.shortcut_scale
    model.spec = spec
    return model


def build_model(spec: ArchSpec, device: str | torch.device | None = None) -> ResNet:
    """Build on `device`; "meta" gives shapes without allocating a single weight."""
    if device is None:
        return ResNet(spec)
    with torch.device(device):
        return ResNet(spec)


def count_params(spec: ArchSpec, trainable_only: bool = True) -> int:
    model = build_model(spec, "meta")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
