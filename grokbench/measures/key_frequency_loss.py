"""Nanda et al. 2023's restricted and excluded loss for modular addition.

The logits over the whole table (a, b) x outputs c come from the evaluation itself: train_eval
and val together are every pair. For each key frequency k the logits' components along
cos(w_k (a+b)) and sin(w_k (a+b)) (for every output c; w_k = 2 pi k / p) are
- kept alone, plus each output's mean logit over the table, for the restricted loss
  (cross-entropy on the whole table): it falls as the Fourier circuit forms;
- removed, for the excluded loss (cross-entropy on the training pairs): it rises as the
  training fit comes to rest on that circuit instead of memorization.
Nanda et al. take the key frequencies from the final network; a run does not have it, so here
they are the `top_k` frequencies whose (a+b) components carry the most energy in the current
logits, unless `frequencies` fixes them (e.g. those of a finished run).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from grokbench.errors import require
from grokbench.measures.base import EvalPoint, Measure
from grokbench.measures.fourier import frequency_energy, key_components, sum_components
from grokbench.tasks.algorithmic import operands

SPLITS = ("train_eval", "val")  # together, every pair of the table


@dataclass
class PairLogits:
    """The logits of every pair (a, b) of the table, one row per pair, from train_eval and val."""

    logits: torch.Tensor  # (pairs, p)
    sums: torch.Tensor    # a + b mod p of each pair
    labels: torch.Tensor
    train: torch.Tensor   # whether the pair is a training pair
    p: int


def pair_logits(point: EvalPoint) -> PairLogits | None:
    """None when the evaluation did not cover all p^2 pairs."""
    p, sets = point.task.p, point.task.splits.eval_sets()
    parts = []
    for split in SPLITS:
        inputs, targets = sets[split]
        a, b = operands(inputs)
        is_train = torch.full_like(targets, split == "train_eval", dtype=torch.bool)
        parts.append((point.outputs[split].float(), a * p + b, targets, is_train))
    logits, pairs, labels, train = (torch.cat(x) for x in zip(*parts))
    if len(torch.unique(pairs)) != p * p or len(pairs) != p * p:
        return None
    return PairLogits(logits, (pairs // p + pairs % p) % p, labels, train, p)


def strongest_frequencies(table: PairLogits, top_k: int) -> list[int]:
    energy = frequency_energy(sum_components(table.logits, table.sums, table.p), table.p)
    energy = energy[1:(table.p - 1) // 2 + 1]  # non-constant, below the Nyquist frequency
    return sorted(int(k) + 1 for k in torch.argsort(energy, descending=True)[:top_k])


def key_frequency_losses(table: PairLogits, frequencies: list[int]) -> tuple[float, float]:
    """(restricted loss on every pair, excluded loss on the training pairs)."""
    coefficients = sum_components(table.logits, table.sums, table.p)
    key = key_components(coefficients, frequencies, table.p).float()[table.sums]
    restricted = key + table.logits.mean(dim=0)  # Nanda et al.'s mean correction
    excluded = table.logits[table.train] - key[table.train]
    return (float(F.cross_entropy(restricted, table.labels)),
            float(F.cross_entropy(excluded, table.labels[table.train])))


class KeyFrequencyLoss(Measure):
    reads = ("outputs",)

    def __init__(self, top_k: int = 5, frequencies: list[int] | None = None):
        require(isinstance(top_k, int) and top_k >= 1,
                f"measures.key_frequency_loss.top_k={top_k!r} is invalid; allowed: an integer >= 1")
        self.top_k, self.frequencies = top_k, None if frequencies is None else [int(k) for k in frequencies]

    def compute(self, point: EvalPoint) -> dict[str, float]:
        table = pair_logits(point)
        if table is None:
            return {}
        p = table.p
        frequencies = self.frequencies or strongest_frequencies(table, self.top_k)
        require(all(1 <= k <= (p - 1) // 2 for k in frequencies),
                f"measures.key_frequency_loss.frequencies={frequencies} is invalid; allowed: 1 .. {(p - 1) // 2}")
        restricted, excluded = key_frequency_losses(table, frequencies)
        return {"restricted": restricted, "excluded": excluded}
