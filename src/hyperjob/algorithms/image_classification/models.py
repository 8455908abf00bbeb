"""ResNets in plain torch (torchvision 0.28, the release for torch 2.13, does not load against the CPU build here).

Two families, as SageMaker's ``num_layers`` says:

- **Large images** (18, 34, 50, 101, 152, 200): He et al. 2015's ImageNet networks, a 7x7 stride-2 stem and a
  max-pool, then four stages (basic blocks for 18 and 34, bottlenecks from 50). Parameter names follow
  torchvision's ``resnet*`` models (``conv1``, ``bn1``, ``layer1.0.conv1``, ``fc``), so a torchvision state dict
  loads as pretrained weights.
- **Small images** (20, 32, 44, 56, 110): the CIFAR networks of He et al. 2016 (section 4.2), a 3x3 stem and
  three stages of ``(n - 2) / 6`` basic blocks with 16, 32 and 64 channels.

``base_channels`` scales the widths (64 and 16 by default). The last batch norm of every residual block starts at
zero, so each block starts as the identity (Goyal et al. 2017), which helps short trainings.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ResNet", "build_resnet", "LARGE_BLOCKS", "SMALL_DEPTHS"]

#: depth -> (block kind, blocks per stage) of the ImageNet networks.
LARGE_BLOCKS: dict[int, tuple[str, tuple[int, ...]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
    200: ("bottleneck", (3, 24, 36, 3)),
}
SMALL_DEPTHS = (20, 32, 44, 56, 110)


def _shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module | None:
    """The projection of a residual block's input (1x1 convolution and batch norm, torchvision's
    ``downsample``) when its shape changes; ``None`` (the identity) otherwise."""
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions and a shortcut (a 1x1 projection when the shape changes)."""

    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_channels, channels, stride)
        nn.init.zeros_(self.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1, 3x3 (strided, as torchvision's v1.5) and 1x1 convolutions, four times wider at the output."""

    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        out_channels = channels * self.expansion
        self.conv1 = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = nn.Conv2d(channels, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_channels, out_channels, stride)
        nn.init.zeros_(self.bn3.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """A ResNet: stem, stages of residual blocks, global average pooling and a linear classifier ``fc``.

    Args:
        block: ``BasicBlock`` or ``Bottleneck``.
        blocks: blocks per stage.
        num_classes: outputs of ``fc``.
        in_channels: image channels (1 or 3).
        base_channels: channels of the first stage (doubled at each later stage).
        small: the CIFAR stem (3x3 conv, no pooling) instead of the ImageNet one (7x7 stride 2, max-pool).
    """

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], blocks: tuple[int, ...], num_classes: int,
                 in_channels: int = 3, base_channels: int = 64, small: bool = False) -> None:
        super().__init__()
        self.depth_blocks = blocks
        if small:
            self.conv1 = nn.Conv2d(in_channels, base_channels, 3, 1, 1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, base_channels, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(base_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool: nn.Module = nn.Identity() if small else nn.MaxPool2d(3, 2, 1)
        channels = base_channels
        in_ch = base_channels
        stages = []
        for i, n in enumerate(blocks):
            layers = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                layers.append(block(in_ch, channels, stride))
                in_ch = channels * block.expansion
            stages.append(nn.Sequential(*layers))
            channels *= 2
        for i, stage in enumerate(stages, 1):
            self.add_module(f"layer{i}", stage)
        self.num_stages = len(stages)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(1, self.num_stages + 1):
            x = getattr(self, f"layer{i}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def build_resnet(num_layers: int, num_classes: int, in_channels: int = 3, base_channels: int | None = None
                 ) -> ResNet:
    """The ResNet of SageMaker's ``num_layers``.

    Args:
        num_layers: 18, 34, 50, 101, 152, 200 (ImageNet-style) or 20, 32, 44, 56, 110 (CIFAR-style).
        num_classes: outputs.
        in_channels: image channels.
        base_channels: first-stage width (default 64 for ImageNet-style, 16 for CIFAR-style).

    Raises:
        ValueError: an unknown depth (the hyperparameters are validated before this is called).
    """
    if num_layers in LARGE_BLOCKS:
        kind, blocks = LARGE_BLOCKS[num_layers]
        block = BasicBlock if kind == "basic" else Bottleneck
        return ResNet(block, blocks, num_classes, in_channels, base_channels or 64, small=False)
    if num_layers in SMALL_DEPTHS:
        n = (num_layers - 2) // 6
        return ResNet(BasicBlock, (n, n, n), num_classes, in_channels, base_channels or 16, small=True)
    raise ValueError(f"no ResNet with {num_layers} layers; use one of {sorted(LARGE_BLOCKS) + list(SMALL_DEPTHS)}")
