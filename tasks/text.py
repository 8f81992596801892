"""Word tokens, stop words, a top-k vocabulary, and the two encodings of a text task (IMDb):
fixed-length id sequences (for an LSTM) and multi-hot bags of words (for an MLP).

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

# NLTK's English stop-word list (`nltk.corpus.stopwords.words("english")`, its 179-word
# version; later NLTK data add a few contractions), the set Omnigrok's IMDb script removes
# before building its vocabulary (github.com/KindXiaoming/Omnigrok, imdb/grokking/imdb-grokking,
# `tockenize`, commit ce1df03).
# Kept as data so the vocabulary does not change with the installed NLTK version.
ENGLISH_STOP_WORDS = frozenset((
    "a", "about", "above", "after", "again", "against", "ain", "all", "am", "an", "and", "any",
    "are", "aren", "aren't", "as", "at", "be", "because", "been", "before", "being", "below",
    "between", "both", "but", "by", "can", "couldn", "couldn't", "d", "did", "didn", "didn't", "do",
    "does", "doesn", "doesn't", "doing", "don", "don't", "down", "during", "each", "few", "for",
    "from", "further", "had", "hadn", "hadn't", "has", "hasn", "hasn't", "have", "haven", "haven't",
    "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if",
    "in", "into", "is", "isn", "isn't", "it", "it's", "its", "itself", "just", "ll", "m", "ma",
    "me", "mightn", "mightn't", "more", "most", "mustn", "mustn't", "my", "myself", "needn",
    "needn't", "no", "nor", "not", "now", "o", "of", "off", "on", "once", "only", "or", "other",
    "our", "ours", "ourselves", "out", "over", "own", "re", "s", "same", "shan", "shan't", "she",
    "she's", "should", "should've", "shouldn", "shouldn't", "so", "some", "such", "t", "than",
    "that", "that'll", "the", "their", "theirs", "them", "themselves", "then", "there", "these",
    "they", "this", "those", "through", "to", "too", "under", "until", "up", "ve", "very", "was",
    "wasn", "wasn't", "we", "were", "weren", "weren't", "what", "when", "where", "which", "while",
    "who", "whom", "why", "will", "with", "won", "won't", "wouldn", "wouldn't", "y", "you", "you'd",
    "you'll", "you're", "you've", "your", "yours", "yourself", "yourselves",
))
STOP_WORD_MODES = ("keep", "remove")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens with HTML line breaks removed."""
    return _WORD.findall(_HTML_BREAK.sub(" ", text).lower())


def remove_stop_words(tokens: list[str]) -> list[str]:
    """`tokens` without the words of `ENGLISH_STOP_WORDS`, in their order."""
    return [token for token in tokens if token not in ENGLISH_STOP_WORDS]


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


def multi_hot(token_lists: Iterable[list[str]], vocabulary: list[str], length: int) -> torch.Tensor:
    """Floats `(n, len(vocabulary))`: 1 where the word occurs among the first `length` tokens.

    Columns are vocabulary ids (as in `encode`): the PAD column is always 0, the UNK column is
    1 when a word outside the vocabulary occurs. Counts are not kept: presence is what a
    bag-of-words sentiment classifier reads, and 0/1 inputs keep the scale of every review alike.
    """
    ids = encode(token_lists, vocabulary, length)
    bags = torch.zeros(len(ids), len(vocabulary)).scatter_(1, ids, 1.0)
    bags[:, vocabulary.index(PAD)] = 0.0  # padding is not a word
    return bags


def vocabulary_digest(vocabulary: list[str]) -> str:
    return hashlib.sha256(json.dumps(vocabulary).encode()).hexdigest()[:16]
