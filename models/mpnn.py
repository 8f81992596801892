"""Message passing over dense padded graphs (QM9), plain torch.

Each layer sends one message per bond type: h_i <- relu(W_self h_i + sum_t sum_j A_t[i, j] W_t h_j),
masked so padding atoms stay zero; a sum over atoms and an MLP give the molecule's output.
"""

from __future__ import annotations

import torch
from torch import nn

from grokbench.models.mlp import mlp_layers


class EdgeTypeConv(nn.Module):
    def __init__(self, width: int, edge_types: int):
        super().__init__()
        self.self_weight = nn.Linear(width, width)
        self.edge_weight = nn.Linear(width, width * edge_types, bias=False)
        self.edge_types = edge_types

    def forward(self, h: torch.Tensor, adjacency: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, atoms, width = h.shape
        per_type = self.edge_weight(h).view(batch, atoms, self.edge_types, width).transpose(1, 2)
        messages = torch.matmul(adjacency, per_type).sum(1)  # (batch, atoms, width)
        return torch.relu(self.self_weight(h) + messages) * mask.unsqueeze(-1)


class MPNN(nn.Module):
    def __init__(self, node_features: int, edge_types: int, num_outputs: int = 1, width: int = 64,
                 layers: int = 3, head_width: int = 64, head_depth: int = 1):
        super().__init__()
        self.embed = nn.Linear(node_features, width)
        self.convs = nn.ModuleList(EdgeTypeConv(width, edge_types) for _ in range(layers))
        self.head = mlp_layers(width, head_width, head_depth, num_outputs)

    def readout(self) -> nn.Module:
        """The read-out layer: its input is the last hidden representation (progress measures)."""
        return self.head[-1]

    def forward(self, graphs: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
        nodes, adjacency, mask = graphs
        h = torch.relu(self.embed(nodes)) * mask.unsqueeze(-1)
        for conv in self.convs:
            h = conv(h, adjacency, mask)
        return self.head(h.sum(1))  # sum pooling: the output grows with the molecule, like alpha
