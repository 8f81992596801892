"""Pre-activation ResNet-18 with a width parameter, BatchNorm optional: the network of Humayun,
Balestriero & Baraniuk 2024 ("Deep Networks Always Grok and Here is Why"; their code,
github.com/AhmedImtiazPrio/grok-adversarial models.py `make_resnet18k`, which follows
kuangliu/pytorch-cifar's PreActResNet)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _norm(channels: int, batch_norm: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if batch_norm else nn.Identity()


class PreActBlock(nn.Module):
    """relu(bn(x)) -> 3x3 conv -> relu(bn) -> 3x3 conv, plus the shortcut (a 1x1 conv of the
    pre-activated input when the shape changes, the input itself otherwise). Convolutions
    have no bias, as in the authors' code."""

    def __init__(self, in_channels: int, channels: int, stride: int, batch_norm: bool):
        super().__init__()
        self.norm1 = _norm(in_channels, batch_norm)
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.norm2 = _norm(channels, batch_norm)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False)
        self.shortcut = None
        if stride != 1 or in_channels != channels:
            self.shortcut = nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.norm1(x))
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv2(F.relu(self.norm2(self.conv1(out))))
        return out + shortcut


class PreActResNet18(nn.Module):
    """3x3 stride-1 stem with `width` channels, four stages of two blocks (width, 2w, 4w, 8w;
    stride 2 from the second stage on), global average pooling, linear head. `width=64` is
    the usual ResNet-18; the authors train `width=16` without BatchNorm."""

    def __init__(self, in_channels: int, num_outputs: int, width: int = 64, batch_norm: bool = False):
        super().__init__()
        if int(width) < 1:
            raise ValueError(f"model.width={width} is invalid; allowed: a positive integer")
        self.stem = nn.Conv2d(in_channels, width, 3, stride=1, padding=1, bias=False)
        blocks, channels = [], width
        for stage in range(4):
            out = width * 2 ** stage
            for index in range(2):
                stride = 2 if stage > 0 and index == 0 else 1
                blocks.append(PreActBlock(channels, out, stride, batch_norm))
                channels = out
        self.blocks = nn.Sequential(*blocks)
        # The authors pool with avg_pool2d(out, 4), i.e. over the whole 4x4 map of a 32x32
        # input; global pooling is the same there and also fits other image sizes.
        self.head = nn.Linear(channels, num_outputs)

    def readout(self) -> nn.Module:
        """The read-out layer: its input is the last hidden representation (progress measures)."""
        return self.head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)).mean(dim=(2, 3)))
