"""The one data loader (tasks/source.py): every domain's selection is pinned, so a change to
how data are found, read or cached cannot silently change which examples a preset uses.

The pinned values were recorded from the three hand-written loaders this module replaced
(images, IMDb, QM9), on tiny generated data whose rows can be read back from the tensors,
and, where GROKBENCH_DATA names a data folder (the layout `--data` reads: mnist/, imdb/,
qm9/qm9.csv.gz, cifar10/), on the real copies as hashes of the selected inputs and targets.
Loading 1,000 MNIST digits or 1,100 QM9 molecules from the real copies a second time (cache
hit) must stay under 3 s (it takes
about 0.01 s). Last, the loader itself: file discovery, the schema check, one error style.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from grokbench.errors import GrokbenchError
from grokbench.tasks.cifar10 import CIFAR10
from grokbench.tasks.imdb import IMDb
from grokbench.tasks.mnist import MNIST
from grokbench.tasks.qm9 import QM9
from grokbench.tasks.source import SPLITS, DataSource

REAL_DATA = Path(os.environ["GROKBENCH_DATA"]) if os.environ.get("GROKBENCH_DATA") else None
WARM_LIMIT_S = 3.0  # the bound; a cache hit takes a small fraction of it


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- tiny generated data whose rows can be read back --------------------------------------

TRAIN_LABELS = [(3 * i + i // 7) % 10 if i % 4 else i % 3 for i in range(41)]  # uneven classes
TEST_LABELS = [(5 * i + 1) % 10 if i % 3 else 2 for i in range(23)]


def write_images(path: Path, column: str, mode: str, labels: list[int]) -> None:
    """Hub-schema Parquet; pixel (0, 0) of row i is i, every other pixel is its label."""
    images = []
    for row, label in enumerate(labels):
        pixels = np.full((8, 8) if mode == "L" else (8, 8, 3), 10 * label + 100, dtype=np.uint8)
        pixels[0, 0] = row
        images.append(Image.fromarray(pixels, mode))
    features = datasets.Features({column: datasets.Image(),
                                  "label": datasets.ClassLabel(names=[str(c) for c in range(10)])})
    datasets.Dataset.from_dict({column: images, "label": labels}, features=features).to_parquet(str(path))


@pytest.fixture
def image_dirs(tmp_path) -> dict[str, Path]:
    folders = {}
    for name, column, mode in (("mnist", "image", "L"), ("cifar10", "img", "RGB")):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        write_images(folders[name] / "train.parquet", column, mode, TRAIN_LABELS)
        write_images(folders[name] / "test.parquet", column, mode, TEST_LABELS)
    return folders


def image_rows(images: torch.Tensor) -> list[int]:
    return (images[:, 0, 0, 0] * 255).round().long().tolist()


IMAGE_CASES = {  # (task, n_train, n_test, split_seed) -> (train rows, test rows)
    ("mnist", 10, None, 0): ([23, 1, 27, 26, 35, 9, 34, 24, 3, 4],
                             [1, 12, 21, 16, 7, 20, 22, 15, 17, 2, 11, 10, 3, 4, 5, 8, 0, 9, 14, 18, 13, 6, 19]),
    ("mnist", 13, 7, 1): ([17, 3, 16, 30, 29, 9, 24, 23, 34, 0, 15, 39, 21], [14, 18, 16, 19, 6, 21, 7]),
    ("mnist", None, 5, 2): ([24, 23, 32, 7, 5, 33, 27, 6, 3, 9, 25, 12, 34, 38, 10, 14, 37, 16, 15, 39, 28, 20,
                             22, 40, 2, 18, 11, 26, 13, 0, 4, 17, 19, 21, 29, 31, 30, 35, 36, 8, 1],
                            [8, 9, 12, 17, 20]),
    ("cifar10", 12, 6, 0): ([27, 1, 23, 34, 26, 9, 35, 15, 24, 3, 20, 4], [21, 16, 7, 1, 20, 12]),
}


@pytest.mark.parametrize("case", list(IMAGE_CASES), ids=str)
def test_image_selection_is_pinned(image_dirs, case):
    name, n_train, n_test, seed = case
    task_class = MNIST if name == "mnist" else CIFAR10
    task = task_class(source=str(image_dirs[name]), n_train=n_train, n_test=n_test, split_seed=seed)
    task.setup()
    s = task.splits
    got = (image_rows(s.train_inputs), image_rows(s.val_inputs))
    assert got == IMAGE_CASES[case]
    assert s.train_targets.tolist() == [TRAIN_LABELS[i] for i in got[0]]  # labels travel with images
    assert s.val_targets.tolist() == [TEST_LABELS[i] for i in got[1]]


def write_reviews(folder: Path) -> Path:
    """Like the local IMDb copy (negatives first), uneven classes; review i says "film" i + 1 times."""
    folder.mkdir()
    for split, negatives, positives in (("train", 14, 11), ("test", 9, 12)):
        labels = [0] * negatives + [1] * positives
        texts = [("good " if y else "bad ") + "film " * (i + 1) for i, y in enumerate(labels)]
        pd.DataFrame({"text": texts, "label": labels}).to_parquet(folder / f"{split}.parquet")
    return folder


def review_rows(ids: torch.Tensor, vocabulary: list[str]) -> list[int]:
    return ((ids == vocabulary.index("film")).sum(1) - 1).tolist()


IMDB_CASES = {  # (n_train, n_test, split_seed) -> (train rows, test rows); the test draw ignores the seed
    (8, 6, 0): ([0, 2, 5, 23, 3, 18, 19, 24], [12, 4, 20, 11, 2, 5]),
    (8, 6, 1): ([14, 7, 10, 9, 21, 15, 17, 1], [12, 4, 20, 11, 2, 5]),
    (21, 17, 2): ([0, 12, 9, 13, 7, 15, 19, 10, 6, 5, 17, 16, 14, 2, 11, 22, 18, 23, 20, 21],
                  [3, 13, 8, 2, 6, 15, 0, 9, 17, 5, 4, 12, 19, 20, 11, 7]),
}


@pytest.mark.parametrize("case", list(IMDB_CASES), ids=str)
def test_imdb_selection_is_pinned(tmp_path, case):
    n_train, n_test, seed = case
    task = IMDb(source=str(write_reviews(tmp_path / "imdb")), n_train=n_train, n_test=n_test,
                vocab_size=100, seq_len=40, split_seed=seed)
    task.setup()
    s = task.splits
    got = (review_rows(s.train_inputs, task.vocabulary), review_rows(s.val_inputs, task.vocabulary))
    assert got == IMDB_CASES[case]
    assert s.train_targets.tolist() == [int(i >= 14) for i in got[0]]
    assert s.val_targets.tolist() == [int(i >= 9) for i in got[1]]


SMILES = ["C", "CC", "CCO", "C1CC", "CC=O", "C#N", "c1ccccc1", "not a smiles", "CCN", "OCC=O", "CF",
          "C=C", "CC#C", "CCCCCCCCCC", "CCCC", "CCOC", "NC=O", "O=C=O", "C(C", "CC(C)C", "C1CC1", "CO"]


@pytest.fixture
def molecules_csv(tmp_path) -> Path:
    """MoleculeNet-style CSV; the target of row i is i (four rows are unusable)."""
    path = tmp_path / "qm9.csv"
    pd.DataFrame({"mol_id": [f"gdb_{i + 1}" for i in range(len(SMILES))], "smiles": SMILES,
                  "alpha": [float(i) for i in range(len(SMILES))]}).to_csv(path, index=False)
    return path


QM9_CASES = {  # (subset, n_train, n_val, split_seed) -> (train rows, held-out rows, unusable rows met)
    ("random", 5, 4, 0): ([10, 19, 16, 4, 2], [12, 6, 20, 11], 1),
    ("random", 5, 4, 1): ([1, 11, 20, 15, 12], [21, 17, 16, 2], 1),
    ("first", 5, 4, 0): ([5, 6, 2, 8, 4], [10, 9, 0, 1], 2),
    ("first", 6, 6, 3): ([14, 9, 2, 12, 0, 1], [5, 8, 11, 6, 4, 10], 3),
}


@pytest.mark.parametrize("case", list(QM9_CASES), ids=str)
def test_qm9_selection_is_pinned(molecules_csv, case):
    subset, n_train, n_val, seed = case
    task = QM9(source=str(molecules_csv), subset=subset, n_train=n_train, n_val=n_val,
               standardize=False, split_seed=seed)
    task.setup()
    got = (task.splits.train_targets.long().tolist(), task.splits.val_targets.long().tolist(),
           task.params()["invalid_smiles"])
    assert got == QM9_CASES[case]


# --- the real copies (GROKBENCH_DATA) -----------------------------------------------------

needs_real_data = pytest.mark.skipif(
    REAL_DATA is None or not (REAL_DATA / "mnist").is_dir(),
    reason=f"set GROKBENCH_DATA to a data folder to pin the real copies (now: {REAL_DATA})",
)


def digest(splits) -> str:
    """sha256 (16 hex) of every selected input and target tensor, in order."""
    sha = hashlib.sha256()
    for part in (splits.train_inputs, splits.train_targets, splits.val_inputs, splits.val_targets):
        for tensor in part if isinstance(part, tuple) else (part,):
            sha.update(str(tensor.dtype).encode() + str(tuple(tensor.shape)).encode())
            sha.update(tensor.contiguous().numpy().tobytes())
    return sha.hexdigest()[:16]


def cold_then_warm(make) -> tuple[str, float]:
    """Build the task twice (the second from the cache); the digest and the warm load time."""
    cold = make()
    cold.setup()
    warm = make()
    started = time.perf_counter()
    warm.setup()
    seconds = time.perf_counter() - started
    assert digest(warm.splits) == digest(cold.splits)
    return digest(cold.splits), seconds


@needs_real_data
@pytest.mark.parametrize("seed, expected", [(0, "1d7b760fb7b68e92"), (3, "50cc8ef17b24fb84")])
def test_real_mnist_1000_digits_are_pinned_and_load_warm_in_seconds(seed, expected):
    value, seconds = cold_then_warm(lambda: MNIST(source=str(REAL_DATA / "mnist"), n_train=1000, split_seed=seed))
    assert value == expected
    assert seconds < WARM_LIMIT_S, f"warm MNIST load took {seconds:.2f} s"


@needs_real_data
@pytest.mark.parametrize("subset, n_train, n_val, seed, expected", [
    ("first", 50, 50, 0, "56b5ed7a61481e76"),    # quick_qm9 / omnigrok_qm9
    ("first", 50, 50, 2, "0f8cf8700b760326"),
    ("random", 100, 1000, 0, "89d870ee182fe178"),  # the qm9 task's defaults: 1,100 molecules
])
def test_real_qm9_molecules_are_pinned_and_load_warm_in_seconds(subset, n_train, n_val, seed, expected):
    value, seconds = cold_then_warm(lambda: QM9(source=str(REAL_DATA / "qm9" / "qm9.csv.gz"), subset=subset,
                                                n_train=n_train, n_val=n_val, standardize=False,
                                                split_seed=seed))
    assert value == expected
    assert seconds < WARM_LIMIT_S, f"warm QM9 load took {seconds:.2f} s"


@needs_real_data
def test_real_imdb_bow_subset_is_pinned():
    """imdb_bow_largeinit's data: 1,000 + 1,000 balanced reviews as bags of words."""
    task = IMDb(source=str(REAL_DATA / "imdb"), n_train=1000, n_test=1000, features="bow", split_seed=1)
    task.setup()
    assert digest(task.splits) == "716431a164190fec"
    assert task.params()["vocabulary_sha256_16"] == "916ee0689be7e944"


@needs_real_data
def test_real_cifar10_subset_is_pinned():
    """quick_cifar10's data: 2,000 + 1,000 stratified images."""
    task = CIFAR10(source=str(REAL_DATA / "cifar10"), n_train=2000, n_test=1000, split_seed=0)
    task.setup()
    assert digest(task.splits) == "f1ffc6e3b20caba6"


# --- the loader itself: file discovery, the schema check, one error style -------------------

def test_hub_shard_layout_is_found_and_read_in_name_order(tmp_path):
    folder = tmp_path / "shards"
    (folder / "data").mkdir(parents=True)
    for split, labels in (("train", [0, 1, 0, 1]), ("test", [1, 0])):
        for shard in range(2):
            pd.DataFrame({"text": [f"{split} {shard} {i}" for i in range(len(labels))], "label": labels}) \
                .to_parquet(folder / "data" / f"{split}-0000{shard}-of-00002.parquet")
    source = DataSource(str(folder), "unused/hub-id", ("text", "label"), example="data/imdb")
    assert [p.name for p in source.files()["test"]] == ["test-00000-of-00002.parquet", "test-00001-of-00002.parquet"]
    assert source.read("test")["text"].tolist() == ["test 0 0", "test 0 1", "test 1 0", "test 1 1"]
    assert len(source.identity()) == 4


@pytest.mark.parametrize("domain", ["mnist", "imdb", "qm9"])
def test_every_domain_names_file_missing_columns_and_found_columns_in_one_line(domain, tmp_path):
    if domain == "qm9":
        path = tmp_path / "qm9.csv"
        pd.DataFrame({"mol_id": ["a"], "formula": ["CH4"]}).to_csv(path, index=False)
        task, source = QM9(source=str(path)), path
    else:
        source = tmp_path / domain
        source.mkdir()
        for split in SPLITS:
            pd.DataFrame({"pixels": [1], "mol_id": ["a"]}).to_parquet(source / f"{split}.parquet")
        task = MNIST(source=str(source)) if domain == "mnist" else IMDb(source=str(source))
    with pytest.raises(GrokbenchError) as error:
        task.setup()
    message = str(error.value)
    needed = {"mnist": "'image', 'label'", "imdb": "'text', 'label'", "qm9": "'smiles', 'alpha'"}[domain]
    assert f"has no columns {needed} (columns: " in message and "\n" not in message
    assert ("qm9.csv" if domain == "qm9" else "train.parquet") in message


def test_schema_is_checked_even_when_the_tensors_are_cached(molecules_csv):
    QM9(source=str(molecules_csv), n_train=3, n_val=3).setup()
    pd.read_csv(molecules_csv).drop(columns="alpha").to_csv(molecules_csv, index=False)
    with pytest.raises(GrokbenchError, match=r"qm9\.csv has no column 'alpha' \(columns: mol_id, smiles\)"):
        QM9(source=str(molecules_csv), n_train=3, n_val=3).setup()


def test_missing_files_and_splits_say_how_to_pass_a_source(tmp_path, molecules_csv):
    (tmp_path / "only_train").mkdir()
    pd.DataFrame({"text": ["x"], "label": [0]}).to_parquet(tmp_path / "only_train" / "train.parquet")
    with pytest.raises(GrokbenchError, match=r"has no test split .*task.source=<directory with train and test "
                                             r"Parquet files>, e.g. task.source=data/imdb$"):
        IMDb(source=str(tmp_path / "only_train")).setup()
    with pytest.raises(GrokbenchError, match=r"is not a file; pass task.source=<.csv or .csv.gz file>"):
        QM9(source=str(tmp_path)).setup()
    with pytest.raises(GrokbenchError, match=r"is not a directory; pass task.source=<directory"):
        CIFAR10(source=str(molecules_csv)).setup()
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(b"not gzip")
    with pytest.raises(GrokbenchError, match=r"broken.csv.gz is not a readable CSV file \(.*\); pass"):
        QM9(source=str(broken)).setup()
