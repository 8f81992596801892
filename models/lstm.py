"""LSTM text classifier of Omnigrok's IMDb experiment: embedding -> stacked LSTM -> linear."""

from __future__ import annotations

import torch
from torch import nn


class LSTMClassifier(nn.Module):
    """Reads the final hidden state of the top layer (inputs are left-padded, so it sits
    right after the review's last word)."""

    def __init__(self, vocab_size: int, num_outputs: int, d_embed: int = 64, hidden: int = 256,
                 layers: int = 2):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_embed, padding_idx=0)
        self.lstm = nn.LSTM(d_embed, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, num_outputs)

    def readout(self) -> nn.Module:
        """The read-out layer: its input is the last hidden representation (progress measures)."""
        return self.head

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(self.embedding(tokens))
        return self.head(hidden[-1])
