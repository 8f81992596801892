"""The `grokbench` command: run, ls (and the board/suite/compare commands as they land)."""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from grokbench.config import CONF_DIR, options, recipe_rule, sweep_recipe_keys
from grokbench.errors import GrokbenchError
from grokbench.preflight import CHECKED_GROUPS, preflight

USAGE = """usage: grokbench COMMAND [ARGS]

commands:
  run [OVERRIDES]   train one experiment (Hydra overrides; -m for a sweep); run --help for options
  ls                list tasks, models, optimizers, methods, experiments and progress measures
  suite NAME        run a suite of recipes (conf/suite/NAME.yaml) over seeds; suite --help
  board [DIRS]      leaderboard from run records -> results/README.md, leaderboard.csv, figures
  profile RUN_DIR   one run's final profile against its control, and how it moves over the levels
  forecast [DIRS]   score grokking forecasts leave-one-recipe-out (--run RUN_DIR: one run's forecast)
  compare OLD NEW   exit 1 when grok rate or KM median steps regress from OLD to NEW (see compare --help)
"""

MULTIRUN_FLAGS = ("-m", "--multirun")
INFO_FLAGS = ("-h", "--help", "--hydra-help", "--info", "-i", "--cfg", "-c", "--resolve", "-p", "--package")
VALUE_FLAGS = ("--cfg", "-c", "--package", "-p", "--config-path", "-cp", "--config-name", "-cn",
               "--config-dir", "-cd", "--experimental-rerun")  # Hydra flags followed by a value


_failed_runs: list[str] = []  # run dirs of the failed runs of this process


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def hydra_run(cfg: DictConfig) -> None:
    from grokbench.callbacks.interrupt import exit_code
    from grokbench.run import summary_line, train  # heavy imports only when a run starts

    try:
        record = train(cfg)
    except GrokbenchError as error:  # no record: the run directory is unusable or another run's
        print(f"error: {error}", file=sys.stderr)
        _failed_runs.append(str(cfg.run_dir))
        return
    line = summary_line(record)
    if record["status"] == "failed":
        print(f"error: {record['error']}  (record: {cfg.run_dir}/record.json)", file=sys.stderr)
        _failed_runs.append(str(cfg.run_dir))
        if record.get("interrupted"):  # stop here, the rest of a sweep too
            raise SystemExit(exit_code(record["interrupted"]))
        return
    print(line)
    if record["steps_per_second"]:
        print(f"{record['steps']:,} steps in {record['wall_seconds']:.1f} s "
              f"({record['steps_per_second']:.0f} steps/s) -> {cfg.run_dir}")


def split_args(args: list[str]) -> tuple[list[str], list[str]]:
    """(Hydra's flags with their values, the overrides)."""
    flags, overrides, rest = [], [], list(args)
    while rest:
        arg = rest.pop(0)
        if arg.startswith("-"):
            flags.append(arg)
            if arg in VALUE_FLAGS and rest:
                flags.append(rest.pop(0))
        else:
            overrides.append(arg)
    return flags, overrides


def run_command(args: list[str]) -> int:
    from grokbench import multirun

    flags, overrides = split_args(args)
    overrides = recipe_rule(overrides)
    multi = any(f in MULTIRUN_FLAGS for f in flags)
    if not any(f in INFO_FLAGS for f in flags):  # --help, --cfg job: show, do not run
        preflight(overrides, multi)
    if multi:
        overrides = sweep_recipe_keys(overrides)
    _failed_runs.clear()
    multirun.started.clear()
    argv = sys.argv
    sys.argv = ["grokbench run", *flags, *overrides]  # what hydra.main parses
    try:
        hydra_run()
    finally:
        sys.argv = argv
    failed = multirun.report_failures() if multi else False  # the records of the sweep's runs
    return 1 if failed or _failed_runs else 0


def ls_command(args: list[str]) -> int:
    from grokbench.catalog import domains as catalog_domains
    from grokbench.measures.catalog import listing
    from grokbench.methods.catalog import method_names, status

    for group in CHECKED_GROUPS:
        print(f"{group if group.endswith('s') else group + 's':12} {', '.join(options(group))}")
    print("\ndomains (a run's domain is its task's name), in board order: kind, default model")
    for d in catalog_domains():
        print(f"  {d.name}: {d.kind}, model={d.default_model}")
    domains = [d.name for d in catalog_domains()]
    print("\nmethod settings per domain (published: from its paper or authors; tuned: picked by "
          "`grokbench suite method_tuning`; to tune: not yet picked; n/a: does not apply)")
    width = max(map(len, method_names())) + 2
    print((" " * (width + 2) + "".join(f"{d:11}" for d in domains)).rstrip())
    for name in method_names():
        print(f"  {name:{width}}" + "".join(f"{status(name, d):11}" for d in domains).rstrip())
    print("\nprogress measures (grokbench run +measures=[a,b]; one that does not apply to a run is "
          "skipped with one line): which way is progress, cost, what each applies to")
    print("\n".join(listing()))
    return 0


def _lazy(module: str, name: str):
    """A command whose module (pandas, matplotlib) is imported only when it runs."""
    def command(args: list[str]) -> int:
        import importlib

        return getattr(importlib.import_module(module), name)(args)
    return command


COMMANDS = {"run": run_command, "ls": ls_command, "suite": _lazy("grokbench.suite", "suite_command"),
            "board": _lazy("grokbench.board", "board_command"),
            "compare": _lazy("grokbench.board.compare", "compare_command"),
            "profile": _lazy("grokbench.board.one_run", "profile_command"),
            "forecast": _lazy("grokbench.board.forecast_command", "forecast_command")}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command, args = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"error: unknown command {command!r}; available: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    try:
        return COMMANDS[command](args)
    except GrokbenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # outside a run (a run stops itself: grokbench/callbacks/interrupt.py)
        print("error: interrupted (SIGINT) outside a run; runs already started say in their records what they kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
