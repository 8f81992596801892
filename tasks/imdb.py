"""IMDb sentiment (Maas et al. 2011) as in Omnigrok: a small balanced subset, as word ids
(`features=sequence`, for an LSTM) or as multi-hot bags of words (`features=bow`, for an MLP).

Reviews come from the Hub (`stanfordnlp/imdb`) or, with `source=<dir>`, from local Parquet
files `train.parquet` / `test.parquet` with columns `text` and `label`, both through the one
data loader (tasks/source.py). Its rule for IMDb: the same number of reviews per class, in a
seeded random order (the local copy lists all negatives first, so never a prefix); training
reviews drawn with split_seed, held-out reviews with the fixed seed 0. The vocabulary is
built from the training subset only (after removing stop words with `stop_words=remove`, as
Omnigrok does) and saved with the run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import torch

from grokbench.errors import require
from grokbench.tasks.base import Detection, GrokTask, Splits
from grokbench.tasks.cache import cached
from grokbench.tasks.source import DataSource, draw_per_class
from grokbench.tasks.text import (
    PAD,
    STOP_WORD_MODES,
    UNK,
    build_vocabulary,
    encode,
    multi_hot,
    remove_stop_words,
    tokenize,
    vocabulary_digest,
)

HUB_ID = "stanfordnlp/imdb"
COLUMNS = ("text", "label")
TEST_SUBSET_SEED = 0  # the held-out subset is the same for every split seed and run seed
FEATURES = ("sequence", "bow")  # word ids (N, seq_len) | multi-hot floats (N, vocabulary size)


class IMDb(GrokTask):
    """Binary sentiment of movie reviews, as fixed-length sequences of word ids or as bags of
    the words among each review's first `seq_len` tokens."""

    name = "imdb"
    title, board_order = "IMDb", 50
    version = "1"
    kind = "classification"
    detection = Detection(metric="acc")
    train_size_key = "n_train"

    def __init__(self, source: str | None = None, n_train: int = 1000, n_test: int = 1000,
                 vocab_size: int = 1000, seq_len: int = 500, features: str = "sequence",
                 stop_words: str = "keep", **kwargs):
        super().__init__(**kwargs)
        require(features in FEATURES, f"task.features={features!r} is unknown; allowed: {', '.join(FEATURES)}")
        require(stop_words in STOP_WORD_MODES,
                f"task.stop_words={stop_words!r} is unknown; allowed: {', '.join(STOP_WORD_MODES)}")
        for key, value in (("n_train", n_train), ("n_test", n_test), ("vocab_size", vocab_size),
                           ("seq_len", seq_len)):
            require(isinstance(value, int) and value >= 1,
                    f"task.{key}={value!r} is invalid; allowed: a positive integer")
        self.source, self.n_train, self.n_test = source, n_train, n_test
        self.top_k, self.seq_len = vocab_size, seq_len
        self.features, self.stop_words = features, stop_words
        self.vocabulary: list[str] = []

    def _data_source(self) -> DataSource:
        return DataSource(self.source, HUB_ID, COLUMNS, example="data/imdb")

    def _draw(self, split: str, n: int, seed: int, what: str) -> pd.DataFrame:
        frame = self._data_source().read(split)
        return frame.iloc[draw_per_class(frame["label"].to_numpy(), n, seed, "equal", what)]

    def _build(self) -> dict:
        train = self._draw("train", self.n_train, self.split_seed, "n_train")
        test = self._draw("test", self.n_test, TEST_SUBSET_SEED, "n_test")
        train_tokens, test_tokens = self._tokens(train["text"]), self._tokens(test["text"])
        vocabulary = build_vocabulary(train_tokens, self.top_k)
        featurize = multi_hot if self.features == "bow" else encode
        return {"vocabulary": vocabulary,
                "train_inputs": featurize(train_tokens, vocabulary, self.seq_len),
                "train_labels": torch.tensor(train["label"].tolist(), dtype=torch.long),
                "test_inputs": featurize(test_tokens, vocabulary, self.seq_len),
                "test_labels": torch.tensor(test["label"].tolist(), dtype=torch.long)}

    def _tokens(self, texts) -> list[list[str]]:
        """Word tokens of each text; stop words are gone before `seq_len` counts tokens."""
        tokens = [tokenize(t) for t in texts]
        return [remove_stop_words(t) for t in tokens] if self.stop_words == "remove" else tokens

    def _cache_key(self) -> dict:
        return {"origin": self._data_source().identity(), "version": self.version, "n_train": self.n_train, "n_test": self.n_test,
                "top_k": self.top_k, "seq_len": self.seq_len, "features": self.features,
                "stop_words": self.stop_words, "split_seed": self.split_seed,
                "test_seed": TEST_SUBSET_SEED}

    def build_splits(self) -> Splits:
        data = cached("imdb", self._cache_key(), self._build)
        self.vocabulary = data["vocabulary"]
        return Splits(data["train_inputs"], data["train_labels"],
                      data["test_inputs"], data["test_labels"])

    def save_artifacts(self, run_dir: str | Path) -> None:
        """`vocab.json` next to the record: ids (and bag-of-words columns) are list positions,
        so evaluation is reproducible."""
        payload = {"pad": PAD, "unk": UNK, "seq_len": self.seq_len, "padding": "left",
                   "features": self.features, "stop_words": self.stop_words,
                   "sha256_16": vocabulary_digest(self.vocabulary), "tokens": self.vocabulary}
        Path(run_dir, "vocab.json").write_text(json.dumps(payload, indent=0) + "\n")

    @property
    def num_outputs(self) -> int:
        return 2

    def extra_dims(self) -> dict:
        """Word ids need an embedding (`vocab_size`, `seq_len`: lstm, token_mlp); bags of words
        are flat features (`input_size`: mlp). Giving each only its own keys makes a mismatched
        model fail at once with the dims it lacks."""
        if self.features == "bow":
            return {"input_size": len(self.vocabulary)}
        return {"vocab_size": len(self.vocabulary), "seq_len": self.seq_len}

    def params(self) -> dict:
        return {**super().params(), "source": self.source or HUB_ID, "n_train": self.n_train,
                "n_test": self.n_test, "vocab_top_k": self.top_k, "seq_len": self.seq_len,
                "features": self.features, "stop_words": self.stop_words,
                "vocabulary_sha256_16": vocabulary_digest(self.vocabulary) if self.vocabulary else None}
