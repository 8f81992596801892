"""IMDb: tokenizer, vocabulary, padding, the task on generated Parquet, the LSTM, a tiny fit."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pytest
import torch

from grokbench.errors import GrokbenchError
from grokbench.run import train
from models.lstm import LSTMClassifier
from tasks import imdb as imdb_module
from tasks.imdb import IMDb
from tasks.text import PAD, UNK, build_vocabulary, encode, tokenize

FILLER = ["plot", "actor", "scene", "story", "the", "a", "film", "movie", "music", "end"]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GROKBENCH_CACHE", str(tmp_path / "cache"))


def review(label: int, rng: random.Random) -> str:
    mood = ["great", "good", "loved"] if label else ["bad", "awful", "boring"]
    words = rng.choices(FILLER, k=rng.randint(3, 20)) + rng.choices(mood, k=3)
    rng.shuffle(words)
    return " ".join(words[:5]) + "<br /><br />" + " ".join(words[5:])


def write_imdb(folder: Path, n_per_class: int = 30) -> Path:
    """Parquet like the local copy: all negatives first, then all positives."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    for split in ("train", "test"):
        labels = [0] * n_per_class + [1] * n_per_class
        pd.DataFrame({"text": [review(y, rng) for y in labels], "label": labels}).to_parquet(
            folder / f"{split}.parquet")
    return folder


def test_tokenize_lowercases_and_drops_html_breaks():
    assert tokenize("Great movie!<br /><br />I LOVED it, didn't I?") == \
        ["great", "movie", "i", "loved", "it", "didn't", "i"]


def test_vocabulary_is_ordered_by_count_then_alphabet_whatever_the_document_order():
    docs = [["b", "a", "c", "a"], ["c", "d", "b"], ["e"]]
    vocab = build_vocabulary(docs, top_k=4)
    assert vocab == [PAD, UNK, "a", "b", "c", "d"]  # a, b, c twice; d and e tie, d wins
    assert build_vocabulary(list(reversed(docs)), top_k=4) == vocab


def test_encode_left_pads_truncates_and_maps_unknown_words():
    vocab = [PAD, UNK, "good", "film"]
    ids = encode([["good", "film"], ["film", "zzz", "good", "good", "film", "film"]], vocab, length=4)
    assert ids.tolist() == [[0, 0, 2, 3], [3, 1, 2, 2]]


def test_task_draws_a_balanced_shuffled_subset_and_is_deterministic(tmp_path):
    source = write_imdb(tmp_path / "imdb")
    make = lambda seed: IMDb(source=str(source), n_train=20, n_test=10, vocab_size=8, seq_len=6,
                             split_seed=seed)
    a, b, other = make(0), make(0), make(1)
    for task in (a, b, other):
        task.setup()
    labels = a.splits.train_targets
    assert labels.sum().item() == 10 and a.splits.val_targets.sum().item() == 5
    assert labels[:10].sum().item() not in (0, 10)  # not the source's negatives-first order
    assert torch.equal(a.splits.train_inputs, b.splits.train_inputs) and a.vocabulary == b.vocabulary
    assert not torch.equal(a.splits.train_inputs, other.splits.train_inputs)
    assert torch.equal(a.splits.val_targets, other.splits.val_targets)  # the test subset is fixed
    assert a.splits.train_inputs.shape == (20, 6) and a.dims == {"num_outputs": 2, "vocab_size": 10,
                                                                "seq_len": 6}


def test_missing_column_and_missing_source_are_one_line_errors(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    for split in ("train", "test"):
        pd.DataFrame({"review": ["x"], "label": [0]}).to_parquet(folder / f"{split}.parquet")
    with pytest.raises(GrokbenchError, match=r"train\.parquet has no column 'text'"):
        IMDb(source=str(folder)).setup()
    with pytest.raises(GrokbenchError, match="task.source=.*nowhere is not a folder"):
        IMDb(source=str(tmp_path / "nowhere")).setup()


def test_offline_without_source_says_how_to_pass_one(monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'stanfordnlp/imdb' on the Hub\n(more detail)")
    monkeypatch.setattr("datasets.load_dataset", offline)
    with pytest.raises(GrokbenchError) as error:
        IMDb().setup()
    assert "task.source=../shared/data/imdb" in str(error.value) and "\n" not in str(error.value)
    assert imdb_module.HUB_ID in str(error.value)


def test_lstm_forward_and_backward():
    model = LSTMClassifier(vocab_size=20, num_outputs=2, d_embed=8, hidden=16, layers=2)
    tokens = torch.randint(0, 20, (5, 7))
    out = model(tokens)
    assert out.shape == (5, 2)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_tiny_imdb_fit_writes_record_and_vocabulary(tmp_path, run_config):
    source = write_imdb(tmp_path / "imdb")
    cfg = run_config(["experiment=quick_imdb", f"task.source={source}", "task.n_train=40", "task.n_test=20",
                      "task.seq_len=12", "task.vocab_size=30", "model.hidden=8", "model.d_embed=8",
                      "trainer.max_steps=12", "eval.every=6", "eval.log_spaced=false"])
    record = train(cfg)
    assert record["status"] == "completed", record["error"]
    assert record["steps"] == 12 and record["task"] == "imdb"
    vocab = json.loads((Path(cfg.run_dir) / "vocab.json").read_text())
    assert vocab["tokens"][:2] == [PAD, UNK] and vocab["sha256_16"] == record["task_params"]["vocabulary_sha256_16"]
