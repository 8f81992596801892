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
