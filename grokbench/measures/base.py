"""The Measure contract.

A measure is a class (a `Measure` subclass in `grokbench/measures/<m>.py`) and a config
`conf/measures/<m>.yaml` whose one top-level key is the measure's name (Hydra merges every
selected file of the group into `measures:`, so the name keeps them apart):

    <name>:
      _target_: grokbench.measures.<m>.<Class>
      direction: up | down | none        # which way is progress; or {sub_key: direction}
      cost: weights | outputs | table | sampling
      applies_to: {kinds: [...], domains: [...], models: [...], task: {param: [values]}}
      every: 1                           # compute at every N-th evaluation point
      source: "the paper it follows"
      <knob>: value                      # the class's constructor arguments

`applies_to` lists are declarations, never inferred from names; a missing or null list means
"all". `kinds`: classification | regression; `domains`: task names; `models`: model classes of
models/ (the class, not the config option: transformer and transformer_small are one class);
`task`: allowed values of the task's parameters (`task.params()`). The class declares what it reads from an evaluation point (`reads`) and which declared
parts of the model it needs (`model_needs`: `readout`, `token_embeddings`, methods of the model
in models/). `compute(point)` returns {sub_key: value}; "" is the measure itself, logged as
`measures/<name>`, any other sub-key as `measures/<name>/<sub_key>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from grokbench.errors import require
from grokbench.kinds import DIRECTIONS, MetricDeclaration

PREFIX = "measures"
COSTS = {  # what one evaluation of a measure costs, as `grokbench ls` shows it
    "weights": "reads the weights only",
    "outputs": "reads the evaluation's own outputs or last hidden layer (no extra forward pass)",
    "table": "one extra forward pass over a whole operation table",
    "sampling": "many forward and backward passes (SGLD chains)",
}
APPLIES_KEYS = ("kinds", "domains", "models", "task")
DECLARATION_KEYS = ("_target_", "direction", "cost", "applies_to", "every", "source")
READS = ("weights", "outputs", "representation")
# The last hidden representation is captured on at most this many held-out examples: more than
# the widest hidden layer here (512, ResNet-18's), so the effective rank is not capped by n.
REPRESENTATION_EXAMPLES = 1024


@dataclass
class EvalPoint:
    """What a measure sees at one evaluation point (under inference mode, model in eval mode)."""

    step: int
    model: nn.Module
    task: Any                                   # the GrokTask, splits resident on the device
    outputs: dict[str, torch.Tensor] = field(default_factory=dict)  # split -> outputs, dataset order
    representation: torch.Tensor | None = None  # the readout's input on held-out examples (n, width)


@dataclass(frozen=True)
class MeasureDeclaration:
    name: str
    direction: str | dict[str, str]
    cost: str
    applies_to: dict[str, Any]
    every: int
    source: str

    def direction_of(self, sub_key: str) -> str:
        if isinstance(self.direction, str):
            return self.direction
        return self.direction.get(sub_key, "none")

    def key(self, sub_key: str) -> str:
        return f"{PREFIX}/{self.name}" + (f"/{sub_key}" if sub_key else "")

    def metric(self, sub_key: str) -> MetricDeclaration:
        return MetricDeclaration(self.direction_of(sub_key), "measure", None, self.name)

    def applies_line(self) -> str:
        """`classification; domains modular; models all` for `grokbench ls`."""
        parts = []
        for key in APPLIES_KEYS[:3]:
            values = self.applies_to.get(key)
            parts.append(f"{key} {'all' if values is None else ', '.join(map(str, values))}")
        for param, values in (self.applies_to.get("task") or {}).items():
            parts.append(f"task.{param} {', '.join(map(str, values))}")
        return "; ".join(parts)

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


def parse_declaration(name: str, spec: Mapping[str, Any]) -> MeasureDeclaration:
    """The declaration part of a measure's config, checked (one line per bad value)."""
    direction = spec.get("direction")
    directions = direction.values() if isinstance(direction, Mapping) else [direction]
    require(all(d in DIRECTIONS for d in directions),
            f"measures.{name}.direction={direction!r} is invalid; allowed: {', '.join(DIRECTIONS)} "
            "(or a mapping sub-key -> one of them)")
    cost = spec.get("cost")
    require(cost in COSTS, f"measures.{name}.cost={cost!r} is invalid; allowed: {', '.join(COSTS)}")
    applies = dict(spec.get("applies_to") or {})
    unknown = sorted(set(applies) - set(APPLIES_KEYS))
    require(not unknown, f"measures.{name}.applies_to.{unknown[0] if unknown else ''} is unknown; "
                         f"allowed: {', '.join(APPLIES_KEYS)}")
    every = spec.get("every", 1)
    require(isinstance(every, int) and not isinstance(every, bool) and every >= 1,
            f"measures.{name}.every={every!r} is invalid; allowed: an integer >= 1")
    return MeasureDeclaration(name, dict(direction) if isinstance(direction, Mapping) else direction,
                              cost, applies, every, str(spec.get("source") or ""))


class Measure:
    """Base class: subclasses set `reads` and `model_needs` and implement `compute`."""

    reads: tuple[str, ...] = ("weights",)  # of READS: what compute() uses from the EvalPoint
    model_needs: tuple[str, ...] = ()      # model methods it calls (declared by models/, never guessed)

    def compute(self, point: EvalPoint) -> dict[str, float]:
        raise NotImplementedError


def skip_reason(declaration: MeasureDeclaration, measure: Measure, kind: str, domain: str, model: nn.Module,
                task_params: Mapping[str, Any]) -> str | None:
    """Why the measure does not apply to this run (one line), None when it does."""
    applies, name, model_name = declaration.applies_to, declaration.name, type(model).__name__
    for key, value, what in (("kinds", kind, "task kind"), ("domains", domain, "domain"),
                             ("models", model_name, "model")):
        allowed = applies.get(key)
        if allowed is not None and value not in allowed:
            return f"measure {name} does not apply to {what} {value}; it applies to {key} {', '.join(allowed)}"
    for param, allowed in (applies.get("task") or {}).items():
        if task_params.get(param) not in allowed:
            return (f"measure {name} does not apply to task {domain} with task.{param}="
                    f"{task_params.get(param)}; it applies to task.{param} {', '.join(map(str, allowed))}")
    for need in measure.model_needs:
        if not callable(getattr(model, need, None)):
            return f"measure {name} needs the model to declare `{need}()`; model {model_name} does not"
    return None
