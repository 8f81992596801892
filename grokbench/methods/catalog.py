"""The methods there are, read from conf/method/ (no list of them anywhere else): which apply
to a domain (the kinds each declares, per-domain skips), how each domain's settings were
obtained, and what the tuning suite sweeps. The contract: grokbench/methods/base.py."""

from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from grokbench.config import CONF_DIR
from grokbench.methods import base

BASELINE = "baseline"


def method_names(include_baseline: bool = False) -> list[str]:
    names = sorted(p.stem for p in (CONF_DIR / "method").glob("*.yaml"))
    return names if include_baseline else [n for n in names if n != BASELINE]


def declaration(name: str) -> dict[str, Any]:
    return OmegaConf.to_container(OmegaConf.load(CONF_DIR / "method" / f"{name}.yaml"))


def declared_for(name: str, domain: str) -> dict[str, Any] | None:
    """The method's entry for a domain as declared (a `skip` included): its per-domain entry,
    else its `elsewhere` entry; None for a domain it does not cover."""
    return base.declared_entry(declaration(name), domain)


def entry(name: str, domain: str) -> dict[str, Any] | None:
    """A method's entry for a domain; None when it does not apply there."""
    found = declared_for(name, domain)
    return None if found is None or found.get("skip") else found


def not_applicable(name: str) -> dict[str, str]:
    """Domain -> why the method does not apply there (what its run records carry); {} for a method
    no longer declared."""
    if not (CONF_DIR / "method" / f"{name}.yaml").is_file():
        return {}
    return base.not_applicable(declaration(name))


def applies(name: str, domain: str) -> bool:
    return entry(name, domain) is not None


def tuning_plan(name: str, domain: str) -> dict[str, list]:
    """The knobs a sweep picks for this method on this domain, with their candidates."""
    found = entry(name, domain) or {}
    return {knob: list(values) for knob, values in (found.get("tune") or {}).items()}


def status(name: str, domain: str) -> str:
    """`published` (from a paper, its code or its authors), `tuned`, `to tune` (a tuned knob
    not yet picked), `n/a` (the method does not apply), for `grokbench ls`."""
    found = entry(name, domain)
    if found is None:
        return "n/a"
    if not found.get("tuned"):
        return "published"
    return "to tune" if pending(name, domain) else "tuned"


def knob_value(settings: dict[str, Any], knob: str) -> Any:
    """A knob by its path (`lamb`, `optim.weight_decay`) in a declaration, entry or record."""
    value: Any = settings
    for key in knob.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def pending(name: str, domain: str) -> list[str]:
    """The knobs a domain entry leaves null (a pick not yet written in) and the file sets nowhere else."""
    spec, found = declaration(name), entry(name, domain) or {}
    paths = [k for k in found if k not in ("source", "tuned", "tune", "skip") and k != "optim"]
    paths += [f"optim.{k}" for k in found.get("optim") or {}]
    return [k for k in paths if knob_value(found, k) is None and knob_value(spec, k) is None]
