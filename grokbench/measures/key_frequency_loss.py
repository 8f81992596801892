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

import torch
from torch.nn import functional as F

from grokbench.errors import require
from grokbench.measures.base import EvalPoint, Measure
from grokbench.measures.fourier import frequency_energy, key_components
from grokbench.tasks.algorithmic import operands

SPLITS = ("train_eval", "val")  # together, every pair of the table


def logit_table(point: EvalPoint) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """(logits p x p x p, labels p x p, training mask p x p); None if the evaluation did not
    cover every pair."""
    p, sets = point.task.p, point.task.splits.eval_sets()
    table = torch.full((p, p, p), float("nan"), dtype=torch.float64, device=point.outputs[SPLITS[0]].device)
    labels = torch.zeros(p, p, dtype=torch.long, device=table.device)
    train = torch.zeros(p, p, dtype=torch.bool, device=table.device)
    for split in SPLITS:
        inputs, targets = sets[split]
        a, b = operands(inputs)
        table[a, b] = point.outputs[split].double()
        labels[a, b] = targets
        train[a, b] |= split == "train_eval"
    return None if torch.isnan(table).any() else (table, labels, train)


def key_frequency_losses(logits: torch.Tensor, labels: torch.Tensor, train: torch.Tensor,
                         frequencies: list[int]) -> tuple[float, float]:
    """(restricted loss on the whole table, excluded loss on the training pairs)."""
    p = logits.shape[0]
    key = key_components(logits, frequencies)
    restricted = key + logits.mean(dim=(0, 1), keepdim=True)  # Nanda et al.'s mean correction
    excluded = logits - key
    flat_labels = labels.reshape(-1)
    restricted_loss = F.cross_entropy(restricted.reshape(p * p, -1), flat_labels)
    excluded_loss = F.cross_entropy(excluded[train], labels[train])
    return float(restricted_loss), float(excluded_loss)


def strongest_frequencies(logits: torch.Tensor, top_k: int) -> list[int]:
    p = logits.shape[0]
    energy = frequency_energy(logits)[1:(p - 1) // 2 + 1]  # non-constant, below the Nyquist frequency
    return sorted(int(k) + 1 for k in torch.argsort(energy, descending=True)[:top_k])


class KeyFrequencyLoss(Measure):
    reads = ("outputs",)

    def __init__(self, top_k: int = 5, frequencies: list[int] | None = None):
        require(isinstance(top_k, int) and top_k >= 1,
                f"measures.key_frequency_loss.top_k={top_k!r} is invalid; allowed: an integer >= 1")
        self.top_k, self.frequencies = top_k, None if frequencies is None else [int(k) for k in frequencies]

    def compute(self, point: EvalPoint) -> dict[str, float]:
        found = logit_table(point)
        if found is None:
            return {}
        logits, labels, train = found
        p = point.task.p
        frequencies = self.frequencies or strongest_frequencies(logits, self.top_k)
        require(all(1 <= k <= (p - 1) // 2 for k in frequencies),
                f"measures.key_frequency_loss.frequencies={frequencies} is invalid; allowed: 1 .. {(p - 1) // 2}")
        restricted, excluded = key_frequency_losses(logits, labels, train, frequencies)
        return {"restricted": restricted, "excluded": excluded}
