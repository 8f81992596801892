"""QM9 molecular properties (MoleculeNet `qm9.csv`) as in Omnigrok: few molecules, one target.

The CSV (a local file, or the MoleculeNet URL) is read by the one data loader
(tasks/source.py). Which molecules (`subset`, its rule for a single table): `random` draws
rows in a seeded random order; `first` takes rows in file order, i.e. the first (smallest)
molecules of QM9, as Omnigrok's notebook does (`QM9(...)[:size]`), and splits them in a
seeded random order. Either way rows are turned into heavy-atom graphs with RDKit until
`n_train + n_val` usable molecules are found; the first `n_train` train, the rest are held
out. Only those are featurized, and the result is cached. A SMILES RDKit cannot use is
skipped and counted (`invalid_smiles` in the record). The target is standardized with the
training molecules' mean and standard deviation unless `standardize` is false (Omnigrok
fits the raw value).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from grokbench.errors import require
from grokbench.tasks.base import Detection, GrokTask, Splits
from grokbench.tasks.cache import cached
from grokbench.tasks.molecules import BOND_TYPES, NODE_FEATURES, featurize
from grokbench.tasks.source import ROW_ORDERS, DataSource, RowDraw

URL = "https://deepchemdata.s3-us-west-1.amazonaws.com/datasets/qm9.csv"
TARGETS = ("A", "B", "C", "mu", "alpha", "homo", "lumo", "gap", "r2", "zpve", "u0", "u298",
           "h298", "g298", "cv")
SUBSETS = ROW_ORDERS  # random | first


class QM9(GrokTask):
    """Regression of one QM9 property from the molecular graph."""

    name = "qm9"
    title, board_order = "QM9", 60
    version = "1"
    kind = "regression"
    detection = Detection(metric="r2")
    train_size_key = "n_train"

    def __init__(self, source: str | None = None, target: str = "alpha", n_train: int = 100,
                 n_val: int = 1000, max_atoms: int = 9, subset: str = "random", standardize: bool = True,
                 **kwargs):
        super().__init__(**kwargs)
        require(target in TARGETS, f"task.target={target!r} is unknown; allowed: {', '.join(TARGETS)}")
        require(subset in SUBSETS, f"task.subset={subset!r} is unknown; allowed: {', '.join(SUBSETS)}")
        require(isinstance(standardize, bool),
                f"task.standardize={standardize!r} is invalid; allowed: true, false")
        for key, value in (("n_train", n_train), ("n_val", n_val), ("max_atoms", max_atoms)):
            require(isinstance(value, int) and value >= 1,
                    f"task.{key}={value!r} is invalid; allowed: a positive integer")
        self.source, self.target, self.subset, self.standardize = source, target, subset, standardize
        self.n_train, self.n_val, self.max_atoms = n_train, n_val, max_atoms
        self.invalid_smiles: int | None = None
        self.featurize_seconds: float | None = None
        self.target_mean = self.target_std = None

    def _data_source(self) -> DataSource:
        return DataSource(self.source, URL, ("smiles", self.target),
                          example="data/qm9/qm9.csv.gz", splits=False)

    def _build(self) -> dict:
        frame = self._data_source().read()
        draw = RowDraw(len(frame), self.split_seed, self.subset)
        wanted = self.n_train + self.n_val
        started = time.perf_counter()
        graphs = featurize((frame["smiles"].iat[i] for i in draw.order), wanted, self.max_atoms)
        seconds = time.perf_counter() - started
        found = len(graphs["positions"])
        require(found == wanted, f"{self.source or URL} has only {found} usable molecules; "
                                 f"task.n_train + task.n_val = {wanted}")
        arranged = draw.arrange(wanted)
        rows = draw.order[graphs["positions"]][arranged]
        graphs = {**graphs, **{k: graphs[k][torch.from_numpy(arranged)] for k in ("nodes", "adjacency", "mask")}}
        targets = torch.tensor(frame[self.target].to_numpy(dtype=np.float64)[rows], dtype=torch.float32)
        return {**graphs, "targets": targets, "featurize_seconds": round(seconds, 3),
                "mol_ids": frame["mol_id"].iloc[rows].tolist() if "mol_id" in frame else None}

    def build_splits(self) -> Splits:
        key = {"origin": self._data_source().identity(), "version": self.version, "target": self.target,
               "n_train": self.n_train, "n_val": self.n_val, "max_atoms": self.max_atoms,
               "split_seed": self.split_seed, "subset": self.subset}
        data = cached("qm9", key, self._build)
        self.invalid_smiles, self.featurize_seconds = data["invalid"], data["featurize_seconds"]
        n = self.n_train
        raw = data["targets"]
        missing = torch.isnan(raw).nonzero().flatten().tolist()
        if missing:
            first = data["mol_ids"][missing[0]] if data.get("mol_ids") else f"row {missing[0]}"
            require(False, f"task.target={self.target} is missing (NaN) for {len(missing)} of the {len(raw)} "
                           f"molecules drawn (first: {first}); allowed: a source whose {self.target} column "
                           "has a number for every molecule")
        self.target_mean, self.target_std = raw[:n].mean().item(), raw[:n].std().item()
        require(self.target_std > 0, f"task.target={self.target} is constant on the training molecules")
        targets = (raw - self.target_mean) / self.target_std if self.standardize else raw
        inputs = (data["nodes"], data["adjacency"], data["mask"])
        return Splits(tuple(part[:n] for part in inputs), targets[:n],
                      tuple(part[n:] for part in inputs), targets[n:])

    @property
    def num_outputs(self) -> int:
        return 1

    def extra_dims(self) -> dict:
        return {"node_features": NODE_FEATURES, "edge_types": len(BOND_TYPES), "max_atoms": self.max_atoms}

    def params(self) -> dict:
        return {**super().params(), "source": self.source or URL, "target": self.target,
                "n_train": self.n_train, "n_val": self.n_val, "max_atoms": self.max_atoms,
                "subset": self.subset, "standardize": self.standardize,
                "invalid_smiles": self.invalid_smiles, "featurize_seconds": self.featurize_seconds,
                "target_mean": self.target_mean, "target_std": self.target_std}
