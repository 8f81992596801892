"""Precision settings a run can use on its device, checked before the fit starts."""

from __future__ import annotations

import torch

from grokbench.errors import require

# Modules whose CPU kernel under bfloat16 autocast is only oneDNN's bf16 primitive, which needs a
# CPU with bf16 instructions (AVX512-BF16 or AMX); elsewhere torch fails deep inside the fit.
NEEDS_ONEDNN_BF16 = (torch.nn.LSTM, torch.nn.GRU)


def check_bf16_kernels(model: torch.nn.Module, precision: str | None, device: torch.device) -> None:
    """One line instead of torch's error where a bf16 run meets a CPU without a bf16 kernel."""
    if device.type != "cpu" or not str(precision or "").startswith("bf16"):
        return
    if torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return
    needing = sorted({type(m).__name__ for m in model.modules() if isinstance(m, NEEDS_ONEDNN_BF16)})
    require(not needing, f"trainer.precision={precision}: this CPU has no bf16 instructions (AVX512-BF16/AMX), "
                         f"which torch's bf16 {', '.join(needing)} needs; allowed here: trainer.precision=32-true "
                         "(or 64-true), or a GPU")
