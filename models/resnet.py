"""torchvision's ResNet-18 adapted to 32x32 inputs (CIFAR), BatchNorm optional."""

from __future__ import annotations

from torch import nn
from torchvision.models import resnet18 as torchvision_resnet18


def _no_norm(num_features: int) -> nn.Module:
    return nn.Identity()


def resnet18(in_channels: int, num_outputs: int, batch_norm: bool = False) -> nn.Module:
    """3x3 stride-1 stem and no max-pool, so 32x32 inputs keep enough resolution; every
    BatchNorm becomes Identity when `batch_norm` is off (Humayun et al. 2024 use none)."""
    model = torchvision_resnet18(num_classes=num_outputs,
                                 norm_layer=nn.BatchNorm2d if batch_norm else _no_norm)
    model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    return model
