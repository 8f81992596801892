"""StableMax cross-entropy (Prieto et al. 2025, "Grokking at the edge of numerical stability").

Softmax's exp is replaced by s(x) = x + 1 for x >= 0 and 1 / (1 - x) for x < 0, which grows
linearly instead of exponentially, so probabilities do not round to exactly 1 (softmax
collapse) once the logits grow. Computed in float64 as in the authors' Fig. 1 runs.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from grokbench.errors import require


def stablemax_s(x: torch.Tensor) -> torch.Tensor:
    # Clamp each branch to its own domain so the branch not taken has a finite gradient
    # (torch.where would otherwise multiply 0 by the infinite slope of 1/(1-x) at x = 1).
    return torch.where(x >= 0, x.clamp(min=0) + 1, 1 / (1 - x.clamp(max=0)))


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
