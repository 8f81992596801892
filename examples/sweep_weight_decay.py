"""Sweep AdamW's weight decay on the default recipe (x+y mod 97) with the Python API, then plot
from the DataFrame of the run records: held-out accuracy curves, and the steps to generalize
(G = 0.9) against the weight decay.

    python examples/sweep_weight_decay.py                      # 4 runs, a few minutes each on a CPU
    python examples/sweep_weight_decay.py --steps 200 --weight-decays 0.1 1   # a quick check

Runs go to runs/sweep_weight_decay/wd<value>/ (one record.json each); the figure next to them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write a file; no display needed
import matplotlib.pyplot as plt

import grokbench


def sweep(weight_decays: list[float], root: Path, steps: int | None, threads: int) -> None:
    for weight_decay in weight_decays:
        settings = {"optim.weight_decay": weight_decay, "threads": threads}
        if steps:
            settings["trainer.max_steps"] = steps
        record = grokbench.run_experiment(settings, run_dir=root / f"wd{weight_decay:g}")
        print(f"weight decay {weight_decay:g}: {record['status']}, {record['verdict']}, "
              f"{record['steps']} steps in {record['wall_seconds']:.0f} s")


def plot(root: Path) -> Path:
    runs = grokbench.load_records(root).sort_values("config.optim.weight_decay")
    fig, (curves, steps) = plt.subplots(1, 2, figsize=(10, 4))
    for _, run in runs.iterrows():
        points = [(row["step"], row["val/acc"]) for row in run["curve"] if "val/acc" in row]
        curves.plot(*zip(*points), label=f"wd {run['config.optim.weight_decay']:g}")
    curves.set(xscale="log", ylim=(0, 1.02), xlabel="step", ylabel="val/acc", title="held-out accuracy")
    curves.legend()
    decay, done = runs["config.optim.weight_decay"], runs["profile.generalized_step"].notna()
    steps.plot(decay[done], runs.loc[done, "profile.generalized_step"].astype(float), "o-", label="generalized")
    steps.plot(decay[~done], runs.loc[~done, "profile.last_step"].astype(float), "o", mfc="none",
               label="not generalized by its last step")
    steps.set(xscale="log", yscale="log", xlabel="weight decay", ylabel="steps to G = 0.9",
              title="steps to generalize")
    steps.legend()
    fig.tight_layout()
    path = root / "sweep_weight_decay.png"
    fig.savefig(path, dpi=120)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weight-decays", type=float, nargs="+", default=[0.1, 0.3, 1.0, 3.0])
    parser.add_argument("--steps", type=int, help="trainer.max_steps (default: the recipe's)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads per run")
    parser.add_argument("--out", default="runs/sweep_weight_decay", help="folder of the sweep's runs")
    args = parser.parse_args()
    root = Path(args.out)
    sweep(args.weight_decays, root, args.steps, args.threads)
    print(f"wrote {plot(root)}")


if __name__ == "__main__":
    main()
