"""Effective rank of the last hidden representation on held-out examples (Roy & Vetterli 2007):
exp of the entropy of the normalized singular values of the (examples x units) matrix.

The representation is the input of the layer each model declares as its read-out (`readout()`
in models/), captured during the evaluation itself. It is not centred: Roy & Vetterli define the
effective rank of the matrix as it is.
"""

from __future__ import annotations

import torch

from grokbench.measures.base import EvalPoint, Measure


def effective_rank(matrix: torch.Tensor) -> float:
    singular = torch.linalg.svdvals(matrix.double())
    total = singular.sum()
    if total <= 0:
        return 0.0  # an all-zero representation has no directions at all
    p = singular / total
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


class EffectiveRank(Measure):
    reads = ("representation",)
    model_needs = ("readout",)

    def compute(self, point: EvalPoint) -> dict[str, float]:
        return {"": effective_rank(point.representation)}
