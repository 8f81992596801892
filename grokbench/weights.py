"""The one number about a network's weights that both the module (it logs it) and the
weight-norm constraint (it holds it fixed) read: the L2 norm of all its parameters together."""

from __future__ import annotations

import torch
from torch import nn


def total_norm(model: nn.Module) -> torch.Tensor:
    return torch.sqrt(sum(p.detach().pow(2).sum() for p in model.parameters()))
