"""`grokbench compare OLD NEW`: catch grokking regressions between two sets of runs.

Per configuration (task, recipe, model, method and the swept setting, board/settings.py)
present on both sides, two gates:
- grok rate: the fraction of runs that grokked may drop by at most `--rate-tolerance`
  (default 0.4, i.e. 2 of 5 seeds: with five seeds one or two flips are within what seed noise
  gives a recipe that groks half the time; three are not);
- steps to G = 0.9: the Kaplan-Meier median may grow by at most `--factor` (default 1.5); a
  median that OLD had and NEW no longer has (fewer than half the runs got there) fails too.
Configurations only in OLD are counted, not listed (a CI suite may run fewer recipes than the
committed results); those only in NEW are listed as `new`. Both sides must use the same torch
versions and torch thread counts, since either changes speed and, through numerics, curves:
otherwise the comparison stops unless `--allow-env-change`.
Exit status: 0 no regression, 1 regression, 2 bad input.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from grokbench.board import load_runs
from grokbench.board.formatting import MISSING, fmt_rate, fmt_steps, markdown
from grokbench.board.frame import present
from grokbench.board.summary import Summary, summarize
from grokbench.errors import require

KEYS = ["task", "recipe", "model", "method", "setting"]
RATE_SLACK = 1e-9  # 3/5 - 1/5 is 0.3999...: a drop of exactly the tolerance passes


def summaries_by_config(runs) -> dict[tuple, Summary]:
    return {tuple(keys): summarize(group) for keys, group in runs.groupby(KEYS, sort=False)}


def environment(runs) -> tuple[list[str], list[str]]:
    """(torch versions, torch thread counts) of a set of runs."""
    versions = sorted({str(v) for v in runs["torch_version"] if present(v)})
    threads = sorted({str(int(t)) for t in runs["torch_threads"] if present(t)})
    return versions, threads


@dataclass(frozen=True)
class Verdict:
    regression: bool
    text: str


def verdict(old: Summary, now: Summary, factor: float, rate_tolerance: float) -> Verdict:
    drop = old.grokked / old.runs - now.grokked / now.runs
    if drop > rate_tolerance + RATE_SLACK:
        return Verdict(True, f"REGRESSION: grok rate fell by {drop:.2f} (> {rate_tolerance})")
    before, after = old.generalize_step, now.generalize_step
    if before and after is None:
        return Verdict(True, "REGRESSION: fewer than half the runs reach G=0.9 now")
    if before and after and after > factor * before:
        return Verdict(True, f"REGRESSION: G=0.9 {after / before:.2f}x later (> {factor}x)")
    return Verdict(False, "ok")


def compare(old: dict[tuple, Summary], new: dict[tuple, Summary], factor: float,
            rate_tolerance: float) -> tuple[list[dict[str, str]], int]:
    """One row per configuration in NEW, with its verdict on regression; and how many regressed."""
    rows, regressions, swept = [], 0, any(dict(zip(KEYS, key))["setting"] for key in new)
    for key in sorted(new):
        before, now = old.get(key), new[key]
        checked = verdict(before, now, factor, rate_tolerance) if before else Verdict(False, "new")
        regressions += checked.regression
        rows.append({**{k: v for k, v in zip(KEYS, key) if k != "setting" or swept},
                     "grok rate before": fmt_rate(before.grokked, before.runs) if before else MISSING,
                     "grok rate now": fmt_rate(now.grokked, now.runs),
                     "steps to G=0.9 before": fmt_steps(before.generalize_step) if before else MISSING,
                     "steps to G=0.9 now": fmt_steps(now.generalize_step),
                     "status": checked.text})
    return rows, regressions


def check_environment(old_runs, new_runs, allow_change: bool) -> str:
    """The environment line; an error (unless allowed) when torch versions or threads differ."""
    (old_versions, old_threads), (new_versions, new_threads) = environment(old_runs), environment(new_runs)
    line = (f"torch OLD {', '.join(old_versions) or '?'} (threads {', '.join(old_threads) or '?'}) · "
            f"NEW {', '.join(new_versions) or '?'} (threads {', '.join(new_threads) or '?'})")
    require(allow_change or (old_versions, old_threads) == (new_versions, new_threads),
            f"the environments differ: {line}; allowed: the same torch version and threads on both sides, "
            "or --allow-env-change")
    return line


def compare_command(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grokbench compare", description=__doc__.splitlines()[0])
    parser.add_argument("old_dir", help="directory with the reference run records (e.g. results/records)")
    parser.add_argument("new_dir", help="directory with the new run records")
    parser.add_argument("--factor", type=float, default=1.5,
                        help="allowed growth of the KM median steps to G=0.9 (default 1.5)")
    parser.add_argument("--rate-tolerance", type=float, default=0.4,
                        help="allowed drop of the grok rate (default 0.4: 2 of 5 seeds)")
    parser.add_argument("--allow-env-change", action="store_true",
                        help="compare even when torch versions or thread counts differ")
    options = parser.parse_args(args)
    require(options.factor >= 1, f"--factor={options.factor} is invalid; allowed: a number >= 1")
    require(0 <= options.rate_tolerance <= 1,
            f"--rate-tolerance={options.rate_tolerance} is invalid; allowed: a number in [0, 1]")
    old_runs, new_runs = load_runs([options.old_dir]), load_runs([options.new_dir])
    print(check_environment(old_runs, new_runs, options.allow_env_change))
    old, new = summaries_by_config(old_runs), summaries_by_config(new_runs)
    rows, regressions = compare(old, new, options.factor, options.rate_tolerance)
    print(markdown(rows))
    not_run = len(set(old) - set(new))
    if not_run:
        print(f"\n{not_run} configurations not run in NEW.")
    print(f"\n{regressions} regression(s) in {len(rows)} configurations "
          f"(factor {options.factor}, rate tolerance {options.rate_tolerance}).")
    return 1 if regressions else 0
