"""Training losses by name. Each takes (outputs, targets, kind) and returns a scalar.

A method that changes the loss names one of these (conf/method/<m>.yaml `loss:`); the registry
imports no method. StableMax (Prieto et al. 2025, "Grokking at the edge of numerical stability"):
softmax's exp is replaced by s(x) = x + 1 for x >= 0 and 1 / (1 - x) for x < 0, which grows
linearly instead of exponentially, so probabilities do not round to exactly 1 (softmax collapse)
once the logits grow; computed in float64 as in the authors' Fig. 1 runs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from grokbench.errors import require


def cross_entropy(outputs: torch.Tensor, targets: torch.Tensor, kind: str) -> torch.Tensor:
    return F.cross_entropy(outputs, targets)


def mse(outputs: torch.Tensor, targets: torch.Tensor, kind: str) -> torch.Tensor:
    """Regression: MSE on the targets. Classification: MSE on one-hot targets (Omnigrok)."""
    if kind == "classification":
        return F.mse_loss(outputs, F.one_hot(targets, outputs.shape[-1]).to(outputs.dtype))
    return F.mse_loss(outputs.reshape(targets.shape), targets)


def stablemax_s(x: torch.Tensor) -> torch.Tensor:
    # The 1/(1-x) branch sees only x < 0 (0 elsewhere): at x = 1 its infinite slope would
    # otherwise turn the zero gradient of the branch not taken into NaN.
    negative = torch.where(x < 0, x, torch.zeros_like(x))
    return torch.where(x >= 0, x + 1, 1 / (1 - negative))


def log_stablemax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    s = stablemax_s(x)
    return torch.log(s) - torch.log(s.sum(dim=dim, keepdim=True))


def stablemax_cross_entropy(outputs: torch.Tensor, targets: torch.Tensor, kind: str) -> torch.Tensor:
    require(kind == "classification",
            f"module.loss=stablemax needs a classification task; this task is {kind}")
    log_probs = log_stablemax(outputs.to(torch.float64))
    return F.nll_loss(log_probs, targets)


def cross_entropy_float64(outputs: torch.Tensor, targets: torch.Tensor, kind: str) -> torch.Tensor:
    """Softmax cross-entropy in float64: the matched baseline of Prieto et al.'s Fig. 1."""
    return F.cross_entropy(outputs.to(torch.float64), targets)


LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor, str], torch.Tensor]] = {
    "cross_entropy": cross_entropy,
    "mse": mse,
    "stablemax": stablemax_cross_entropy,  # Prieto et al. 2025 (conf/method/stablemax.yaml)
    "cross_entropy_float64": cross_entropy_float64,
}
