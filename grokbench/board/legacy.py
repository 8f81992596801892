"""Facts older records did not write, filled in the one place that knows how; every newer record
carries them itself, and the board reads nothing else but records.

- Schema-2 records wrote neither the held-out size nor the noise model the profile reads: their
  n is the held-out set's (or, for the adversarial metric, the attacked subset's: `num_examples`
  of the run's callbacks, the only held-out subset schema-2 runs evaluated), and their noise model
  is their task kind's (grokbench/kinds.py), the kind the catalog declares for their domain.
- Records before the catalog did not write where their method does not apply
  (`method_settings.not_applicable`): filled from the method catalog as it declares it now.
"""

from __future__ import annotations

import copy
from typing import Any

from grokbench.catalog import domain, domain_names
from grokbench.kinds import NOISE_OF_KIND


def legacy_fill(record: dict[str, Any]) -> dict[str, Any]:
    """The record with the facts it predates filled in (a copy; the record itself is untouched)."""
    if not record:
        return record
    record = copy.copy(record)
    fill_profile_facts(record)
    fill_not_applicable(record)
    return record


def fill_profile_facts(record: dict[str, Any]) -> None:
    detector = dict(record.get("detector") or {})
    settings = dict(detector.get("settings") or {})
    if settings.get("heldout_size") is None and record.get("num_val"):
        subsets = [c.get("num_examples") for c in ((record.get("config") or {}).get("callbacks") or {}).values()
                   if isinstance(c, dict) and c.get("num_examples")]
        settings["heldout_size"] = min([int(record["num_val"]), *map(int, subsets)])
    kind = domain_kind(record)
    if settings.get("noise") is None and settings.get("train_metric") and kind in NOISE_OF_KIND:
        settings["noise"] = NOISE_OF_KIND[kind]
    if settings:
        record["detector"] = {**detector, "settings": settings}


def domain_kind(record: dict[str, Any]) -> str | None:
    """The kind the catalog declares for the record's task (None for a task it does not know)."""
    task = record.get("task")
    return domain(task).kind if task in domain_names() else None


def fill_not_applicable(record: dict[str, Any]) -> None:
    settings = record.get("method_settings")
    if settings and "not_applicable" not in settings:
        from grokbench.methods.catalog import not_applicable

        record["method_settings"] = {**settings, "not_applicable": not_applicable(str(settings.get("name")))}
