"""The `grokbench` command: run, ls (and the board/suite/compare commands as they land)."""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from grokbench.config import CONF_DIR
from grokbench.errors import GrokbenchError

CHECKED_GROUPS = ("task", "model", "optim", "method", "experiment", "launcher")
USAGE = """usage: grokbench COMMAND [ARGS]

commands:
  run [OVERRIDES]   train one experiment (Hydra overrides; -m for a sweep); run --help for options
  ls                list tasks, models, optimizers, methods and experiments
  suite NAME        run a suite of recipes (conf/suite/NAME.yaml) over seeds; suite --help
  board [DIRS]      leaderboard from run records -> results/README.md, leaderboard.csv, figures
  compare OLD NEW   exit 1 when grok rate or KM median steps regress from OLD to NEW (see compare --help)
"""

_failed_runs: list[str] = []


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def check_choices(overrides: list[str]) -> None:
    """Unknown group options fail here in one line, before Hydra's multi-line message."""
    for override in overrides:
        key, sep, value = override.lstrip("+~").partition("=")
        if not sep or key not in CHECKED_GROUPS or value in ("", "null"):
            continue
        allowed = options(key)
        for choice in value.split(","):
            if choice not in allowed:
                raise GrokbenchError(f"unknown {key} {choice!r}; available: {', '.join(allowed)}")


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def hydra_run(cfg: DictConfig) -> None:
    from grokbench.run import summary_line, train  # heavy imports only when a run starts

    record = train(cfg)
    line = summary_line(record)
    if record["status"] == "failed":
        print(f"error: {record['error']}  (record: {cfg.run_dir}/record.json)", file=sys.stderr)
        _failed_runs.append(cfg.run_dir)
        return
    print(line)
    if record["steps_per_second"]:
        print(f"{record['steps']:,} steps in {record['wall_seconds']:.1f} s "
              f"({record['steps_per_second']:.0f} steps/s) -> {cfg.run_dir}")


def run_command(args: list[str]) -> int:
    overrides = [a for a in args if not a.startswith("-")]
    check_choices(overrides)
    sys.argv = ["grokbench run", *args]
    hydra_run()
    return 1 if _failed_runs else 0


def ls_command(args: list[str]) -> int:
    for group in CHECKED_GROUPS:
        print(f"{group + 's':12} {', '.join(options(group))}")
    return 0


def _lazy(module: str, name: str):
    """A command whose module (pandas, matplotlib) is imported only when it runs."""
    def command(args: list[str]) -> int:
        import importlib

        return getattr(importlib.import_module(module), name)(args)
    return command


COMMANDS = {"run": run_command, "ls": ls_command, "suite": _lazy("grokbench.suite", "suite_command"),
            "board": _lazy("grokbench.board", "board_command"),
            "compare": _lazy("grokbench.board.compare", "compare_command")}


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


if __name__ == "__main__":
    sys.exit(main())
