"""The measures there are, read from conf/measures/ (no list of them anywhere else), and the
measures of one run, built from its composed config."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf
from torch import nn

from grokbench.config import CONF_DIR
from grokbench.errors import require
from grokbench.measures.base import (
    COSTS,
    DECLARATION_KEYS,
    Measure,
    MeasureDeclaration,
    parse_declaration,
    skip_reason,
)

GROUP = "measures"


def measure_names() -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / GROUP).glob("*.yaml"))


def spec(name: str) -> dict[str, Any]:
    """A measure file's entry (the file holds one key, the measure's name)."""
    loaded = OmegaConf.to_container(OmegaConf.load(CONF_DIR / GROUP / f"{name}.yaml"))
    require(list(loaded) == [name], f"conf/{GROUP}/{name}.yaml must hold one key, {name}; it holds "
                                    f"{', '.join(map(str, loaded)) or 'none'}")
    return loaded[name]


def declaration(name: str) -> MeasureDeclaration:
    return parse_declaration(name, spec(name))


def listing() -> list[str]:
    """One line per measure for `grokbench ls`: direction, cost, schedule, what it applies to."""
    lines = []
    for name in measure_names():
        d = declaration(name)
        direction = d.direction if isinstance(d.direction, str) else \
            ", ".join(f"{k} {v}" for k, v in d.direction.items())
        every = "every evaluation" if d.every == 1 else f"every {d.every}th evaluation"
        needs = get_class(spec(name)["_target_"]).model_needs
        needs = "".join(f"; models declaring {n}()" for n in needs)
        lines.append(f"  {name}: progress {direction}; cost {d.cost} ({every}); {d.applies_line()}{needs}")
    return lines


def build(name: str, entry: Mapping[str, Any]) -> tuple[MeasureDeclaration, Measure]:
    """The declaration and the measure object of one config entry (knobs checked)."""
    declared = parse_declaration(name, entry)
    require("_target_" in entry, f"measure {name} has no _target_; allowed: a Measure class")
    cls = get_class(entry["_target_"])
    require(isinstance(cls, type) and issubclass(cls, Measure),
            f"measure {name}: {entry['_target_']} is not a grokbench.measures.base.Measure")
    knobs = {k: v for k, v in entry.items() if k not in DECLARATION_KEYS}
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(knobs) - set(allowed))
    require(not unknown, f"measures.{name}.{unknown[0] if unknown else ''} is not a knob of measure {name}; "
                         f"allowed: {', '.join([*allowed, *DECLARATION_KEYS[1:]])}")
    return declared, cls(**knobs)


def run_measures(measures_cfg: DictConfig | Mapping | None, task, model: nn.Module
                 ) -> tuple[list[tuple[MeasureDeclaration, Measure]], dict[str, str]]:
    """The run's measures that apply to its task and model, and why each other one is skipped.

    A measure that does not apply is skipped with one line, also when named on the command line:
    a suite passes one `+measures=[...]` to every domain's recipe, and a Fourier measure on MNIST
    is then not an error but a measure with nothing to measure.
    """
    if measures_cfg is None:
        return [], {}
    entries = OmegaConf.to_container(measures_cfg, resolve=True) if isinstance(measures_cfg, DictConfig) \
        else dict(measures_cfg)
    active, skipped = [], {}
    for name, entry in entries.items():
        require(isinstance(entry, Mapping), f"measures.{name} is not a measure's config; allowed: "
                                            f"{', '.join(measure_names())} (+measures=[a,b])")
        declared, measure = build(name, entry)
        reason = skip_reason(declared, measure, task.kind, task.name, model, task.params())
        if reason:
            skipped[name] = reason
        else:
            active.append((declared, measure))
    return active, skipped


__all__ = ["COSTS", "build", "declaration", "listing", "measure_names", "run_measures"]
