"""`grokbench forecast [RUN_DIRS ...] [--hold-out recipe|domain] [--cut F] [--run RUN_DIR]`.

Without --run: scores the predictors leave-one-out on the records under RUN_DIRS (default
results/records) and prints the tables the board shows. With --run: one run's forecast at its
cut, the predictors calibrated on every other recipe's runs under RUN_DIRS.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from grokbench.board import load_runs
from grokbench.board.forecast_section import forecast_markdown
from grokbench.board.formatting import fmt_steps
from grokbench.errors import GrokbenchError, require
from grokbench.forecast.history import CUT_FACTOR, SCORED, histories, history_of
from grokbench.forecast.predictors import PREDICTORS
from grokbench.forecast.score import HOLD_OUT, score_leave_out
from grokbench.record import RECORD_NAME

DEFAULT_RUNS = "results/records"


def run_lines(run_dir: Path, run_dirs: list[str], factor: float, hold_out: str) -> list[str]:
    require((run_dir / RECORD_NAME).is_file(), f"{run_dir} holds no {RECORD_NAME}; allowed: a run directory")
    runs = load_runs([*run_dirs, run_dir]).drop_duplicates("path")
    mine = runs[[Path(p).resolve() == (run_dir / RECORD_NAME).resolve() for p in runs["path"]]].iloc[0]
    run = history_of(mine, factor)
    head = f"{run.recipe} seed {run.seed}: "
    if run.state != SCORED:
        return [head + f"no forecast ({run.state})"]
    key = HOLD_OUT[hold_out]
    training = [h for h in histories(runs, factor) if h.state == SCORED and key(h) != key(run)]
    lines = [head + f"memorized at {fmt_steps(run.memorized)}, cut at {fmt_steps(run.cut)}, budget "
             f"{fmt_steps(run.budget)}; calibrated on {len(training)} runs of other {hold_out}s"]
    for p in PREDICTORS:
        said = p.predict(p.fit(training), run)
        what = (f"no prediction ({said.abstained})" if said.abstained else "never" if said.step is None else
                f"G = 0.9 at {fmt_steps(said.step)}" + ("" if said.reaches(run.budget) else " (past the budget)"))
        lines.append(f"  {p.name}: {what}")
    actual = fmt_steps(run.generalized) if run.reached else "never within the budget"
    return [*lines, f"  actual: {actual}"]


def forecast_command(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grokbench forecast", description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="*", default=[DEFAULT_RUNS],
                        help=f"directories searched for record.json (default {DEFAULT_RUNS})")
    parser.add_argument("--hold-out", choices=sorted(HOLD_OUT), default="recipe",
                        help="what one fold holds out (default recipe)")
    parser.add_argument("--cut", type=float, default=CUT_FACTOR,
                        help=f"cut at the first evaluation >= this x the memorization step (default {CUT_FACTOR})")
    parser.add_argument("--run", help="forecast this one run instead of scoring all")
    options = parser.parse_args(args)
    require(options.cut >= 1, f"--cut {options.cut} is invalid; allowed: a number >= 1 (a multiple of t_mem)")
    for directory in [*options.run_dirs, *([options.run] if options.run else [])]:
        if not Path(directory).exists():
            raise GrokbenchError(f"run directory {directory} does not exist; allowed: existing directories")
    if options.run:
        print("\n".join(run_lines(Path(options.run), options.run_dirs, options.cut, options.hold_out)))
        return 0
    hists = histories(load_runs(options.run_dirs), options.cut)
    scored = score_leave_out(hists, options.hold_out)
    require(bool(scored), f"no run under {', '.join(options.run_dirs)} memorized and was still below G = 0.9 "
                          "at its cut; allowed: records of recipe runs (main or control)")
    print(forecast_markdown(hists, {options.hold_out: scored}, None))
    return 0
