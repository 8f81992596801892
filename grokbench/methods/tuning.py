"""Picks of the tuned knobs, from the records of `grokbench suite method_tuning`, scored on the
scale the board reports the methods grid on.

Where no paper gives a method's setting for a domain, its config lists at most three values of
its main knob (`per_domain.<domain>.tune`), chosen before any result. The tuning suite runs each
on the recipe of that domain with a seed the grid does not use (100). The rule, fixed with the
candidates: the completed run that reached sustained G = 0.9 and held it to the end at the
fewest steps; if none did, the highest final progress G; ties go to the candidate listed first.

G is the board's: every tuning run's profile is recomputed from its curve by the board's one
function (grokbench.board.reference.apply_control_references) with the profile's current levels,
against the level the board's records set for its recipe (on inexact tasks the control's
converged held-out level, not the perfect score the run used at run time), and a run that fell
back below G = 0.9 (`ungrokked`) has not reached it (grokbench.board.stats.held), as in the grid.

    python -m grokbench.methods.tuning [DIR] [--board RECORDS]   (default results/tuning, results/records)

prints, for each method and domain, the candidates' results and the line to write into
conf/method/<method>.yaml (keep `tuned: true`; the source line names the tuning records), and
whether conf/method already says so. results/tuning/picks.txt is this output.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd

from grokbench.board.frame import load_records, number, runs_frame
from grokbench.board.reference import apply_control_references
from grokbench.board.stats import FELL_BACK, held
from grokbench.errors import GrokbenchError
from grokbench.methods.catalog import entry, knob_value, tuning_plan

DEFAULT_DIR = "results/tuning"
DEFAULT_BOARD = "results/records"


def score(run: dict[str, Any]) -> tuple:
    """Smaller is better: held G = 0.9 first, then fewer steps, then higher final G."""
    step, final = number(run.get("profile.generalized_step")), number(run.get("profile.final_progress"))
    reached = held(step, run.get("profile.verdict"))
    return (not reached, step if reached else 0, -(final if final is not None else float("-inf")))


def pick(candidates: list, runs: dict[Any, dict[str, Any]]) -> Any | None:
    """The chosen candidate among those with a completed run (None when none completed)."""
    usable = [c for c in candidates if runs.get(c, {}).get("status") == "completed"]
    return min(usable, key=lambda c: (score(runs[c]), candidates.index(c))) if usable else None


def rescored(directory: Path, board: Path) -> pd.DataFrame:
    """The tuning runs under `directory` with profiles on the board's scale (module docstring)."""
    return apply_control_references(runs_frame(load_records([board])), runs_frame(load_records([directory])))


def tuning_runs(runs: pd.DataFrame) -> dict[tuple, dict[Any, dict[str, Any]]]:
    """(method, domain, recipe, knob, seed) -> {knob value: run} of the tuning runs."""
    found: dict[tuple, dict[Any, dict[str, Any]]] = defaultdict(dict)
    for run in runs.to_dict("records"):
        settings = run.get("method_settings") or {}
        name, domain = settings.get("name"), settings.get("domain")
        for knob in tuning_plan(name, domain) if name and domain else {}:
            value = knob_value(settings.get("knobs") or {}, knob)
            found[(name, domain, run.get("recipe"), knob, run.get("seed"))][value] = run
    return found


def fmt(value: Any, digits: int = 3) -> str:
    value = number(value)
    return "—" if value is None else f"{value:,.0f}" if abs(value) >= 100 else f"{value:.{digits}g}"


def candidate_line(name: str, domain: str, knob: str, value: Any, run: dict[str, Any]) -> str:
    if not run:
        return f"  {name} {domain} {knob}={value}: missing"
    verdict, step = run.get("profile.verdict"), run.get("profile.generalized_step")
    reached = (f"held G=0.9 from step {fmt(step)}" if held(step, verdict) else
               f"G=0.9 at {fmt(step)}, fell back" if verdict == FELL_BACK else "never G=0.9")
    return (f"  {name} {domain} {knob}={value}: {run.get('status')}, {verdict}, {reached}, final G "
            f"{fmt(run.get('profile.final_progress'))}, G at memorization {fmt(run.get('profile.progress_at_memorization'))}")


def report(directory: Path, board: Path) -> list[str]:
    runs = rescored(directory, board)
    lines = [(f"# python -m grokbench.methods.tuning {directory} --board {board}: tuning runs scored on the "
              "board's scale (grokbench/methods/tuning.py)")]
    for (name, domain, recipe, knob, seed), found in sorted(tuning_runs(runs).items(), key=str):
        candidates = tuning_plan(name, domain)[knob]
        notes = sorted({str(r.get("reference_note")) for r in found.values() if isinstance(r.get("reference_note"), str)})
        lines.append(f"{name} / {domain} on seed {seed} of {recipe}; G against "
                     f"{'; '.join(notes) if notes else 'the exact reference'}")
        lines += [candidate_line(name, domain, knob, value, found.get(value, {})) for value in candidates]
        chosen = pick(candidates, found)
        if chosen is None:
            lines.append(f"{name} / {domain}: no completed candidate run: nothing picked")
            continue
        commits = sorted({str(r.get("git_commit"))[:7] for r in found.values()})
        written = knob_value(entry(name, domain) or {}, knob)
        lines.append(f"{name} / {domain}: {knob}: {chosen}   # picked by the rule in grokbench/methods/tuning.py "
                     f"on seed {seed} of {recipe} (records at {', '.join(commits)}); conf/method: "
                     + ("the same" if written == chosen else f"{written}, differs"))
    return lines if len(lines) > 1 else [f"no tuning records under {directory}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grokbench.methods.tuning", description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", default=DEFAULT_DIR, help=f"tuning records (default {DEFAULT_DIR})")
    parser.add_argument("--board", default=DEFAULT_BOARD,
                        help=f"the records whose levels set the scale (default {DEFAULT_BOARD})")
    options = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        print("\n".join(report(Path(options.directory), Path(options.board))))
    except GrokbenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
