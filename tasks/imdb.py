"""IMDb sentiment (Maas et al. 2011) as in Omnigrok: a small balanced subset, as word ids
(`features=sequence`, for an LSTM) or as multi-hot bags of words (`features=bow`, for an MLP).

Reviews come from the Hub (`stanfordnlp/imdb` through `datasets`) or, with `source=<dir>`,
from local Parquet files `train.parquet` / `test.parquet` with columns `text` and `label`.
The local copy lists all negatives first, so subsets are drawn by seeded permutation, never
by prefix. The vocabulary is built from the training subset only (after removing stop words
with `stop_words=remove`, as Omnigrok does) and saved with the run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from grokbench.errors import GrokbenchError, require
from tasks.base import Detection, GrokTask, Splits
from tasks.cache import cached, file_identity
from tasks.text import (
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
SOURCE_HINT = "task.source=<folder with train.parquet and test.parquet>, e.g. task.source=../shared/data/imdb"


def parquet_file(source: str, split: str) -> Path:
    folder = Path(source)
    require(folder.is_dir(), f"task.source={source} is not a folder; pass {SOURCE_HINT}")
    found = [folder / f"{split}.parquet"] if (folder / f"{split}.parquet").exists() else \
        sorted(folder.glob(f"**/{split}-*.parquet"))  # the Hub layout: data/train-00000-of-00001.parquet
    require(len(found) == 1, f"task.source={source} has no {split}.parquet; pass {SOURCE_HINT}")
    return found[0]


def read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # noqa: BLE001 - any failure to read becomes the one-line hint
        raise GrokbenchError(f"cannot read {path} as Parquet ({type(error).__name__}); "
                             f"pass {SOURCE_HINT}") from None
    for column in COLUMNS:
        require(column in frame.columns, f"{path} has no column {column!r}; "
                                         f"columns: {', '.join(map(str, frame.columns))}")
    return frame[list(COLUMNS)]


def load_hub(split: str) -> pd.DataFrame:
    try:
        from datasets import load_dataset
        return load_dataset(HUB_ID, split=split).to_pandas()[list(COLUMNS)]
    except Exception as error:  # noqa: BLE001 - any failure to read becomes the one-line hint
        reason = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
        raise GrokbenchError(f"cannot load {HUB_ID} from the Hub ({reason}); offline, pass "
                             f"{SOURCE_HINT}") from None


def balanced_subset(labels: np.ndarray, n: int, seed: int, what: str) -> np.ndarray:
    """`n` row indices, the same number per class, in a seeded random order."""
    classes = np.unique(labels)
    per_class = n // len(classes)
    available = min(int((labels == c).sum()) for c in classes)
    require(1 <= per_class <= available,
            f"task.{what}={n} is invalid; allowed: {len(classes)} to {available * len(classes)}")
    rng = np.random.default_rng(seed)
    picked = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in classes])
    return rng.permutation(picked)


class IMDb(GrokTask):
    """Binary sentiment of movie reviews, as fixed-length sequences of word ids or as bags of
    the words among each review's first `seq_len` tokens."""

    name = "imdb"
    version = "1"
    kind = "classification"
    detection = Detection(metric="acc")

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

    def _frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        if self.source is None:
            return load_hub("train"), load_hub("test")
        return (read_parquet(parquet_file(self.source, "train")),
                read_parquet(parquet_file(self.source, "test")))

    def _build(self) -> dict:
        train, test = self._frames()
        train = train.iloc[balanced_subset(train["label"].to_numpy(), self.n_train, self.split_seed, "n_train")]
        test = test.iloc[balanced_subset(test["label"].to_numpy(), self.n_test, TEST_SUBSET_SEED, "n_test")]
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
        origin = HUB_ID if self.source is None else \
            [file_identity(parquet_file(self.source, s)) for s in ("train", "test")]
        return {"origin": origin, "version": self.version, "n_train": self.n_train, "n_test": self.n_test,
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
