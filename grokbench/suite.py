"""`grokbench suite NAME [--seeds 0,1] [--out DIR] [--data DIR] [--dry-run] [OVERRIDES]`: run a suite.

A suite is `conf/suite/<NAME>.yaml`: `overrides` for every run and named `sweeps`, each a list
of experiments and seeds run as one Hydra multirun (`experiment=a,b seed=0,1,2`) into
`<out>/<recipe>/seed<k>` (default out: results/records). A sweep with `methods` also sweeps
`method=m1,m2` into `<out>/<recipe>_<method>/seed<k>`. The split varies with the seed: every
run gets `task.split_seed=${seed}` unless its sweep says `fixed_split: true` (then the split is
the recipe's). With `--data DIR` a sweep's `source`
points its task at local files (++task.source=DIR/<source>). Overrides on the command line go to
every run: `launcher=joblib workers=4` runs in parallel on this machine (torch threads default
to cores / workers), `launcher=slurm hydra.launcher.partition=gpu` submits to SLURM.
Afterwards the suite reads the records it expected and exits 1 if any is missing or failed.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from grokbench.board.formatting import fmt_float, fmt_steps, markdown
from grokbench.cli import CONF_DIR, options
from grokbench.errors import require
from grokbench.record import RECORD_NAME, read_record

DEFAULT_OUT = "results/records"
DEFAULT_WORKERS = {"joblib": 2}  # conf/launcher/joblib.yaml's `workers`


def load_suite(name: str) -> DictConfig:
    suites = options("suite")
    require(name in suites, f"unknown suite {name!r}; available: {', '.join(suites)}")
    suite = OmegaConf.load(CONF_DIR / "suite" / f"{name}.yaml")
    known = set(options("experiment"))
    wanted = [e for sweep in suite.sweeps.values() for e in sweep.experiments]
    missing = [e for e in wanted if e not in known]
    require(not missing, f"suite {name} lists unknown experiments {', '.join(missing)}; "
                         f"available: {', '.join(sorted(known))}")
    return suite


def _value(overrides: list[str], key: str) -> str | None:
    found = [o.split("=", 1)[1] for o in overrides if o.lstrip("+").startswith(f"{key}=")]
    return found[-1] if found else None


def default_threads(overrides: list[str]) -> list[str]:
    """Torch threads per run: the cores divided among parallel workers, unless given."""
    launcher = _value(overrides, "launcher")
    if _value(overrides, "threads") is not None or launcher == "slurm":
        return []  # given, or set per SLURM task by conf/launcher/slurm.yaml
    workers = int(_value(overrides, "workers") or DEFAULT_WORKERS.get(launcher, 1))
    return [f"threads={max(1, (os.cpu_count() or 1) // workers)}"]


def split_seed(sweep: DictConfig) -> list[str]:
    """Statistics over seeds need the split to vary too (DESIGN.md, Statistics): each run's
    split seed is its seed, unless the sweep fixes the split. Every task takes `split_seed`
    (algorithmic: the pair split; MNIST/CIFAR-10/IMDb/QM9: their subset draws)."""
    return [] if sweep.get("fixed_split", False) else ["task.split_seed=${seed}"]


def sweep_commands(suite: DictConfig, out: str, seeds: list[int] | None,
                   overrides: list[str], data: str | None = None) -> list[list[str]]:
    commands = []
    for sweep in suite.sweeps.values():
        sweep_seeds = seeds if seeds is not None else list(sweep.seeds)
        source = [f"++task.source={Path(data) / sweep.source}"] if data and sweep.get("source") else []
        methods = [f"method={','.join(sweep.methods)}"] if sweep.get("methods") else []
        subdir = "${name}_${method.name}/seed${seed}" if methods else "${name}/seed${seed}"
        commands.append([
            sys.executable, "-m", "grokbench.cli", "run", "-m",
            f"experiment={','.join(sweep.experiments)}", *methods,
            f"seed={','.join(map(str, sweep_seeds))}", *split_seed(sweep),
            f"hydra.sweep.dir={out}", f"hydra.sweep.subdir={subdir}",
            *suite.get("overrides", []), *source, *default_threads(overrides), *overrides])
    return commands


def expected_runs(suite: DictConfig, seeds: list[int] | None) -> list[tuple[str, int]]:
    """(run directory name, seed) of every run: `<recipe>` or, in method sweeps, `<recipe>_<method>`."""
    return [(f"{e}_{m}" if m else e, s) for sweep in suite.sweeps.values()
            for e in sweep.experiments for m in sweep.get("methods") or [None]
            for s in (seeds if seeds is not None else sweep.seeds)]


def report(out: Path, runs: list[tuple[str, int]]) -> int:
    rows, bad = [], 0
    for recipe, seed in runs:
        path = out / recipe / f"seed{seed}" / RECORD_NAME
        record = read_record(path) if path.exists() else {}
        status = record.get("status", "missing")
        bad += status in ("missing", "failed")
        rows.append({"recipe": recipe, "seed": str(seed), "status": status,
                     "verdict": str(record.get("verdict")), "generalized step":
                     fmt_steps(record.get("generalized_step")),
                     "wall s": fmt_float(record.get("wall_seconds"))})
    print(markdown(rows))
    return 1 if bad else 0


def parse(args: list[str]) -> tuple[str, dict, list[str]]:
    require(bool(args) and not args[0].startswith("-"),
            f"grokbench suite needs a suite name; available: {', '.join(options('suite'))}")
    name, overrides, rest = args[0], [], args[1:]
    flags = {"out": DEFAULT_OUT, "seeds": None, "data": None, "dry_run": False}
    while rest:
        arg = rest.pop(0)
        if arg in ("--out", "--seeds", "--data"):
            require(bool(rest), f"{arg} needs a value")
            flags[arg[2:]] = rest.pop(0)
        elif arg == "--dry-run":
            flags["dry_run"] = True
        else:
            require(not arg.startswith("-"), f"unknown option {arg}; allowed: --out, --seeds, --data, --dry-run")
            overrides.append(arg)
    if flags["seeds"] is not None:
        try:
            flags["seeds"] = [int(s) for s in flags["seeds"].split(",")]
        except ValueError:
            require(False, f"--seeds {flags['seeds']} is invalid; allowed: comma-separated integers")
    return name, flags, overrides


def suite_command(args: list[str]) -> int:
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    name, flags, overrides = parse(args)
    suite = load_suite(name)
    commands = sweep_commands(suite, flags["out"], flags["seeds"], overrides, flags["data"])
    for command in commands:
        print(f"$ {shlex.join(['grokbench', *command[3:]])}", flush=True)
    if flags["dry_run"]:
        return 0
    started = time.perf_counter()
    for command in commands:
        subprocess.run(command, check=False)  # failures are read from the records below
    print(f"\nsuite {name}: {time.perf_counter() - started:.0f} s wall")
    return report(Path(flags["out"]), expected_runs(suite, flags["seeds"]))
