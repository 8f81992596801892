"""Decoder-only transformer for token sequences, reading its prediction at the last position.

Defaults follow Power et al. 2022 (2 layers, width 128, 4 heads). With `n_layers=1`,
`d_mlp=512`, `layer_norm=False` it is the one-layer model of Nanda et al. 2023.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int, d_mlp: int, layer_norm: bool):
        super().__init__()
        self.n_heads = n_heads
        self.norm_attn = nn.LayerNorm(d_model) if layer_norm else nn.Identity()
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.attn_out = nn.Linear(d_model, d_model)
        self.norm_mlp = nn.LayerNorm(d_model) if layer_norm else nn.Identity()
        self.mlp = nn.Sequential(nn.Linear(d_model, d_mlp), nn.ReLU(), nn.Linear(d_mlp, d_model))

    def forward(self, h: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """With `last_only`, return only the last position: its query still attends to every
        key, but the output projection and MLP skip the positions nobody reads (the same
        numbers, a third of the work in the final block)."""
        batch, seq, width = h.shape
        q, k, v = self.qkv(self.norm_attn(h)).view(batch, seq, 3, self.n_heads, -1).permute(2, 0, 3, 1, 4)
        if last_only:
            q, h = q[:, :, -1:], h[:, -1:]
        # the last query sees every key, so causality only matters for full sequences
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=not last_only)
        h = h + self.attn_out(attended.transpose(1, 2).reshape(batch, h.shape[1], width))
        return h + self.mlp(self.norm_mlp(h))


class Transformer(nn.Module):
    def __init__(self, vocab_size: int, seq_len: int, num_outputs: int, n_layers: int = 2,
                 d_model: int = 128, n_heads: int = 4, d_mlp: int | None = None,
                 layer_norm: bool = True):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"model.d_model={d_model} is not divisible by model.n_heads={n_heads}")
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.position_embedding = nn.Parameter(torch.randn(seq_len, d_model) / d_model ** 0.5)
        self.blocks = nn.ModuleList(Block(d_model, n_heads, d_mlp or 4 * d_model, layer_norm)
                                    for _ in range(n_layers))
        self.final_norm = nn.LayerNorm(d_model) if layer_norm else nn.Identity()
        self.unembed = nn.Linear(d_model, num_outputs)

    def readout(self) -> nn.Module:
        """The read-out layer: its input is the last hidden representation (progress measures)."""
        return self.unembed

    def token_embeddings(self) -> torch.Tensor:
        """One row per token (vocab, d_model) (progress measures: Fourier)."""
        return self.token_embedding.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.token_embedding(tokens) + self.position_embedding[: tokens.shape[1]]
        for i, block in enumerate(self.blocks):
            h = block(h, last_only=i == len(self.blocks) - 1)
        return self.unembed(self.final_norm(h[:, -1]))
