"""SMILES -> dense heavy-atom graphs with RDKit (QM9: at most 9 heavy atoms, C N O F).

A graph is three padded tensors: node features `(max_atoms, NODE_FEATURES)`, one adjacency
matrix per bond type `(len(BOND_TYPES), max_atoms, max_atoms)`, and a node mask.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager

import torch
from rdkit import Chem, RDLogger

ELEMENTS = ("C", "N", "O", "F")
DEGREES = (0, 1, 2, 3, 4)
CHARGES = (-1, 0, 1)
HYBRIDIZATIONS = (Chem.HybridizationType.SP, Chem.HybridizationType.SP2, Chem.HybridizationType.SP3)
HYDROGENS = (0, 1, 2, 3, 4)
BOND_TYPES = (Chem.BondType.SINGLE, Chem.BondType.DOUBLE, Chem.BondType.TRIPLE, Chem.BondType.AROMATIC)
# element, degree, charge, hybridization and H count one-hot (hybridization with an "other"
# slot), plus the aromatic flag
NODE_FEATURES = len(ELEMENTS) + len(DEGREES) + len(CHARGES) + len(HYBRIDIZATIONS) + 1 + len(HYDROGENS) + 1


def one_hot(value, choices: tuple, other: bool = False) -> list[float]:
    bits = [float(value == choice) for choice in choices]
    return bits + [float(value not in choices)] if other else bits


def atom_features(atom: Chem.Atom) -> list[float]:
    return (one_hot(atom.GetSymbol(), ELEMENTS) + one_hot(atom.GetDegree(), DEGREES)
            + one_hot(atom.GetFormalCharge(), CHARGES)
            + one_hot(atom.GetHybridization(), HYBRIDIZATIONS, other=True)
            + one_hot(atom.GetTotalNumHs(), HYDROGENS) + [float(atom.GetIsAromatic())])


@contextmanager
def quiet_rdkit():
    """RDKit prints a parse error per bad SMILES; we count them instead."""
    RDLogger.DisableLog("rdApp.*")
    try:
        yield
    finally:
        RDLogger.EnableLog("rdApp.*")


def smiles_to_graph(smiles: str, max_atoms: int = 9):
    """`(nodes, adjacency, mask)` of the heavy-atom graph, or None when RDKit cannot use it

    (unparsable SMILES, more than `max_atoms` heavy atoms, an element outside C N O F, or a
    bond type outside single/double/triple/aromatic).
    """
    with quiet_rdkit():
        mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) else None
    if mol is None or not 0 < mol.GetNumAtoms() <= max_atoms:
        return None
    if any(atom.GetSymbol() not in ELEMENTS for atom in mol.GetAtoms()):
        return None
    nodes = torch.zeros(max_atoms, NODE_FEATURES)
    adjacency = torch.zeros(len(BOND_TYPES), max_atoms, max_atoms)
    mask = torch.zeros(max_atoms)
    for atom in mol.GetAtoms():
        nodes[atom.GetIdx()] = torch.tensor(atom_features(atom))
        mask[atom.GetIdx()] = 1.0
    for bond in mol.GetBonds():
        if bond.GetBondType() not in BOND_TYPES:
            return None
        kind, i, j = BOND_TYPES.index(bond.GetBondType()), bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        adjacency[kind, i, j] = adjacency[kind, j, i] = 1.0
    return nodes, adjacency, mask


def featurize(smiles: Iterable[str], wanted: int, max_atoms: int = 9) -> dict:
    """Graphs of the first `wanted` usable SMILES, their positions, and how many were skipped."""
    graphs, positions, invalid = [], [], 0
    for position, text in enumerate(smiles):
        if len(graphs) == wanted:
            break
        graph = smiles_to_graph(text, max_atoms)
        if graph is None:
            invalid += 1
            continue
        graphs.append(graph)
        positions.append(position)
    if not graphs:
        return {"nodes": torch.zeros(0, max_atoms, NODE_FEATURES), "positions": [], "invalid": invalid,
                "adjacency": torch.zeros(0, len(BOND_TYPES), max_atoms, max_atoms),
                "mask": torch.zeros(0, max_atoms)}
    nodes, adjacency, mask = (torch.stack(parts) for parts in zip(*graphs))
    return {"nodes": nodes, "adjacency": adjacency, "mask": mask, "positions": positions, "invalid": invalid}
