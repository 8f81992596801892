"""L2 norm of the weights per layer group (Liu et al. 2022, Omnigrok: generalization comes as the
weight norm falls toward the "Goldilocks zone"; Nanda et al. 2023: the norm falls in cleanup)."""

from __future__ import annotations

import torch

from grokbench.errors import require
from grokbench.measures.base import EvalPoint, Measure


def layer_groups(model: torch.nn.Module, depth: int) -> dict[str, list[torch.Tensor]]:
    """Parameters grouped by the first `depth` levels of their owning module's path in the model
    (depth 2: `blocks.0`, `mlp.2`, `head`); a parameter of the model itself keeps its own name."""
    groups: dict[str, list[torch.Tensor]] = {}
    for module_path, module in model.named_modules():
        for name, parameter in module.named_parameters(recurse=False):
            group = ".".join(module_path.split(".")[:depth]) if module_path else name
            groups.setdefault(group, []).append(parameter)
    return groups


class WeightNormPerGroup(Measure):
    reads = ("weights",)

    def __init__(self, depth: int = 2):
        require(isinstance(depth, int) and depth >= 1, f"measures.weight_norm.depth={depth!r} is invalid; "
                                                       "allowed: an integer >= 1")
        self.depth = depth

    def compute(self, point: EvalPoint) -> dict[str, float]:
        return {group: float(torch.sqrt(sum(p.detach().pow(2).sum() for p in parameters)))
                for group, parameters in layer_groups(point.model, self.depth).items()}
