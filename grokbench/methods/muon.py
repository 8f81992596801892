"""Muon (Jordan et al. 2024; `torch.optim.Muon`): orthogonalized updates for hidden-layer matrices.

As torch's documentation prescribes, Muon takes only the 2-D weights of hidden layers; the
embeddings, biases, norms, the output head and any other parameter keep the recipe's optimizer
(AdamW in every CPU recipe). With `adjust_lr_fn="match_rms_adamw"` (Liu et al. 2025, "Muon is
Scalable for LLM Training") Muon's update has AdamW's RMS, so it reuses the recipe's learning
rate and weight decay. The two optimizers step as one (`CombinedOptimizer`), so the trainer,
the warmup schedule and any gradient callback see a single optimizer step.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from grokbench.errors import require
from grokbench.methods.base import Method, OptimizerFactory, with_keywords


def hidden_matrices(model: nn.Module) -> list[nn.Parameter]:
    """The weights of every nn.Linear but the last one registered (the output head)."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return [m.weight for m in linears[:-1]]


class CombinedOptimizer(torch.optim.Optimizer):
    """Optimizers over disjoint parameters, stepped as one: the closure (and with it Lightning's
    `on_before_optimizer_step` callbacks) runs once, then every optimizer steps. `param_groups`
    are the inner optimizers' own, so a learning-rate scheduler reaches all of them."""

    def __init__(self, *optimizers: torch.optim.Optimizer):
        self.optimizers = list(optimizers)
        super().__init__([p for o in self.optimizers for g in o.param_groups for p in g["params"]], {})
        self.param_groups = [g for o in self.optimizers for g in o.param_groups]

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for optimizer in self.optimizers:
            optimizer.step()
        return loss

    def state_dict(self) -> dict[str, Any]:
        return {"optimizers": [o.state_dict() for o in self.optimizers]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        for optimizer, state in zip(self.optimizers, state_dict["optimizers"], strict=True):
            optimizer.load_state_dict(state)


class MuonMethod(Method):
    def __init__(self, momentum: float = 0.95, adjust_lr_fn: str = "match_rms_adamw", optim: dict | None = None):
        require(0 <= momentum < 1, f"method.momentum={momentum} is invalid; allowed: 0 <= momentum < 1")
        allowed = ("original", "match_rms_adamw", "spectral_unclamped")
        require(adjust_lr_fn in allowed, f"method.adjust_lr_fn={adjust_lr_fn!r} is invalid; allowed: {', '.join(allowed)}")
        super().__init__(optim=optim)
        self.momentum, self.adjust_lr_fn = float(momentum), adjust_lr_fn

    def optimizer(self, factory: OptimizerFactory, model: nn.Module) -> OptimizerFactory:
        rest_factory = with_keywords(super().optimizer(factory, model), {})  # a partial, whose keywords it reads
        keywords = rest_factory.keywords
        require(bool(hidden_matrices(model)), f"method muon: model {type(model).__name__} has no hidden-layer "
                                               "matrix (nn.Linear other than the output head) for Muon")

        def build(params) -> torch.optim.Optimizer:
            # Found again when the optimizer is built, after the model moved to its device: a move
            # may replace the parameter objects (to a device of another tensor type, e.g. meta).
            muon_ids = {id(p) for p in hidden_matrices(model)}
            params = list(params)
            muon = torch.optim.Muon([p for p in params if id(p) in muon_ids], lr=keywords["lr"],
                                    weight_decay=keywords.get("weight_decay", 0.0), momentum=self.momentum,
                                    adjust_lr_fn=self.adjust_lr_fn)
            rest = [p for p in params if id(p) not in muon_ids]
            return CombinedOptimizer(muon, rest_factory(rest)) if rest else CombinedOptimizer(muon)

        return build
