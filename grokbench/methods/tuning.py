"""Picks of the tuned knobs, from the records of `grokbench suite method_tuning`.

Where no paper gives a method's setting for a domain, its config lists at most three values of
its main knob (`per_domain.<domain>.tune`), chosen before any result. The tuning suite runs each
on the recipe of that domain with a seed the grid does not use. The rule, fixed with the
candidates: the completed run that reached sustained G = 0.9 at the fewest steps; if none did,
the highest final progress G; ties go to the candidate listed first.

    python -m grokbench.methods.tuning [DIR]     (default results/tuning)

prints, for each method and domain, the candidates' results and the line to write into
conf/method/<method>.yaml (keep `tuned: true`; the source line names the tuning records).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from grokbench.methods.catalog import knob_value, tuning_plan
from grokbench.record import find_records, read_record

DEFAULT_DIR = "results/tuning"


def score(record: dict[str, Any]) -> tuple:
    """Smaller is better: reached G = 0.9 first, then fewer steps, then higher final G."""
    step = record.get("generalized_step")
    final = (record.get("profile") or {}).get("final_progress")
    return (step is None, step or 0, -(final if isinstance(final, (int, float)) else float("-inf")))


def pick(candidates: list, records: dict[Any, dict[str, Any]]) -> Any | None:
    """The chosen candidate among those with a completed run (None when none completed)."""
    usable = [c for c in candidates if records.get(c, {}).get("status") == "completed"]
    return min(usable, key=lambda c: (score(records[c]), candidates.index(c))) if usable else None


def tuning_runs(directory: Path) -> dict[tuple, dict[Any, dict[str, Any]]]:
    """(method, domain, recipe, knob, seed) -> {knob value: record} of the tuning records."""
    runs: dict[tuple, dict[Any, dict[str, Any]]] = defaultdict(dict)
    for path in find_records(directory):
        record = read_record(path)
        settings = record.get("method_settings") or {}
        name, domain = settings.get("name"), settings.get("domain")
        for knob in tuning_plan(name, domain) if name and domain else {}:
            value = knob_value(settings.get("knobs") or {}, knob)
            runs[(name, domain, record.get("recipe"), knob, record.get("seed"))][value] = record
    return runs


def report(directory: Path) -> list[str]:
    lines = []
    for (name, domain, recipe, knob, seed), records in sorted(tuning_runs(directory).items(), key=str):
        candidates = tuning_plan(name, domain)[knob]
        for value in candidates:
            r = records.get(value, {})
            lines.append(f"  {name} {domain} {knob}={value}: {r.get('status', 'missing')}, "
                         f"G=0.9 at {r.get('generalized_step')}, final G {(r.get('profile') or {}).get('final_progress')}")
        chosen = pick(candidates, records)
        lines.append(f"{name} / {domain}: " + (f"{knob}: {chosen}   # picked by the rule in grokbench/methods/tuning.py "
                                               f"on seed {seed} of {recipe} ({directory})" if chosen is not None
                                               else "no completed candidate run: nothing picked"))
    return lines or [f"no tuning records under {directory}"]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    print("\n".join(report(Path(argv[0] if argv else DEFAULT_DIR))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
