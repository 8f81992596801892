"""Grokfast (Lee et al. 2024): amplify the slow component of the gradient.

After backward and before the optimizer step, each parameter's gradient g becomes
g + lamb * filter(g), where the filter is an exponential moving average (EMA) or the mean of
the last `window` gradients (MA). Both follow the authors' `gradfilter_ema` / `gradfilter_ma`
(github.com/ironjr/grokfast): the EMA starts at the first gradient, the MA window includes
the current gradient and is applied only once it is full.

`LearningRateMatched` is the baseline a reviewer asks of Grokfast: no filter, a learning rate
scaled to the filter's effective step (conf/method/grokfast_lr_matched.yaml says why 1 + lamb).
"""

from __future__ import annotations

import torch
from lightning.pytorch.callbacks import Callback
from omegaconf import DictConfig
from torch import nn

from grokbench.errors import require
from grokbench.methods.base import Method, OptimizerFactory, with_keywords


def gradients(module: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.grad for name, p in module.named_parameters() if p.grad is not None}


class GrokfastEMA(Callback):
    """g <- g + lamb * EMA_alpha(g), with EMA_t = alpha * EMA_{t-1} + (1 - alpha) * g_t."""

    def __init__(self, alpha: float = 0.98, lamb: float = 2.0):
        require(0.0 <= alpha < 1.0, f"method.alpha={alpha} is invalid; allowed: 0 <= alpha < 1")
        require(lamb >= 0.0, f"method.lamb={lamb} is invalid; allowed: lamb >= 0")
        self.alpha, self.lamb = float(alpha), float(lamb)
        self.ema: dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def filter(self, module: nn.Module) -> None:
        for name, grad in gradients(module).items():
            ema = self.ema.get(name)
            if ema is None:
                ema = self.ema[name] = grad.detach().clone()
            else:
                ema.mul_(self.alpha).add_(grad, alpha=1.0 - self.alpha)
            grad.add_(ema, alpha=self.lamb)

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        self.filter(pl_module)

    def state_dict(self) -> dict:
        return {"ema": self.ema}

    def load_state_dict(self, state_dict: dict) -> None:
        self.ema = dict(state_dict["ema"])


class GrokfastMA(Callback):
    """g <- g + lamb * mean(last `window` gradients, the current one included), once full."""

    def __init__(self, window: int = 100, lamb: float = 5.0):
        require(isinstance(window, int) and window >= 1,
                f"method.window={window} is invalid; allowed: an integer >= 1")
        require(lamb >= 0.0, f"method.lamb={lamb} is invalid; allowed: lamb >= 0")
        self.window, self.lamb = window, float(lamb)
        # Per parameter: a ring buffer of the last `window` gradients and their running sum
        # (summing 100 stored gradients every step would cost more than the step itself).
        self.history: dict[str, torch.Tensor] = {}
        self.total: dict[str, torch.Tensor] = {}
        self.seen = 0

    @torch.no_grad()
    def filter(self, module: nn.Module) -> None:
        slot = self.seen % self.window
        grads = gradients(module)
        for name, grad in grads.items():
            if name not in self.history:
                self.history[name] = grad.new_zeros((self.window, *grad.shape))
                self.total[name] = torch.zeros_like(grad)
            history, total = self.history[name], self.total[name]
            total.sub_(history[slot]).add_(grad)
            history[slot].copy_(grad)
            if slot == self.window - 1:  # recompute exactly once per window: no float drift
                torch.sum(history, dim=0, out=total)
        self.seen += 1
        if self.seen >= self.window:
            for name, grad in grads.items():
                grad.add_(self.total[name], alpha=self.lamb / self.window)

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        self.filter(pl_module)

    def state_dict(self) -> dict:
        return {"history": self.history, "total": self.total, "seen": self.seen}

    def load_state_dict(self, state_dict: dict) -> None:
        self.history, self.total = dict(state_dict["history"]), dict(state_dict["total"])
        self.seen = int(state_dict["seen"])


class GrokfastEMAMethod(Method):
    def __init__(self, alpha: float, lamb: float, optim: dict | None = None):
        super().__init__(optim=optim)
        self.filter = GrokfastEMA(alpha, lamb)  # a bad knob fails here, before training

    def callbacks(self, cfg: DictConfig) -> list[Callback]:
        return [self.filter]


class GrokfastMAMethod(Method):
    def __init__(self, window: int, lamb: float, optim: dict | None = None):
        super().__init__(optim=optim)
        self.filter = GrokfastMA(window, lamb)

    def callbacks(self, cfg: DictConfig) -> list[Callback]:
        return [self.filter]


class LearningRateMatched(Method):
    """No filter; lr x lr_scale and weight decay / lr_scale, so that lr * weight_decay (AdamW's
    decay per step, which the filter does not touch) stays the Grokfast run's."""

    def __init__(self, lr_scale: float, optim: dict | None = None):
        require(lr_scale > 0, f"method.lr_scale={lr_scale} is invalid; allowed: a number > 0")
        super().__init__(optim=optim)
        self.lr_scale = float(lr_scale)

    def optimizer(self, factory: OptimizerFactory, model: nn.Module) -> OptimizerFactory:
        factory = with_keywords(super().optimizer(factory, model), {})  # a partial, whose keywords it reads
        keywords = factory.keywords
        require("lr" in keywords, "method grokfast_lr_matched scales optim.lr; the optimizer config sets none")
        scaled = {"lr": keywords["lr"] * self.lr_scale}
        if keywords.get("weight_decay"):
            scaled["weight_decay"] = keywords["weight_decay"] / self.lr_scale
        return with_keywords(factory, scaled)
