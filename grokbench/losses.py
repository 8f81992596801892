"""Training losses by name. Each takes (outputs, targets, kind) and returns a scalar."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from grokbench.methods.stablemax import cross_entropy_float64, stablemax_cross_entropy


def cross_entropy(outputs: torch.Tensor, targets: torch.Tensor, kind: str) -> torch.Tensor:
    return F.cross_entropy(outputs, targets)


def mse(outputs: torch.Tensor, targets: torch.Tensor, kind: str) -> torch.Tensor:
    """Regression: MSE on the targets. Classification: MSE on one-hot targets (Omnigrok)."""
    if kind == "classification":
        return F.mse_loss(outputs, F.one_hot(targets, outputs.shape[-1]).to(outputs.dtype))
    return F.mse_loss(outputs.reshape(targets.shape), targets)


LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor, str], torch.Tensor]] = {
    "cross_entropy": cross_entropy,
    "mse": mse,
    "stablemax": stablemax_cross_entropy,  # Prieto et al. 2025 (conf/method/stablemax.yaml)
    "cross_entropy_float64": cross_entropy_float64,
}
