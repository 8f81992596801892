"""The one data loader of the real-data domains (MNIST, CIFAR-10, IMDb, QM9).

Where data come from. `task.source` names local files; without it the domain's remote copy
is read. A domain's data are either
- splits: a directory of Parquet files in the Hub schema with a `train` and a `test` split,
  each `<split>.parquet` or the Hub's shard layout `**/<split>-*.parquet` (shards are read in
  name order); remote: a Hugging Face Hub id, read with `datasets`; or
- a table: one CSV file (`.csv` or `.csv.gz`) holding every example; remote: a URL.
Every read gives a pandas DataFrame. Image columns keep their encoded bytes; a task decodes
only the rows it draws, with `datasets`' own Image feature, so pixels equal a Hub load's.

Schema check and errors. Before anything is read or taken from the cache, each local file's
columns are checked. Every failure is one `GrokbenchError` line: a missing column names the
file, the missing column(s) and the columns found; a missing or unreadable file or an
unreachable remote ends with how to pass `task.source`.

Cache. `identity()` (each local file's path, size and modification time, or the remote's
name) goes into the key of tasks/cache.py's `cached`, with everything else that determines
a task's tensors; a changed file is a new key, so stale tensors are never used.

Which examples: one rule for every domain, seeded by `task.split_seed`.
- Training examples come from the train split and held-out examples from the test split when
  the source has splits, so they never overlap. A table is drawn once (`RowDraw`): its
  held-out examples are the ones after the training examples in that draw.
- Classification splits (`draw_per_class`): `proportional` keeps the split's class
  proportions (MNIST, CIFAR-10: held-out seed split_seed + 1, so it varies with the split);
  `equal` takes n // classes of each class (IMDb: held-out seed fixed at 0, so every run is
  scored on the same reviews). Either comes in a seeded random order, never the file's order.
- Regression tables (`RowDraw`): `random` takes rows in a seeded random order; `first` takes
  them in file order (QM9's smallest molecules) and then shuffles them with the same
  generator. Rows a task cannot use are skipped, not replaced by later draws' rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from grokbench.errors import GrokbenchError, require
from grokbench.tasks.cache import file_identity

SPLITS = ("train", "test")
PER_CLASS = ("proportional", "equal")
ROW_ORDERS = ("random", "first")


def reason(error: Exception) -> str:
    """`Type: first line of the message`, short enough for a one-line error."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:160]}" if lines else type(error).__name__


@dataclass(frozen=True)
class DataSource:
    """One domain's data: `path` (task.source; None: `remote`), the `columns` it needs, whether
    it is Parquet `splits` or one CSV table, and `example`, the shared copy's path for hints."""

    path: str | None
    remote: str
    columns: tuple[str, ...]
    example: str
    splits: bool = True

    @property
    def hint(self) -> str:
        what = "<directory with train and test Parquet files>" if self.splits else "<.csv or .csv.gz file>"
        return f"pass task.source={what}, e.g. task.source={self.example}"

    def files(self) -> dict[str, list[Path]]:
        """The local files of each split ("table" for a CSV source)."""
        root = Path(self.path)
        if not self.splits:
            require(root.is_file(), f"task.source={self.path} is not a file; {self.hint}")
            return {"table": [root]}
        require(root.is_dir(), f"task.source={self.path} is not a directory; {self.hint}")
        found = {}
        for split in SPLITS:
            exact = root / f"{split}.parquet"
            found[split] = [exact] if exact.is_file() else sorted(root.glob(f"**/{split}-*.parquet"))
            require(found[split], f"task.source={self.path} has no {split} split (no {split}.parquet "
                                  f"or **/{split}-*.parquet); {self.hint}")
        return found

    def identity(self) -> Any:
        """The cache key's part for the data, after checking every local file's columns."""
        if self.path is None:
            return self.remote
        files = [path for paths in self.files().values() for path in paths]
        for path in files:
            self.check_columns(path, self.column_names(path))
        return [file_identity(path) for path in files]

    def column_names(self, path: Path) -> list[str]:
        try:
            if self.splits:
                return list(pq.read_schema(path).names)
            return [str(c) for c in pd.read_csv(path, nrows=0).columns]
        except Exception as error:  # noqa: BLE001 - any library failure becomes one line
            raise GrokbenchError(f"{path} is not a readable {'Parquet' if self.splits else 'CSV'} file "
                                 f"({reason(error)}); {self.hint}") from None

    def check_columns(self, where: Path | str, found: list[str]) -> None:
        missing = [c for c in self.columns if c not in found]
        require(not missing, f"{where} has no column{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(map(repr, missing))} (columns: {', '.join(found)}); "
                             f"needed: {', '.join(self.columns)}")

    def read(self, split: str = "table") -> pd.DataFrame:
        """One split (or the whole table) as a DataFrame: the needed columns of Parquet splits,
        every column of a table."""
        if self.path is None:
            frame = self.read_remote(split)
            self.check_columns(self.remote, [str(c) for c in frame.columns])
            return frame[list(self.columns)] if self.splits else frame
        frames = []
        for path in self.files()[split]:
            self.check_columns(path, self.column_names(path))
            try:
                frames.append(pd.read_parquet(path, columns=list(self.columns)) if self.splits
                              else pd.read_csv(path))  # pandas reads .csv.gz itself
            except Exception as error:  # noqa: BLE001 - any library failure becomes one line
                raise GrokbenchError(f"{path} is not a readable {'Parquet' if self.splits else 'CSV'} "
                                     f"file ({reason(error)}); {self.hint}") from None
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    def read_remote(self, split: str) -> pd.DataFrame:
        try:
            if not self.splits:
                return pd.read_csv(self.remote)
            import datasets  # imported here: a cached or local run does not need it

            return datasets.load_dataset(self.remote, split=split).to_pandas()  # images stay encoded
        except Exception as error:  # noqa: BLE001 - any library failure becomes one line
            where = "the Hugging Face Hub" if self.splits else "the network"
            raise GrokbenchError(f"cannot load {self.remote} from {where} ({reason(error)}); "
                                 f"offline? {self.hint}") from None


def draw_per_class(labels: np.ndarray, n: int | None, seed: int, per_class: str, what: str) -> np.ndarray:
    """`n` row indices of a classification split, in a seeded random order (see the module's rule).

    `proportional`: each row's rank within its class (in a random order), divided by the class
    size, says how far into its class it is; the `n` smallest fractions keep the proportions
    (n None: every row). `equal`: n // classes rows of each class.
    """
    require(per_class in PER_CLASS, f"per_class={per_class!r} is unknown; allowed: {', '.join(PER_CLASS)}")
    rng = np.random.default_rng(seed)
    if per_class == "equal":
        classes = np.unique(labels)
        count = n // len(classes)
        available = min(int((labels == c).sum()) for c in classes)
        require(1 <= count <= available,
                f"task.{what}={n} is invalid; allowed: {len(classes)} to {available * len(classes)}")
        picked = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:count] for c in classes])
        return rng.permutation(picked)
    order = rng.permutation(len(labels))
    if n is None or n >= len(labels):
        return order
    require(n >= 1, f"task.{what}={n} is invalid; allowed: a positive integer or null (all)")
    shuffled = labels[order]
    rank = np.zeros(len(labels))
    for label in np.unique(labels):
        members = np.flatnonzero(shuffled == label)
        rank[members] = (np.arange(len(members)) + 0.5) / len(members)
    chosen = order[np.argsort(rank, kind="stable")[:n]]
    return chosen[rng.permutation(n)]


class RowDraw:
    """A table drawn once (see the module's rule): `order` is the order in which rows are
    tried; `arrange(k)` orders the k rows kept (the first n_train train, the rest are held out)."""

    def __init__(self, rows: int, seed: int, order: str):
        require(order in ROW_ORDERS, f"task.subset={order!r} is unknown; allowed: {', '.join(ROW_ORDERS)}")
        self.rng = np.random.default_rng(seed)
        self.kind = order
        self.order = self.rng.permutation(rows) if order == "random" else np.arange(rows)

    def arrange(self, kept: int) -> np.ndarray:
        """Positions into the kept rows: as drawn (`random`), or shuffled (`first`, whose rows
        came in file order)."""
        return self.rng.permutation(kept) if self.kind == "first" else np.arange(kept)
