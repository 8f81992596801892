"""The Method contract: one declaration that may change the loss, the gradient or the optimizer.

A method is a class (a `Method` subclass in `grokbench/methods/<m>.py`, or `Method` itself) and a
config `conf/method/<m>.yaml`; nothing else lists it (the methods suite, `grokbench ls` and the
board find it there). Its three hooks, each a no-op in `Method`:

- `loss(loss, kind)`: the loss name the run trains with (StableMax replaces the recipe's);
- `callbacks(cfg)`: Lightning callbacks, e.g. a gradient filter run before each optimizer step;
- `optimizer(factory, model)`: the optimizer factory (`factory(params) -> Optimizer`), e.g. the
  recipe's with other keywords, or another optimizer for the hidden-layer matrices.

The config's keys: `_target_` (the class), `name`, optionally `baseline` (the method whose runs
of the same recipe it is compared with on the board, default `baseline`), the class's
constructor arguments (its knobs; `Method` takes `loss` and `optim`, optimizer keywords), and:

- `applies_to: {kinds: [classification], reason: ...}`: the kinds of task it applies to (default
  every kind) and why not the others;
- `per_domain`: an entry per domain (the task's name) only where a paper gives the method's
  settings there, or a tuning sweep picked them: the knobs, `source:` (where they come from) and
  `tuned:` (true when no paper gives them and a sweep of `tune: {knob: [<= 3 values]}` on the
  tuning seed picks them), or `skip:` (why the method does not apply there);
- `elsewhere`: the entry of every other domain of those kinds (its source, and the knobs a sweep
  still has to pick), so that a new domain edits no method file.

A method with neither `per_domain` nor `elsewhere` is the same on every domain. A knob left null
at the top takes the run's domain entry; a value set at the top (in the file, by a recipe or on
the command line) applies on every domain instead (`optim`: key by key).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
from hydra.utils import get_class
from lightning.pytorch.callbacks import Callback
from omegaconf import DictConfig, OmegaConf
from torch import nn

from grokbench.catalog import domain as domain_of
from grokbench.catalog import domain_names
from grokbench.errors import require
from grokbench.kinds import KINDS
from grokbench.losses import LOSSES

OptimizerFactory = Callable[..., torch.optim.Optimizer]
DECLARATION_KEYS = ("_target_", "name", "baseline", "applies_to", "per_domain", "elsewhere")  # not knobs
ENTRY_KEYS = ("source", "tuned", "tune", "skip")                   # a domain entry's keys that are not knobs
MAX_CANDIDATES = 3  # a tuning sweep: at most 3 values of the main knob, chosen before any result


def with_keywords(factory: OptimizerFactory, keywords: Mapping[str, Any]) -> OptimizerFactory:
    """The optimizer factory with some keyword arguments replaced (Hydra's `_partial_` factory)."""
    require(isinstance(factory, functools.partial),
            f"a method's optimizer settings need `optim` to be a partial (`_partial_: true`); got {factory!r}")
    return functools.partial(factory.func, *factory.args, **{**factory.keywords, **keywords})


class Method:
    """Changes nothing unless told: the baseline, and every method's base.

    loss: a loss of `grokbench.losses.LOSSES` that replaces the recipe's `module.loss`.
    optim: optimizer keywords set over the recipe's `optim` (e.g. weight_decay: 0.0).
    """

    def __init__(self, loss: str | None = None, optim: Mapping[str, Any] | None = None):
        require(loss is None or loss in LOSSES, f"method.loss={loss!r} is unknown; allowed: {', '.join(LOSSES)}")
        self.loss_name = loss
        self.optim = dict(optim or {})
        self.settings: MethodSettings | None = None  # set by build_method

    def loss(self, loss: str, kind: str) -> str:
        return self.loss_name or loss

    def callbacks(self, cfg: DictConfig) -> list[Callback]:
        return []

    def optimizer(self, factory: OptimizerFactory, model: nn.Module) -> OptimizerFactory:
        return with_keywords(factory, self.optim) if self.optim else factory


@dataclass(frozen=True)
class MethodSettings:
    """What a run's method is, where its numbers come from; written into the run record."""

    name: str
    domain: str
    knobs: dict[str, Any]   # the constructor's arguments, `optim` included
    source: str
    tuned: bool
    baseline: str           # the method it is compared with on the board
    given: list[str]        # knobs the domain entry sets (or leaves to tune) that were set above it
                            # (method file, recipe, command line), e.g. a tuning run's candidate
    not_applicable: dict[str, str]  # domain -> why the method does not apply there (the board's n/a cells)

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


def knob_parameters(cls: type) -> dict[str, inspect.Parameter]:
    return {name: p for name, p in inspect.signature(cls.__init__).parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def declared_entry(spec: Mapping[str, Any], domain: str) -> dict[str, Any] | None:
    """The declaration's entry for a domain as written (see the module docstring): `{"skip":
    reason}` where the method does not apply, None for a domain it neither lists nor covers
    `elsewhere`."""
    applies_to = spec.get("applies_to") or {}
    kinds = applies_to.get("kinds")
    if kinds is not None and domain in domain_names() and domain_of(domain).kind not in kinds:
        known = domain_of(domain)
        why = applies_to.get("reason") or f"the method is for {', '.join(kinds)}"
        return {"skip": f"{known.title} is {known.kind}; {why}"}
    table, elsewhere = spec.get("per_domain"), spec.get("elsewhere")
    if table is None and elsewhere is None:
        return {"tuned": False, "source": "the same on every domain"}
    if domain in (table or {}):
        return dict(table[domain] or {})
    return None if elsewhere is None else dict(elsewhere)


def domain_entry(spec: Mapping[str, Any], domain: str) -> dict[str, Any]:
    """The entry a run on this domain resolves its knobs from; one line where there is none."""
    name, found = spec.get("name", "?"), declared_entry(spec, domain)
    require(found is not None, f"method {name} declares no setting for domain {domain}; "
                               f"it declares: {', '.join(spec.get('per_domain') or {})} (and no `elsewhere`)")
    entry = dict(found)
    require(not entry.get("skip"), f"method {name} does not apply to domain {domain}: {entry.get('skip')}")
    return entry


def not_applicable(spec: Mapping[str, Any]) -> dict[str, str]:
    """Domain -> why the method does not apply there, over the catalog's domains."""
    reasons = {d: (declared_entry(spec, d) or {}).get("skip") for d in domain_names()}
    return {d: reason for d, reason in reasons.items() if reason}


def missing_knob_message(name: str, knob: str, domain: str, entry: Mapping[str, Any]) -> str:
    candidates = (entry.get("tune") or {}).get(knob)
    override = f"{'++' if '.' in knob else ''}method.{knob}=VALUE"  # optim.* keys may not exist yet
    if candidates:
        return (f"method.{knob} of {name} is not yet tuned for domain {domain}: run `grokbench suite "
                f"method_tuning`, then `python -m grokbench.methods.tuning` and write the pick into "
                f"conf/method/{name}.yaml; allowed now: {override}, one of {list(candidates)}")
    return f"method.{knob} of {name} is not set for domain {domain} ({entry.get('source')}); allowed: {override}"


def resolve(spec: Mapping[str, Any], domain: str) -> tuple[type, MethodSettings]:
    """The method's class and its settings on a domain (see the module docstring)."""
    name = str(spec.get("name") or "?")
    require("_target_" in spec, f"method {name} has no _target_; allowed: a Method class, e.g. "
                                "grokbench.methods.base.Method")
    cls = get_class(spec["_target_"])
    require(isinstance(cls, type) and issubclass(cls, Method),
            f"method {name}: {spec['_target_']} is not a grokbench.methods.base.Method")
    parameters = knob_parameters(cls)
    unknown = sorted(set(spec) - set(DECLARATION_KEYS) - set(parameters))
    require(not unknown, f"method.{unknown[0] if unknown else ''} is not a knob of method {name}; "
                         f"allowed: {', '.join(parameters)}")
    applies_to = spec.get("applies_to") or {}
    unknown = sorted(set(applies_to) - {"kinds", "reason"}) + sorted(set(applies_to.get("kinds") or []) - set(KINDS))
    require(not unknown, f"method {name}: applies_to {unknown[0] if unknown else ''} is unknown; allowed: "
                         f"applies_to: {{kinds: [{', '.join(KINDS)}], reason: ...}}")
    entry = domain_entry(spec, domain)
    unknown = sorted(set(entry) - set(ENTRY_KEYS) - set(parameters))
    require(not unknown, f"per_domain.{domain}.{unknown[0] if unknown else ''} of method {name} is not a "
                         f"knob; allowed: {', '.join([*parameters, *ENTRY_KEYS])}")
    for knob, values in (entry.get("tune") or {}).items():
        require(len(values) <= MAX_CANDIDATES, f"per_domain.{domain}.tune.{knob} of method {name} lists "
                                               f"{len(values)} values; allowed: at most {MAX_CANDIDATES}")
    knobs, given = {}, []
    for knob, parameter in parameters.items():
        top, local = spec.get(knob), entry.get(knob)
        if knob == "optim":  # keyword by keyword: a recipe may set one and keep the domain's others
            top, local = dict(top or {}), dict(local or {})
            value = {**local, **top} or None
            given += [f"optim.{k}" for k in top if k in local and top[k] != local[k]]
            unset = [k for k, v in (value or {}).items() if v is None]
            require(not unset, missing_knob_message(name, f"optim.{unset[0] if unset else ''}", domain, entry))
        else:
            value = top if top is not None else local
            given += [knob] if top is not None and knob in entry and top != local else []
        if value is not None:
            knobs[knob] = value
        else:
            require(parameter.default is not inspect.Parameter.empty, missing_knob_message(name, knob, domain, entry))
    settings = MethodSettings(name=name, domain=domain, knobs=knobs, source=str(entry.get("source") or ""),
                              tuned=bool(entry.get("tuned", False)), baseline=str(spec.get("baseline") or "baseline"),
                              given=given, not_applicable=not_applicable(spec))
    return cls, settings


def build_method(method_cfg: DictConfig | Mapping[str, Any], domain: str) -> Method:
    """The run's method on its domain (the task's name), with `settings` for the record."""
    spec = OmegaConf.to_container(method_cfg, resolve=True) if isinstance(method_cfg, DictConfig) else dict(method_cfg)
    cls, settings = resolve(spec, domain)
    method = cls(**settings.knobs)
    method.settings = settings
    return method
