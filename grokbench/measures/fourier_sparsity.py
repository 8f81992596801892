"""Fourier sparsity of the token embeddings (Nanda et al. 2023: a network that groks modular
addition embeds each residue a as cos(w_k a), sin(w_k a) for a few key frequencies k): the share
of the embeddings' squared norm, over residues 0 .. p-1, in the `top_k` strongest non-constant
frequencies of their DFT over the residues. About top_k / (p / 2) for random embeddings, 1 for
embeddings built from top_k frequencies."""

from __future__ import annotations

from grokbench.errors import require
from grokbench.measures.base import EvalPoint, Measure
from grokbench.measures.fourier import frequency_power, top_fraction


class FourierSparsity(Measure):
    reads = ("weights",)
    model_needs = ("token_embeddings",)

    def __init__(self, top_k: int = 5):
        require(isinstance(top_k, int) and top_k >= 1,
                f"measures.fourier_sparsity.top_k={top_k!r} is invalid; allowed: an integer >= 1")
        self.top_k = top_k

    def compute(self, point: EvalPoint) -> dict[str, float]:
        p = point.task.p  # tokens 0 .. p-1 are the residues (tasks/algorithmic.py)
        fraction, _ = top_fraction(frequency_power(point.model.token_embeddings()[:p].detach()), self.top_k)
        return {"": fraction}
