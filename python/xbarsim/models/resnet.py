"""CIFAR-style ResNets (torchvision module names), digital; make parts analog with convert_to_analog.

Spec: experiments.md §2.2 (conv1 3×3 stride 1, no max-pool, BasicBlocks, AvgPool 4×4, fc) and
§3 (ResNet-18). The paper's analog part is :data:`PAPER_ANALOG_LAYERS`.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

__all__ = ["BasicBlock", "ResNet", "resnet18", "resnet34", "PAPER_ANALOG_LAYERS"]

#: The modules the paper makes analog (every conv and linear inside them, shortcuts included).
PAPER_ANALOG_LAYERS = ("layer3", "layer4", "fc")


class BasicBlock(nn.Module):
    """conv3×3(stride) → BN → ReLU → conv3×3 → BN, plus identity or 1×1-conv+BN shortcut; ReLU."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """CIFAR ResNet: conv1 → BN → ReLU → layer1..4 (widths w, 2w, 4w, 8w) → AvgPool 4 → fc.

    Args:
        blocks: BasicBlocks per stage, e.g. (2, 2, 2, 2) for ResNet-18.
        num_classes: outputs of fc. Default 10.
        width: channels of conv1 and layer1 (64 in the paper; smaller for tests).
        in_channels: image channels. Default 3.
    """

    def __init__(self, blocks: Sequence[int], num_classes: int = 10, width: int = 64, in_channels: int = 3) -> None:
        super().__init__()
        if len(blocks) != 4:
            raise ValueError(f"ResNet: blocks must have 4 entries; got {tuple(blocks)}")
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        stages, in_planes = [], width
        for k, n in enumerate(blocks):
            stride = 1 if k == 0 else 2
            out_planes = width * 2**k
            layers = [BasicBlock(in_planes, out_planes, stride)]
            layers += [BasicBlock(out_planes, out_planes) for _ in range(n - 1)]
            stages.append(nn.Sequential(*layers))
            in_planes = out_planes
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AvgPool2d(4)
        self.fc = nn.Linear(in_planes, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18(num_classes: int = 10, width: int = 64) -> ResNet:
    """ResNet-18 (2-2-2-2) for 32×32 images."""
    return ResNet((2, 2, 2, 2), num_classes, width)


def resnet34(num_classes: int = 10, width: int = 64) -> ResNet:
    """ResNet-34 (3-4-6-3) for 32×32 images."""
    return ResNet((3, 4, 6, 3), num_classes, width)
