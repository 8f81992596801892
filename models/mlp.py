"""Multilayer perceptrons: over embedded tokens (algorithmic tasks) or over flat features."""

from __future__ import annotations

import torch
from torch import nn


def mlp_layers(d_in: int, width: int, depth: int, d_out: int) -> nn.Sequential:
    """`depth` hidden layers of `width` units with ReLU, then a linear read-out."""
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(d_in, width), nn.ReLU()]
        d_in = width
    layers.append(nn.Linear(d_in, d_out))
    return nn.Sequential(*layers)


class TokenMLP(nn.Module):
    """Embeds each token of `a op b =`, concatenates the embeddings, and applies an MLP."""

    def __init__(self, vocab_size: int, seq_len: int, num_outputs: int, d_embed: int = 128,
                 width: int = 256, depth: int = 1):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_embed)
        self.mlp = mlp_layers(seq_len * d_embed, width, depth, num_outputs)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.embedding(tokens).flatten(1))


class MLP(nn.Module):
    """Plain MLP over flattened inputs (e.g. 784 MNIST pixels)."""

    def __init__(self, input_size: int, num_outputs: int, width: int = 200, depth: int = 2):
        super().__init__()
        self.mlp = mlp_layers(input_size, width, depth, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x.flatten(1))
