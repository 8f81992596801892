"""`grokbench suite NAME [--sweeps a,b] [--seeds 0,1] [--out DIR] [--data DIR] [--dry-run] [OVERRIDES]`:
run a suite.

A suite is `conf/suite/<NAME>.yaml`: `overrides` for every run and named `sweeps`, each a list
of experiments and seeds run as one Hydra multirun (`experiment=a,b seed=0,1,2`) into
`<out>/<recipe>/seed<k>` (default out: the suite's `out`, else results/records). A sweep with
`methods` also sweeps `method=m1,m2` into `<out>/<recipe>_<method>/seed<k>`; `methods: all` finds
them in conf/method/ (every one but baseline that applies to the experiment's domain), so a new
method needs no edit here. A sweep with `tune: true` runs each method's tuning sweep for the
experiment's domain (`per_domain.<domain>.tune` in its config: `method.<knob>=v1,v2,v3`) into
`<out>/<recipe>_<method>_<knob><value>/seed<k>` (with `methods: [m, ...]`, only those methods'
sweeps). A sweep with a `grid` ({key: [values]}) runs every combination (`key=v1,v2` in the
multirun) into `<out>/<recipe>/<key>=<value>,.../seed<k>` (conf/suite/phase.yaml); the board
shows one row per cell. The split varies with the seed: every run gets `task.split_seed=${seed}`
unless its sweep says `fixed_split: true` (then the split is the recipe's). With `--data DIR` a
sweep's `source` points its task at local files (++task.source=DIR/<source>). Overrides on the command line go to
every run: `launcher=joblib workers=4` runs in parallel on this machine (torch threads default
to cores / workers), `launcher=slurm hydra.launcher.partition=gpu` submits to SLURM.
A sweep with `parents: <earlier sweep>` continues runs (grokbench/continuation.py): each of its runs
starts from the run of its recipe and seed in that sweep (`init_from=<out>/<recipe>/seed<k>`, which
needs `checkpoint.at_end=true` there) and lands in `<out>/<recipe>_continued/...`; a sweep's own
`overrides` go to its runs only (conf/suite/ungrok.yaml).
`--sweeps a,b` runs only those named sweeps (a long suite split into parts, e.g. the methods
grid one domain at a time). Afterwards the suite reads the records it expected and exits 1 if any
is missing or failed.
"""

from __future__ import annotations

import functools
import itertools
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from grokbench.board.formatting import fmt_float, fmt_steps, markdown
from grokbench.config import CONF_DIR, compose_config, options
from grokbench.errors import GrokbenchError, require
from grokbench.methods.catalog import applies, method_names, tuning_plan
from grokbench.record import RECORD_NAME, read_record

DEFAULT_OUT = "results/records"
CONTINUED = "_continued"  # a `parents` sweep's runs: <out>/<recipe>_continued/...
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
    listed = [m for sweep in suite.sweeps.values() if sweep.get("methods") not in (None, "all")
              for m in sweep.methods]
    unknown = [m for m in listed if m not in method_names(include_baseline=True)]
    require(not unknown, f"suite {name} lists unknown methods {', '.join(unknown)}; "
                         f"available: all, {', '.join(method_names(include_baseline=True))}")
    for sweep_name, sweep in suite.sweeps.items():
        check_parents(name, suite, sweep_name, sweep)
    return suite


def check_parents(name: str, suite: DictConfig, sweep_name: str, sweep: DictConfig) -> None:
    """A `parents` sweep names an earlier sweep that ran its experiments, one run per recipe and
    seed (no grid, methods or tuning), so `<out>/<recipe>/seed<k>` is the parent."""
    parents = sweep.get("parents")
    if parents is None:
        return
    earlier = list(suite.sweeps)[:list(suite.sweeps).index(sweep_name)]
    plain = parents in earlier and not any(suite.sweeps[parents].get(k) for k in ("grid", "methods", "tune"))
    require(plain and not any(sweep.get(k) for k in ("methods", "tune"))
            and set(sweep.experiments) <= set(suite.sweeps[parents].experiments),
            f"suite {name}: sweep {sweep_name} has parents={parents}; allowed: an earlier sweep without grid, "
            f"methods or tuning that runs its experiments ({', '.join(earlier) or 'none is earlier'}), and no "
            "methods or tuning in the continued sweep")


@functools.cache
def experiment_domain(experiment: str) -> str:
    return str(compose_config([f"experiment={experiment}"]).meta.domain)


def multiruns(sweep: DictConfig) -> list[tuple[list[str], list[str], str, list[str]]]:
    """Each Hydra multirun of a sweep: (experiments, method overrides, run subdirectory, the run
    directory names it makes for one seed)."""
    experiments, methods = list(sweep.experiments), sweep.get("methods")
    if sweep.get("tune"):
        runs = []
        listed = methods if methods not in (None, "all") else method_names()  # `methods: [m]`: only its sweeps
        for e in experiments:
            domain = experiment_domain(e)
            for m in listed:
                for knob, values in tuning_plan(m, domain).items():
                    label = knob.replace(".", "_")
                    runs.append(([e], [f"method={m}", f"++method.{knob}={','.join(map(str, values))}"],
                                 f"${{name}}_${{method.name}}_{label}${{method.{knob}}}/seed${{seed}}",
                                 [f"{e}_{m}_{label}{v}" for v in values]))
        return runs
    if methods == "all":
        found = [([e], [m for m in method_names() if applies(m, experiment_domain(e))]) for e in experiments]
    else:
        found = [(experiments, list(methods or []))]
    return [(es, [f"method={','.join(ms)}"], "${name}_${method.name}/seed${seed}", [f"{e}_{m}" for e in es for m in ms])
            if ms else (es, [], "${name}/seed${seed}", es) for es, ms in found]


def grid_cells(sweep: DictConfig) -> tuple[list[str], str, list[str]]:
    """A sweep's `grid` ({key: [values]}, every combination run): (its multirun overrides, the
    directory level it adds, that level's names: `key=value,...` as Hydra fills the values in)."""
    grid = sweep.get("grid")
    if grid is None:
        return [], "", []
    require(OmegaConf.is_dict(grid) and len(grid) and all(OmegaConf.is_list(v) and len(v) and
                                            all(isinstance(x, (int, float, str)) for x in v)
                                            for v in grid.values()),
            f"grid {OmegaConf.to_container(grid) if OmegaConf.is_config(grid) else grid} is invalid; "
            "allowed: {key: [value, ...]} with numbers or words, e.g. {optim.weight_decay: [0.01, 0.1]}")
    parser = OverridesParser.create()
    filled = [[str(parser.parse_override(f"{k}={v}").value()) for v in values] for k, values in grid.items()]
    return ([f"{k}={','.join(map(str, values))}" for k, values in grid.items()],
            ",".join(f"{k}=${{{k}}}" for k in grid),
            [",".join(f"{k}={v}" for k, v in zip(grid, cell)) for cell in itertools.product(*filled)])


def gridded_multiruns(sweep: DictConfig) -> list[tuple[list[str], list[str], str, list[str]]]:
    """multiruns(sweep) with the sweep's grid: its overrides added, one directory per grid cell
    before seed<k> (`<recipe>/<key>=<value>,.../seed<k>`; quoted, as ',' and '=' are Hydra syntax)."""
    overrides, level, cells = grid_cells(sweep)
    if not overrides:
        return multiruns(sweep)
    return [(es, [*ms, *overrides], "'" + subdir.replace("/seed${seed}", f"/{level}/seed${{seed}}") + "'",
             [f"{name}/{cell}" for name in names for cell in cells]) for es, ms, subdir, names in multiruns(sweep)]


def suite_multiruns(sweep: DictConfig, out: str = DEFAULT_OUT) -> list[tuple[list[str], list[str], str, list[str]]]:
    """gridded_multiruns(sweep); for a `parents` sweep one multirun per recipe, each run started
    from its recipe's and seed's run in `out` and written under `<recipe>_continued`."""
    runs = gridded_multiruns(sweep)
    if sweep.get("parents") is None:
        return runs
    return [([e], [*ms, f"init_from={Path(out) / e}/seed${{seed}}"], subdir.replace("${name}", e + CONTINUED),
             [e + CONTINUED + n[len(e):] for n in names if n.split("/")[0] == e])
            for es, ms, subdir, names in runs for e in es]


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
    """Statistics over seeds (grokbench/board/stats.py) need the split to vary too: each run's
    split seed is its seed, unless the sweep fixes the split. Every task takes `split_seed`
    (algorithmic: the pair split; MNIST/CIFAR-10/IMDb/QM9: their subset draws)."""
    return [] if sweep.get("fixed_split", False) else ["task.split_seed=${seed}"]


def sweep_commands(suite: DictConfig, out: str, seeds: list[int] | None,
                   overrides: list[str], data: str | None = None) -> list[list[str]]:
    commands = []
    for sweep in suite.sweeps.values():
        sweep_seeds = seeds if seeds is not None else list(sweep.seeds)
        source = [f"++task.source={Path(data) / sweep.source}"] if data and sweep.get("source") else []
        for experiments, methods, subdir, _ in suite_multiruns(sweep, out):
            commands.append([
                sys.executable, "-m", "grokbench.cli", "run", "-m",
                f"experiment={','.join(experiments)}", *methods,
                f"seed={','.join(map(str, sweep_seeds))}", *split_seed(sweep),
                f"hydra.sweep.dir={out}", f"hydra.sweep.subdir={subdir}",
                *suite.get("overrides", []), *sweep.get("overrides", []), *source, *default_threads(overrides),
                *overrides])
    return commands


def expected_runs(suite: DictConfig, seeds: list[int] | None) -> list[tuple[str, int]]:
    """(run directory name, seed) of every run: `<recipe>`, in method sweeps `<recipe>_<method>`,
    in tuning sweeps `<recipe>_<method>_<knob><value>`."""
    return [(name, s) for sweep in suite.sweeps.values() for *_, names in suite_multiruns(sweep)
            for name in names for s in (seeds if seeds is not None else sweep.seeds)]


def report(out: Path, runs: list[tuple[str, int]]) -> int:
    rows, bad = [], 0
    for recipe, seed in runs:
        path = out / recipe / f"seed{seed}" / RECORD_NAME
        try:
            record = read_record(path) if path.exists() else {}
        except GrokbenchError:
            record = {"status": "unreadable"}
        status = record.get("status", "missing")
        bad += status in ("missing", "failed", "unreadable", "running")
        rows.append({"recipe": recipe, "seed": str(seed), "status": status,
                     "verdict": str(record.get("verdict")), "generalized step":
                     fmt_steps(record.get("generalized_step")),
                     "wall s": fmt_float(record.get("wall_seconds"))})
    print(markdown(rows))
    return 1 if bad else 0


def only_sweeps(suite: DictConfig, name: str, wanted: str | None) -> DictConfig:
    """The suite with only the named sweeps (all of them when `wanted` is None)."""
    if wanted is None:
        return suite
    names = [w for w in wanted.split(",") if w]
    unknown = [w for w in names if w not in suite.sweeps]
    require(bool(names) and not unknown, f"--sweeps {wanted}: {', '.join(unknown) or 'nothing'} is not a sweep "
                                         f"of suite {name}; allowed: {', '.join(suite.sweeps)}")
    kept = OmegaConf.to_container(suite)
    kept["sweeps"] = {w: kept["sweeps"][w] for w in names}
    return OmegaConf.create(kept)


def parse(args: list[str]) -> tuple[str, dict, list[str]]:
    require(bool(args) and not args[0].startswith("-"),
            f"grokbench suite needs a suite name; available: {', '.join(options('suite'))}")
    name, overrides, rest = args[0], [], args[1:]
    flags = {"out": None, "seeds": None, "data": None, "sweeps": None, "dry_run": False}
    while rest:
        arg = rest.pop(0)
        if arg in ("--out", "--seeds", "--data", "--sweeps"):
            require(bool(rest), f"{arg} needs a value")
            flags[arg[2:]] = rest.pop(0)
        elif arg == "--dry-run":
            flags["dry_run"] = True
        else:
            require(not arg.startswith("-"), f"unknown option {arg}; allowed: --out, --seeds, --data, --sweeps, --dry-run")
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
    suite = only_sweeps(load_suite(name), name, flags["sweeps"])
    flags["out"] = flags["out"] or suite.get("out") or DEFAULT_OUT  # tuning runs stay apart from the grid's
    commands = sweep_commands(suite, flags["out"], flags["seeds"], overrides, flags["data"])
    for command in commands:
        print(f"$ {shlex.join(['grokbench', *command[3:]])}", flush=True)
    if flags["dry_run"]:  # and every run those commands make, where its record will be
        runs = expected_runs(suite, flags["seeds"])
        print(f"\n{len(runs)} runs:", *(f"  {Path(flags['out']) / name / f'seed{seed}'}" for name, seed in runs),
              sep="\n")
        return 0
    started = time.perf_counter()
    for command in commands:
        subprocess.run(command, check=False)  # failures are read from the records below
    print(f"\nsuite {name}: {time.perf_counter() - started:.0f} s wall")
    return report(Path(flags["out"]), expected_runs(suite, flags["seeds"]))
