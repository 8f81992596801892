"""What do the progress measures cost a run? Wall-time ratio of a run with them to the same run
without, and their share of a whole run at the recipe's own evaluation schedule.

Each round trains the recipe twice for `--steps` steps with its own evaluation schedule, once
with `+measures=[...]` and once without, in alternating order, in one process, so machine load
hits both alike; the ratio is the median over rounds of (fit seconds with) / (fit seconds
without). The record's per-measure seconds give the cost of one evaluation point; multiplied by
the number of evaluation points of the recipe's full budget (the schedule of
callbacks/schedule.py) and divided by the full run's time estimated from the short runs, that is
the share of a whole run (a short run of a log-spaced recipe evaluates far more densely than
its whole run does).

    python benchmarks/measures_overhead.py experiment=default
    python benchmarks/measures_overhead.py --steps 500 --rounds 3 experiment=quick_mnist task.source=DIR
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import torch

from grokbench.callbacks.schedule import evaluation_interval
from grokbench.config import compose_config
from grokbench.run import train

DEFAULT_MEASURES = "weight_norm,logit_scale,effective_rank,activation_sparsity,compressed_size," \
                   "fourier_sparsity,key_frequency_loss"


def evaluation_points(max_steps: int, every: int, log_spaced: bool, max_every: int | None) -> int:
    step, points = 0, 0
    while step < max_steps:
        step += evaluation_interval(step, every, log_spaced, max_steps, max_every)
        points += 1
    return points


def one_run(overrides: list[str], steps: int, threads: int, measures: str | None) -> dict:
    extra = [f"trainer.max_steps={steps}", f"threads={threads}", "detector.stop_after_steps=null"]
    extra += [f"+measures=[{measures}]"] if measures else []
    with tempfile.TemporaryDirectory() as run_dir:
        record = train(compose_config([*overrides, *extra], Path(run_dir) / "run"))
    assert record["status"] == "completed", record["error"]
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--measures", default=DEFAULT_MEASURES)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    full = compose_config(args.overrides)
    ratios, per_evaluation, plain_seconds, evaluations = [], {}, [], 0
    for round_ in range(args.rounds):
        order = [args.measures, None] if round_ % 2 == 0 else [None, args.measures]
        fits = {}
        for measures in order:
            record = one_run(args.overrides, args.steps, args.threads, measures)
            fits[measures is not None] = record["fit_seconds"]
            if measures:
                for name, m in record["measures"].items():
                    per_evaluation.setdefault(name, []).append(m["seconds"] / max(1, m["evaluations"]))
                    evaluations = m["evaluations"]
                skipped = record["measures_skipped"]
        ratios.append(fits[True] / fits[False])
        plain_seconds.append(fits[False])
    cost = {name: statistics.median(v) for name, v in per_evaluation.items()}
    full_points = evaluation_points(int(full.trainer.max_steps), int(full.eval.every), bool(full.eval.log_spaced),
                                    full.eval.get("max_every"))
    # the short run's time per step (training and its evaluations) stands in for the whole run's
    seconds_per_step = statistics.median(plain_seconds) / args.steps
    full_seconds = seconds_per_step * int(full.trainer.max_steps)
    share = sum(cost.values()) * full_points / full_seconds
    print(f"recipe {full.get('name')}: {args.rounds} rounds of {args.steps} steps ({evaluations} evaluations), "
          f"torch threads {torch.get_num_threads()}")
    print(f"  wall-time ratio with/without measures (median of rounds): {statistics.median(ratios):.3f} "
          f"(rounds: {', '.join(f'{r:.3f}' for r in ratios)})")
    for name, seconds in sorted(cost.items(), key=lambda item: -item[1]):
        print(f"  {name:22} {1000 * seconds:8.2f} ms per evaluation")
    for name, reason in skipped.items():
        print(f"  {name:22} skipped: {reason}")
    print(f"  whole run: {full_points} evaluations over {int(full.trainer.max_steps):,} steps "
          f"(~{full_seconds:.0f} s): measures {100 * share:.2f}% of its time")


if __name__ == "__main__":
    main()
