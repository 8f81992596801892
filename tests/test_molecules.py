"""QM9: SMILES -> graphs on known molecules, invalid SMILES, standardization, the first-molecules
subset, the MPNN and the edge-conditioned NNConv network, a tiny fit."""

from __future__ import annotations

from pathlib import Path
from urllib.error import URLError

import pandas as pd
import pytest
import torch

from grokbench.errors import GrokbenchError
from grokbench.models.mpnn import MPNN
from grokbench.models.nnconv import NNConvNet
from grokbench.profile import VERDICTS
from grokbench.run import train
from grokbench.tasks.molecules import BOND_TYPES, ELEMENTS, NODE_FEATURES, featurize, smiles_to_graph
from grokbench.tasks.qm9 import QM9

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


def test_missing_targets_are_named_as_missing_not_constant(tmp_path):
    source = write_qm9(tmp_path / "qm9.csv")
    frame = pd.read_csv(source)
    frame.loc[[1, 4], "alpha"] = float("nan")
    frame.to_csv(source, index=False)
    with pytest.raises(GrokbenchError) as error:
        QM9(source=str(source), n_train=12, n_val=12, split_seed=0).setup()
    message = str(error.value)
    assert message.startswith("task.target=alpha is missing (NaN) for 2 of the 24 molecules drawn (first: gdb_")
    assert "allowed: a source whose alpha column has a number for every molecule" in message


def test_bad_column_and_offline_errors_name_what_to_do(tmp_path, monkeypatch):
    source = write_qm9(tmp_path / "qm9.csv")
    with pytest.raises(GrokbenchError, match=r"qm9\.csv has no column 'cv'"):
        QM9(source=str(source), target="cv", n_train=2, n_val=2).setup()
    with pytest.raises(GrokbenchError, match="task.target='bogus' is unknown"):
        QM9(target="bogus")

    def offline(*args, **kwargs):
        raise URLError("Name or service not known")
    monkeypatch.setattr("pandas.read_csv", offline)
    with pytest.raises(GrokbenchError) as error:
        QM9(n_train=2, n_val=2).setup()
    assert "task.source=data/qm9/qm9.csv.gz" in str(error.value) and "\n" not in str(error.value)


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
    cfg = run_config(["experiment=quick_qm9", "model=mpnn", "task.subset=random", "task.standardize=true",
                      f"task.source={source}", "task.n_train=16", "task.n_val=8",
                      "task.batch_size=4", "model.width=8", "model.head_width=8", "trainer.max_steps=20",
                      "eval.every=10", "eval.log_spaced=false"])
    record = train(cfg)
    assert record["status"] == "completed", record["error"]
    assert record["task"] == "qm9" and record["task_params"]["invalid_smiles"] == 3
    assert record["verdict"] in VERDICTS
    assert "val/r2" in record["final"]


def test_first_subset_takes_the_first_usable_molecules_in_file_order_and_splits_them(tmp_path):
    source = write_qm9(tmp_path / "qm9.csv")
    frame = pd.read_csv(source)
    usable = [i for i, s in enumerate(frame["smiles"]) if smiles_to_graph(s) is not None]
    task = QM9(source=str(source), subset="first", n_train=5, n_val=5, standardize=False, split_seed=0)
    task.setup()
    s = task.splits
    got = sorted(s.train_targets.tolist() + s.val_targets.tolist())
    first_ten = frame["alpha"].iloc[usable[:10]]  # rows 8-10 are unparsable: skipped, not taken
    assert got == pytest.approx(sorted(first_ten.tolist()))
    assert task.params()["invalid_smiles"] == 3 and task.params()["subset"] == "first"
    assert s.train_targets.tolist() != pytest.approx(first_ten.iloc[:5].tolist())  # a seeded split, not the head
    atoms = torch.cat([s.train_inputs[2], s.val_inputs[2]]).sum(1)
    by_alpha = dict(zip(first_ten.tolist(), (smiles_to_graph(frame["smiles"].iat[i])[2].sum().item()
                                             for i in usable[:10])))
    targets = s.train_targets.tolist() + s.val_targets.tolist()
    assert [by_alpha[t] for t in targets] == atoms.tolist()  # graphs travel with their targets
    other = QM9(source=str(source), subset="first", n_train=5, n_val=5, standardize=False, split_seed=1)
    other.setup()
    assert sorted(other.splits.train_targets.tolist() + other.splits.val_targets.tolist()) == got
    assert other.splits.train_targets.tolist() != s.train_targets.tolist()  # split_seed moves the split


def test_first_subset_keeps_raw_targets_when_not_standardized(tmp_path):
    source = write_qm9(tmp_path / "qm9.csv")
    raw = QM9(source=str(source), subset="first", n_train=6, n_val=6, standardize=False)
    raw.setup()
    scaled = QM9(source=str(source), subset="first", n_train=6, n_val=6)
    scaled.setup()
    assert set(raw.splits.train_targets.round(decimals=3).tolist()) <= set(pd.read_csv(source)["alpha"].round(3))
    back = scaled.splits.train_targets * scaled.target_std + scaled.target_mean
    assert torch.allclose(back, raw.splits.train_targets, atol=1e-4)


def test_bad_subset_and_standardize_name_the_allowed_values():
    with pytest.raises(GrokbenchError, match="task.subset='smallest' is unknown; allowed: random, first"):
        QM9(subset="smallest")
    with pytest.raises(GrokbenchError, match="task.standardize='no' is invalid; allowed: true, false"):
        QM9(standardize="no")


def batch_of(*smiles):
    graphs = [smiles_to_graph(s) for s in smiles]
    return tuple(torch.stack(parts) for parts in zip(*graphs))


def nnconv_by_edges(model: NNConvNet, graphs) -> torch.Tensor:
    """NNConv as PyTorch Geometric defines it, one edge at a time: h_i' = Theta h_i + b +
    sum_j h_j W(e_ij), with W(e) the edge network applied to the edge's one-hot bond type."""
    nodes, adjacency, mask = graphs
    outputs = []
    for b in range(len(nodes)):
        h = nodes[b]
        for conv in model.convs:
            new = h @ conv.root.weight.T + conv.bias
            for t, i, j in adjacency[b].nonzero().tolist():
                new[i] = new[i] + h[j] @ conv.edge_net(torch.eye(len(BOND_TYPES))[t]).view(conv.d_in, conv.d_out)
            h = torch.relu(new) * mask[b].unsqueeze(-1)
        outputs.append(model.head(h.sum(0)))
    return torch.stack(outputs)


def test_nnconv_forward_backward_and_the_per_edge_definition():
    torch.manual_seed(0)
    model = NNConvNet(NODE_FEATURES, len(BOND_TYPES), num_outputs=1)
    graphs = batch_of("CCO", "c1ccoc1", "CC#N", "C")
    out = model(graphs)
    assert out.shape == (4, 1)
    assert torch.allclose(out, nnconv_by_edges(model, graphs), atol=1e-5)
    out.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    widths = [(c.d_in, c.d_out) for c in model.convs]
    assert widths == [(NODE_FEATURES, 32), (32, 16)]  # Omnigrok's NNConv(11 -> 32), NNConv(32 -> 16)


@pytest.mark.parametrize("aggregation,pooling", [("add", "add"), ("mean", "mean")])
def test_nnconv_prediction_does_not_depend_on_atom_order(aggregation, pooling):
    torch.manual_seed(0)
    model = NNConvNet(NODE_FEATURES, len(BOND_TYPES), channels=[16, 8], edge_hidden=8, head_width=8,
                      aggregation=aggregation, pooling=pooling)
    nodes, adjacency, mask = batch_of("CC(=O)N", "c1ccoc1")
    order = torch.tensor([4, 2, 0, 3, 1, 5, 6, 7, 8])  # mixes the 4 and 5 real atoms among themselves
    permuted = (nodes[:, order], adjacency[:, :, order][:, :, :, order], mask[:, order])
    assert not torch.equal(permuted[0], nodes)
    assert torch.allclose(model((nodes, adjacency, mask)), model(permuted), atol=1e-5)
    padded_last = torch.tensor([8, 7, 6, 5, 4, 3, 2, 1, 0])  # real atoms moved behind the padding
    reversed_ = (nodes[:, padded_last], adjacency[:, :, padded_last][:, :, :, padded_last], mask[:, padded_last])
    assert torch.allclose(model((nodes, adjacency, mask)), model(reversed_), atol=1e-5)


def test_nnconv_edge_network_conditions_on_the_bond_type():
    torch.manual_seed(0)
    model = NNConvNet(NODE_FEATURES, len(BOND_TYPES), num_outputs=1)
    nodes, adjacency, mask = batch_of("CC")
    double = adjacency.clone()
    double[:, [0, 1]] = double[:, [1, 0]]  # the single bond C-C becomes a double bond, atoms unchanged
    assert double[0, 1, 0, 1] == 1 and double[0, 0].sum() == 0
    assert not torch.allclose(model((nodes, adjacency, mask)), model((nodes, double, mask)), atol=1e-4)
    weights = model.convs[0].edge_weights()
    assert weights.shape == (len(BOND_TYPES), NODE_FEATURES, 32)
    assert not torch.allclose(weights[0], weights[1])  # one matrix per bond type, from the edge network


def test_nnconv_rejects_unknown_aggregation_and_pooling():
    with pytest.raises(ValueError, match="model.aggregation='max' is unknown; allowed: add, mean"):
        NNConvNet(NODE_FEATURES, len(BOND_TYPES), aggregation="max")
    with pytest.raises(ValueError, match="model.pooling='max' is unknown; allowed: add, mean"):
        NNConvNet(NODE_FEATURES, len(BOND_TYPES), pooling="max")


def test_tiny_omnigrok_qm9_fit_with_nnconv_writes_record(tmp_path, run_config):
    source = write_qm9(tmp_path / "qm9.csv")
    cfg = run_config(["experiment=omnigrok_qm9", f"task.source={source}", "task.n_train=10", "task.n_val=10",
                      "task.batch_size=4", "trainer.max_steps=20", "eval.every=10", "eval.log_spaced=false"])
    record = train(cfg)
    assert record["status"] == "completed", record["error"]
    assert record["config"]["model"]["_target_"] == "grokbench.models.nnconv.NNConvNet"
    assert record["task_params"]["subset"] == "first" and record["task_params"]["standardize"] is False
    assert record["num_train"] == 10 and record["num_val"] == 10 and record["verdict"] in VERDICTS
