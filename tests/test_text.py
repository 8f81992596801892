"""IMDb: tokenizer, stop words, vocabulary, padding, bags of words, the task on generated
Parquet, the LSTM, tiny fits of the LSTM and bag-of-words presets."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pytest
import torch

from grokbench.errors import GrokbenchError
from grokbench.models.lstm import LSTMClassifier
from grokbench.run import train
from grokbench.tasks import imdb as imdb_module
from grokbench.tasks.imdb import IMDb
from grokbench.tasks.text import (
    ENGLISH_STOP_WORDS,
    PAD,
    UNK,
    build_vocabulary,
    encode,
    multi_hot,
    remove_stop_words,
    tokenize,
)

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
    with pytest.raises(GrokbenchError, match="task.source=.*nowhere is not a directory"):
        IMDb(source=str(tmp_path / "nowhere")).setup()


def test_offline_without_source_says_how_to_pass_one(monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'stanfordnlp/imdb' on the Hub\n(more detail)")
    monkeypatch.setattr("datasets.load_dataset", offline)
    with pytest.raises(GrokbenchError) as error:
        IMDb().setup()
    assert "task.source=data/imdb" in str(error.value) and "\n" not in str(error.value)
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
    cfg = run_config(["experiment=omnigrok_imdb", f"task.source={source}", "task.n_train=40", "task.n_test=20",
                      "task.seq_len=12", "task.vocab_size=30", "model.hidden=8", "model.d_embed=8",
                      "trainer.max_steps=12", "eval.every=6", "eval.log_spaced=false"])
    record = train(cfg)
    assert record["status"] == "completed", record["error"]
    assert record["steps"] == 12 and record["task"] == "imdb"
    vocab = json.loads((Path(cfg.run_dir) / "vocab.json").read_text())
    assert vocab["tokens"][:2] == [PAD, UNK] and vocab["sha256_16"] == record["task_params"]["vocabulary_sha256_16"]


def test_stop_word_list_is_nltks_english_list_and_removal_keeps_order():
    assert len(ENGLISH_STOP_WORDS) == 179 and {"the", "a", "not", "don't", "yourselves"} <= ENGLISH_STOP_WORDS
    assert remove_stop_words(["the", "film", "was", "not", "good", "don't", "film"]) == ["film", "good", "film"]


def test_multi_hot_marks_the_words_of_the_first_tokens_only():
    vocab = [PAD, UNK, "good", "film", "bad"]
    bags = multi_hot([["good", "zzz", "good", "bad"], ["film"], []], vocab, length=3)
    assert bags.dtype == torch.float32 and bags.shape == (3, 5)
    assert bags.tolist() == [[0, 1, 1, 0, 0],   # "bad" is the 4th token: past length 3
                             [0, 0, 0, 1, 0],   # short reviews are not padded into the PAD column
                             [0, 0, 0, 0, 0]]


def test_bow_task_gives_multi_hot_rows_of_the_first_seq_len_tokens_and_mlp_dims(tmp_path):
    source = write_imdb(tmp_path / "imdb")
    bow = IMDb(source=str(source), n_train=20, n_test=10, vocab_size=8, seq_len=6, features="bow")
    ids = IMDb(source=str(source), n_train=20, n_test=10, vocab_size=8, seq_len=6)
    bow.setup()
    ids.setup()
    x = bow.splits.train_inputs
    assert x.shape == (20, 10) and x.dtype == torch.float32 and set(x.unique().tolist()) <= {0.0, 1.0}
    assert bow.dims == {"num_outputs": 2, "input_size": 10} and bow.vocabulary == ids.vocabulary
    for bag, row in zip(x, ids.splits.train_inputs):  # same reviews, same order: the words among the 6 ids
        assert set(torch.nonzero(bag).flatten().tolist()) == set(row.tolist()) - {0}
    assert bow.splits.val_inputs.shape == (10, 10) and bow.params()["features"] == "bow"


def test_stop_words_remove_drops_them_from_vocabulary_and_sequences(tmp_path):
    source = write_imdb(tmp_path / "imdb")
    make = lambda mode: IMDb(source=str(source), n_train=20, n_test=10, vocab_size=50, seq_len=8,
                             stop_words=mode)
    keep, remove = make("keep"), make("remove")
    keep.setup()
    remove.setup()
    assert {"the", "a"} <= set(keep.vocabulary)  # FILLER's stop words
    assert not set(remove.vocabulary) & ENGLISH_STOP_WORDS and "plot" in remove.vocabulary
    assert remove.params()["stop_words"] == "remove"


@pytest.mark.parametrize("key,value,allowed", [("features", "bag", "sequence, bow"),
                                               ("stop_words", "drop", "keep, remove")])
def test_bad_features_or_stop_words_is_one_line_naming_the_allowed_values(tmp_path, run_config, key, value,
                                                                          allowed):
    with pytest.raises(GrokbenchError, match=f"task.{key}='{value}' is unknown; allowed: {allowed}$"):
        IMDb(source=str(tmp_path), **{key: value})
    cfg = run_config(["experiment=imdb_bow_largeinit", "threads=1", f"task.source={tmp_path}", f"task.{key}={value}"])
    record = train(cfg)
    assert record["status"] == "failed" and "\n" not in record["error"]
    assert f"allowed: {allowed}" in record["error"]


def test_bow_features_with_an_lstm_is_a_one_line_mismatch(tmp_path, run_config):
    source = write_imdb(tmp_path / "imdb")
    cfg = run_config(["experiment=omnigrok_imdb", "threads=1", f"task.source={source}", "task.n_train=20", "task.n_test=10",
                      "task.features=bow", "trainer.max_steps=2"])
    record = train(cfg)
    assert record["status"] == "failed" and "needs" in record["error"] and "vocab_size" in record["error"]


def test_tiny_bow_largeinit_fit_completes(tmp_path, run_config):
    source = write_imdb(tmp_path / "imdb")
    cfg = run_config(["experiment=imdb_bow_largeinit", "threads=1", f"task.source={source}", "task.n_train=40",
                      "task.n_test=20", "task.vocab_size=30", "task.batch_size=20", "model.width=16",
                      "trainer.max_steps=30", "eval.every=10"])
    record = train(cfg)
    assert record["status"] == "completed", record["error"]
    assert record["steps"] == 30 and record["model"] == "mlp" and record["meta"]["role"] == "main"
    assert record["task_params"]["features"] == "bow" and record["config"]["module"]["loss"] == "mse"
    vocab = json.loads((Path(cfg.run_dir) / "vocab.json").read_text())
    width, words = 16, len(vocab["tokens"])
    assert words == 18 and vocab["features"] == "bow"  # the 16 words of the generated reviews, <pad>, <unk>
    assert record["num_parameters"] == (words * width + width) + (width * width + width) + (width * 2 + 2)
    assert [row["step"] for row in record["curve"]] == [10, 20, 30] and record["verdict"] is not None
