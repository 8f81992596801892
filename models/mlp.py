"""Multilayer perceptrons: over embedded tokens (algorithmic tasks) or over flat features."""

from __future__ import annotations

import torch
from torch import nn

from grokbench.errors import require

ENCODINGS = ("embedding", "one_hot")
OPERAND_POSITIONS = [0, 2]  # a and b in `a op b =`; `op` and `=` are the same in every example


def mlp_layers(d_in: int, width: int, depth: int, d_out: int, bias: bool = True) -> nn.Sequential:
    """`depth` hidden layers of `width` units with ReLU, then a linear read-out."""
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(d_in, width, bias=bias), nn.ReLU()]
        d_in = width
    layers.append(nn.Linear(d_in, d_out, bias=bias))
    return nn.Sequential(*layers)


class TokenMLP(nn.Module):
    """MLP over the tokens of `a op b =`.

    `encoding=embedding`: learned N(0, 1) embeddings of all tokens, concatenated.
    `encoding=one_hot`: one-hot(a) | one-hot(b) straight into the first linear layer, the input of
    Prieto et al. 2025's MLP; its weights start at PyTorch's Linear scale, far smaller than N(0, 1)
    embeddings, which changes how soon the net groks (see conf/experiment/prieto2025_softmax.yaml).
    """

    def __init__(self, vocab_size: int, seq_len: int, num_outputs: int, d_embed: int = 128,
                 width: int = 256, depth: int = 1, encoding: str = "embedding", bias: bool = True):
        super().__init__()
        require(encoding in ENCODINGS, f"model.encoding={encoding!r} is unknown; allowed: {', '.join(ENCODINGS)}")
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, d_embed) if encoding == "embedding" else None
        d_in = seq_len * d_embed if self.embedding is not None else len(OPERAND_POSITIONS) * vocab_size
        self.mlp = mlp_layers(d_in, width, depth, num_outputs, bias)

    def readout(self) -> nn.Module:
        """The read-out layer: its input is the last hidden representation (progress measures)."""
        return self.mlp[-1]

    def token_embeddings(self) -> torch.Tensor:
        """One row per token (vocab, features): the learned embeddings, or with one-hot inputs the
        first layer's columns for each operand side by side (progress measures: Fourier)."""
        if self.embedding is not None:
            return self.embedding.weight
        weight = self.mlp[0].weight  # (width, 2 * vocab): operand a's columns, then b's
        return torch.cat([weight[:, :self.vocab_size].T, weight[:, self.vocab_size:].T], dim=1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.embedding is not None:
            return self.mlp(self.embedding(tokens).flatten(1))
        one_hot = nn.functional.one_hot(tokens[:, OPERAND_POSITIONS], self.vocab_size)
        return self.mlp(one_hot.flatten(1).to(self.mlp[0].weight.dtype))


class MLP(nn.Module):
    """Plain MLP over flattened inputs (e.g. 784 MNIST pixels)."""

    def __init__(self, input_size: int, num_outputs: int, width: int = 200, depth: int = 2):
        super().__init__()
        self.mlp = mlp_layers(input_size, width, depth, num_outputs)

    def readout(self) -> nn.Module:
        """The read-out layer: its input is the last hidden representation (progress measures)."""
        return self.mlp[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x.flatten(1))
