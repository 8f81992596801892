"""`grokbench compare BASELINE_DIR NEW_DIR`: catch grokking regressions between two sets of runs.

A configuration (task, recipe, model, method) regresses when it grokked in most seeds of the
baseline (more than half) and no longer does in the new runs, or when its median steps to
generalize grew by more than `--factor`. Configurations missing from the new runs are listed
but do not fail the comparison (a CI suite may run fewer recipes than the committed results).
Exit status: 0 no regression, 1 regression, 2 bad input.
"""

from __future__ import annotations

import argparse

from grokbench import tables as t
from grokbench.board import load_runs
from grokbench.errors import require

KEYS = ["task", "recipe", "model", "method"]


def summaries_by_config(run_dir: str) -> dict[tuple, dict]:
    runs = load_runs([run_dir])
    return {tuple(keys): t.summarize(group) for keys, group in runs.groupby(KEYS, sort=False)}


def compare(baseline: dict[tuple, dict], new: dict[tuple, dict], factor: float) -> list[dict[str, str]]:
    """One row per configuration of either side, with its verdict on regression."""
    rows = []
    for key in sorted(set(baseline) | set(new)):
        old, now = baseline.get(key), new.get(key)
        status = "ok"
        if old is None:
            status = "new"
        elif now is None:
            status = "missing"
        else:
            grokked_before = old["grokked"] * 2 > old["runs"]
            if grokked_before and now["grokked"] * 2 <= now["runs"]:
                status = "REGRESSION: no longer groks in most seeds"
            elif old["generalize_step"] and now["generalize_step"] and \
                    now["generalize_step"] > factor * old["generalize_step"]:
                status = f"REGRESSION: generalizes {now['generalize_step'] / old['generalize_step']:.2f}x later"
        rows.append({**dict(zip(KEYS, key)),
                     "grokked before": f"{old['grokked']}/{old['runs']}" if old else "—",
                     "grokked now": f"{now['grokked']}/{now['runs']}" if now else "—",
                     "generalize step before": t.fmt_steps(old["generalize_step"]) if old else "—",
                     "generalize step now": t.fmt_steps(now["generalize_step"]) if now else "—",
                     "status": status})
    return rows


def compare_command(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grokbench compare", description=__doc__.splitlines()[0])
    parser.add_argument("baseline_dir", help="directory with the reference run records (e.g. results)")
    parser.add_argument("new_dir", help="directory with the new run records")
    parser.add_argument("--factor", type=float, default=1.5,
                        help="allowed growth of the median steps to generalize (default 1.5)")
    options = parser.parse_args(args)
    require(options.factor >= 1, f"--factor={options.factor} is invalid; allowed: a number >= 1")
    rows = compare(summaries_by_config(options.baseline_dir), summaries_by_config(options.new_dir),
                   options.factor)
    print(t.markdown(rows))
    regressions = [r for r in rows if r["status"].startswith("REGRESSION")]
    print(f"\n{len(regressions)} regression(s) in {len(rows)} configurations (factor {options.factor}).")
    return 1 if regressions else 0
