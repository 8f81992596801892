"""Activation sparsity (Golechha 2024): the fraction of near-zero entries of the last hidden
representation (examples x units) on held-out examples.

"Near zero" is |h| <= threshold x the representation's root mean square: relative, so a network
started at alpha = 8 (Omnigrok) and its alpha = 1 control are read on the same scale; a ReLU's
exact zeros count at any threshold.
"""

from __future__ import annotations

import torch

from grokbench.errors import require
from grokbench.measures.base import EvalPoint, Measure


def near_zero_fraction(hidden: torch.Tensor, threshold: float) -> float:
    hidden = hidden.float()
    scale = hidden.pow(2).mean().sqrt()
    if scale == 0:
        return 1.0
    return float((hidden.abs() <= threshold * scale).float().mean())


class ActivationSparsity(Measure):
    reads = ("representation",)
    model_needs = ("readout",)

    def __init__(self, threshold: float = 0.01):
        require(0 <= threshold < 1, f"measures.activation_sparsity.threshold={threshold!r} is invalid; "
                                    "allowed: a number in [0, 1)")
        self.threshold = float(threshold)

    def compute(self, point: EvalPoint) -> dict[str, float]:
        return {"": near_zero_fraction(point.representation, self.threshold)}
