"""A complexity proxy: the compressed size of the model's weights quantized to a fixed number of
levels (DeMoss et al. 2024 approximate a network's Kolmogorov complexity this way and see it rise
while the net memorizes and fall when it groks).

Every weight is rounded onto `levels` evenly spaced values across [-max|w|, max|w|] of the whole
model and the codes are compressed with zlib: a network whose weights take few distinct values,
or repeat, compresses to fewer bytes. The levels span the largest weight, so the size reads the
shape of the weight distribution, not its scale (weights/l2 and weight_norm read the scale).
"""

from __future__ import annotations

import zlib

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

    def __init__(self, levels: int = 256, level: int = 6):
        require(isinstance(levels, int) and 2 <= levels <= 65536,
                f"measures.compressed_size.levels={levels!r} is invalid; allowed: an integer in [2, 65536]")
        require(isinstance(level, int) and 0 <= level <= 9,
                f"measures.compressed_size.level={level!r} is invalid; allowed: an integer in [0, 9]")
        self.levels, self.level = levels, level

    def compute(self, point: EvalPoint) -> dict[str, float]:
        raw = quantized_bytes(list(point.model.parameters()), self.levels)
        return {"": float(len(zlib.compress(raw, self.level)))}
