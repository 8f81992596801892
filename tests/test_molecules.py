"""QM9: SMILES -> graphs on known molecules, invalid SMILES, standardization, the MPNN, a tiny fit."""

from __future__ import annotations

from pathlib import Path
from urllib.error import URLError

import pandas as pd
import pytest
import torch

from grokbench.callbacks.profile import VERDICTS
from grokbench.errors import GrokbenchError
from grokbench.run import train
from models.mpnn import MPNN
from tasks.molecules import BOND_TYPES, ELEMENTS, NODE_FEATURES, featurize, smiles_to_graph
from tasks.qm9 import QM9

VALID = ["C", "CC", "CCO", "CC=O", "C#N", "c1ccccc1", "CCN", "OCC=O", "CF", "C=C", "CC#C", "CCCC",
         "CCOC", "NC=O", "O=C=O", "CC(C)C", "C1CC1", "CO", "CN", "N#CC#N", "CC(=O)O", "C[NH3+]",
         "c1ccoc1", "OCCO"]
INVALID = ["C1CC", "not a smiles", "C(C"]
SINGLE, AROMATIC = BOND_TYPES.index(BOND_TYPES[0]), len(BOND_TYPES) - 1


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GROKBENCH_CACHE", str(tmp_path / "cache"))


def write_qm9(path: Path) -> Path:
    """A MoleculeNet-style CSV: alpha grows with size, three unparsable rows mixed in."""
    smiles = VALID[:8] + INVALID + VALID[8:]
    heavy = [sum(ch.isalpha() and ch not in "H" for ch in s) for s in smiles]
    pd.DataFrame({"mol_id": [f"gdb_{i + 1}" for i in range(len(smiles))], "smiles": smiles,
                  "alpha": [10.0 * h + 0.5 * i for i, h in enumerate(heavy)],
                  "gap": [0.3] * len(smiles)}).to_csv(path, index=False)
    return path


def bonds(adjacency: torch.Tensor, kind: int) -> int:
    return int(adjacency[kind].triu().sum().item())


def test_ethanol_has_three_heavy_atoms_and_two_single_bonds():
    nodes, adjacency, mask = smiles_to_graph("CCO")
    assert mask.sum() == 3 and nodes.shape == (9, NODE_FEATURES)
    assert bonds(adjacency, SINGLE) == 2 and adjacency.sum() == 4  # symmetric
    elements = nodes[:3, :len(ELEMENTS)]
    assert elements.sum(0).tolist() == [2.0, 0.0, 1.0, 0.0]  # C, C, O
    assert nodes[3:].abs().sum() == 0  # padding atoms are all zero


def test_benzene_has_six_aromatic_atoms_and_six_aromatic_bonds():
    nodes, adjacency, mask = smiles_to_graph("c1ccccc1")
    assert mask.sum() == 6
    assert bonds(adjacency, AROMATIC) == 6 and adjacency.sum() == 12
    assert nodes[:6, -1].tolist() == [1.0] * 6  # aromatic flag
    assert torch.equal(adjacency[AROMATIC].sum(1)[:6], torch.full((6,), 2.0))


def test_featurize_skips_and_counts_unusable_smiles():
    graphs = featurize(["CC", "C1CC", "xyz", "CCO", "CCCCCCCCCC", "CN"], wanted=3)
    assert graphs["invalid"] == 3  # two unparsable, one with 10 heavy atoms
    assert graphs["positions"] == [0, 3, 5] and graphs["mask"].sum(1).tolist() == [2, 3, 2]


def test_task_standardizes_with_training_statistics_and_counts_invalid(tmp_path):
    source = write_qm9(tmp_path / "qm9.csv")
    gz = tmp_path / "qm9.csv.gz"
    pd.read_csv(source).to_csv(gz, index=False)
    task = QM9(source=str(gz), n_train=12, n_val=12, split_seed=0)
    task.setup()
    s = task.splits
    assert torch.allclose(s.train_targets.mean(), torch.tensor(0.0), atol=1e-5)
    assert torch.allclose(s.train_targets.std(), torch.tensor(1.0), atol=1e-5)
    assert abs(s.val_targets.mean().item()) > 1e-3  # the held-out set is not standardized by itself
    raw = set(pd.read_csv(source)["alpha"].round(3))
    back = (s.val_targets * task.target_std + task.target_mean).tolist()
    assert all(round(v, 3) in raw for v in back)
    assert task.params()["invalid_smiles"] == 3  # all of them: every usable row was needed
    assert isinstance(s.train_inputs, tuple) and s.train_inputs[1].shape == (12, len(BOND_TYPES), 9, 9)


def test_bad_column_and_offline_errors_name_what_to_do(tmp_path, monkeypatch):
    source = write_qm9(tmp_path / "qm9.csv")
    with pytest.raises(GrokbenchError, match=r"qm9\.csv has no column 'cv'"):
        QM9(source=str(source), target="cv", n_train=2, n_val=2).setup()
    with pytest.raises(GrokbenchError, match="task.target='bogus' is unknown"):
        QM9(target="bogus")

    def offline(*args, **kwargs):
        raise URLError("Name or service not known")
    monkeypatch.setattr("tasks.qm9.pd.read_csv", offline)
    with pytest.raises(GrokbenchError) as error:
        QM9(n_train=2, n_val=2).setup()
    assert "task.source=../shared/data/qm9/qm9.csv.gz" in str(error.value) and "\n" not in str(error.value)


def test_mpnn_forward_backward_and_atom_order_invariance():
    model = MPNN(NODE_FEATURES, len(BOND_TYPES), num_outputs=1, width=16, layers=2, head_width=16)
    graphs = [smiles_to_graph(s) for s in ("OCC", "CCO", "c1ccccc1")]
    nodes, adjacency, mask = (torch.stack(parts) for parts in zip(*graphs))
    out = model((nodes, adjacency, mask))
    assert out.shape == (3, 1)
    assert torch.allclose(out[0], out[1], atol=1e-5)  # the same molecule written two ways
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_tiny_qm9_fit_writes_record(tmp_path, run_config):
    source = write_qm9(tmp_path / "qm9.csv")
    cfg = run_config(["experiment=quick_qm9", f"task.source={source}", "task.n_train=16", "task.n_val=8",
                      "task.batch_size=4", "model.width=8", "model.head_width=8", "trainer.max_steps=20",
                      "eval.every=10", "eval.log_spaced=false"])
    record = train(cfg)
    assert record["status"] == "completed", record["error"]
    assert record["task"] == "qm9" and record["task_params"]["invalid_smiles"] == 3
    assert record["verdict"] in VERDICTS
    assert "val/r2" in record["final"]
