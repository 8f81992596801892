"""A complexity proxy: the compressed size of the model's weights quantized to a fixed number of
levels (DeMoss et al. 2024 approximate a network's Kolmogorov complexity this way and see it rise
while the net memorizes and fall when it groks).

Every weight is rounded onto `levels` evenly spaced values across [-max|w|, max|w|] of the whole
model and the codes are compressed with lzma: a network whose weights take few distinct values,
or repeat, compresses to fewer bytes.
"""

from __future__ import annotations

import lzma

import numpy as np
import torch

from grokbench.errors import require
from grokbench.measures.base import EvalPoint, Measure


def quantized_bytes(parameters: list[torch.Tensor], levels: int) -> bytes:
    flat = torch.cat([p.detach().flatten().float().cpu() for p in parameters])
    largest = float(flat.abs().max()) if len(flat) else 0.0
    if largest == 0:
        return bytes(len(flat))
    codes = torch.round((flat / largest + 1) / 2 * (levels - 1))  # 0 .. levels - 1
    return codes.numpy().astype(np.uint8 if levels <= 256 else np.uint16).tobytes()


class CompressedSize(Measure):
    reads = ("weights",)

    def __init__(self, levels: int = 256, preset: int = 1):
        require(isinstance(levels, int) and 2 <= levels <= 65536,
                f"measures.compressed_size.levels={levels!r} is invalid; allowed: an integer in [2, 65536]")
        require(isinstance(preset, int) and 0 <= preset <= 9,
                f"measures.compressed_size.preset={preset!r} is invalid; allowed: an integer in [0, 9]")
        self.levels, self.preset = levels, preset

    def compute(self, point: EvalPoint) -> dict[str, float]:
        raw = quantized_bytes(list(point.model.parameters()), self.levels)
        return {"": float(len(lzma.compress(raw, preset=self.preset)))}
