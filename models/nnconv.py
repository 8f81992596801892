"""Edge-conditioned message passing (NNConv) over dense padded graphs (QM9), plain torch.

The network of Omnigrok's QM9 notebook (Liu, Michaud & Tegmark 2022), built on PyTorch
Geometric's `NNConv` (Gilmer et al. 2017's edge network; Simonovsky & Komodakis 2017's
edge-conditioned convolution):

    h_i' = relu(Theta h_i + b + sum_j h_j W(e_ij)),   W(e) = MLP(e) reshaped to (d_in, d_out)

summed over the neighbours j (PyG's default `aggr="add"`; `mean` divides by the degree), two
such layers (widths 32 and 16), a sum over atoms (`global_add_pool`), then Linear-ReLU-Linear.
No GRU and no Set2Set: the notebook has neither.

Edge features here are the one-hot bond types that `tasks.molecules` stores as one adjacency
matrix per type, so W(e_ij) takes only one value per bond type: the edge network is evaluated
on the identity's rows (one per type), h_j W_t is computed for every atom j and type t in one
matmul, and the adjacency matrices, side by side, sum the messages in a second one. That is
the same function as evaluating the edge network on every edge (tests/test_molecules.py checks
it against a per-edge loop), without a per-edge (d_in x d_out) tensor.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

AGGREGATIONS = ("add", "mean")
POOLINGS = ("add", "mean")


class EdgeConditionedConv(nn.Module):
    """One NNConv layer: a root weight, a bias, and messages h_j W(e_ij) from every neighbour."""

    def __init__(self, d_in: int, d_out: int, edge_types: int, edge_hidden: int = 32,
                 aggregation: str = "add"):
        super().__init__()
        self.d_in, self.d_out, self.aggregation = d_in, d_out, aggregation
        self.edge_net = nn.Sequential(nn.Linear(edge_types, edge_hidden), nn.ReLU(),
                                      nn.Linear(edge_hidden, d_in * d_out))
        # PyG: root weight without bias (uniform, bound 1/sqrt(d_in), as nn.Linear's), zero bias
        self.root = nn.Linear(d_in, d_out, bias=False)
        self.bias = nn.Parameter(torch.zeros(d_out))
        self.register_buffer("bond_types", torch.eye(edge_types), persistent=False)

    def edge_weights(self) -> torch.Tensor:
        """W(e) for each one-hot bond type: (edge_types, d_in, d_out)."""
        return self.edge_net(self.bond_types).view(-1, self.d_in, self.d_out)

    def forward(self, h: torch.Tensor, neighbours: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """h (batch, atoms, d_in); neighbours (batch, atoms, types * atoms), the adjacency per
        type side by side: neighbours[b, i, t * atoms + j] = A_t[i, j]; mask (batch, atoms)."""
        batch, atoms, _ = h.shape
        types = neighbours.shape[-1] // atoms
        # h_j W_t for every atom j and bond type t, stacked as rows t * atoms + j
        weights = self.edge_weights().transpose(0, 1).reshape(self.d_in, types * self.d_out)
        per_type = (h @ weights).view(batch, atoms, types, self.d_out).transpose(1, 2)
        messages = neighbours @ per_type.reshape(batch, types * atoms, self.d_out)
        if self.aggregation == "mean":
            messages = messages / neighbours.sum(-1, keepdim=True).clamp(min=1.0)
        return (self.root(h) + messages + self.bias) * mask.unsqueeze(-1)  # padding atoms stay 0


class NNConvNet(nn.Module):
    """Edge-conditioned convolutions, ReLU after each, pooling over atoms, an MLP head."""

    def __init__(self, node_features: int, edge_types: int, num_outputs: int = 1,
                 channels: tuple[int, ...] | list[int] = (32, 16), edge_hidden: int = 32,
                 head_width: int = 32, aggregation: str = "add", pooling: str = "add"):
        super().__init__()
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"model.aggregation={aggregation!r} is unknown; allowed: {', '.join(AGGREGATIONS)}")
        if pooling not in POOLINGS:
            raise ValueError(f"model.pooling={pooling!r} is unknown; allowed: {', '.join(POOLINGS)}")
        channels = [int(c) for c in channels]
        if not channels or min(channels) < 1:
            raise ValueError(f"model.channels={channels} is invalid; allowed: a non-empty list of positive widths")
        widths = [node_features, *channels]
        self.convs = nn.ModuleList(EdgeConditionedConv(d_in, d_out, edge_types, edge_hidden, aggregation)
                                   for d_in, d_out in pairwise(widths))
        self.pooling = pooling
        self.head = nn.Sequential(nn.Linear(channels[-1], head_width), nn.ReLU(),
                                  nn.Linear(head_width, num_outputs))

    def readout(self) -> nn.Module:
        """The read-out layer: its input is the last hidden representation (progress measures)."""
        return self.head[-1]

    def forward(self, graphs: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
        h, adjacency, mask = graphs
        batch, types, atoms, _ = adjacency.shape
        neighbours = adjacency.transpose(1, 2).reshape(batch, atoms, types * atoms)  # once for all layers
        for conv in self.convs:
            h = torch.relu(conv(h, neighbours, mask))
        pooled = h.sum(1)
        if self.pooling == "mean":
            pooled = pooled / mask.sum(1, keepdim=True).clamp(min=1.0)
        return self.head(pooled)
