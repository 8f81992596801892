"""Word tokens, a top-k vocabulary and fixed-length id sequences for text tasks (IMDb).

Deterministic by construction: tokens come from one regular expression, the vocabulary is
ordered by count and then alphabetically, so the same reviews always give the same ids.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable

import torch

PAD, UNK = "<pad>", "<unk>"  # ids 0 and 1; real words start at 2
_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")  # keeps don't, isn't; drops punctuation


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens with HTML line breaks removed."""
    return _WORD.findall(_HTML_BREAK.sub(" ", text).lower())


def build_vocabulary(token_lists: Iterable[list[str]], top_k: int) -> list[str]:
    """`[PAD, UNK, top_k most frequent words]`; ties broken alphabetically."""
    counts = Counter(token for tokens in token_lists for token in tokens)
    words = sorted(counts, key=lambda word: (-counts[word], word))[:top_k]
    return [PAD, UNK, *words]


def encode(token_lists: Iterable[list[str]], vocabulary: list[str], length: int) -> torch.Tensor:
    """Ids `(n, length)`: the first `length` tokens, left-padded with PAD.

    Left padding puts the review's last words next to the LSTM's final state, which is what
    the classifier reads; unknown words map to UNK.
    """
    index = {word: i for i, word in enumerate(vocabulary)}
    unk = index[UNK]
    rows = []
    for tokens in token_lists:
        ids = [index.get(token, unk) for token in tokens[:length]]
        rows.append([index[PAD]] * (length - len(ids)) + ids)
    return torch.tensor(rows, dtype=torch.long).reshape(-1, length)


def vocabulary_digest(vocabulary: list[str]) -> str:
    return hashlib.sha256(json.dumps(vocabulary).encode()).hexdigest()[:16]
