"""A run's setting: the launch overrides that tell it apart from the other runs of its recipe.

A sweep launches one recipe many times with different overrides (`optim.weight_decay=0.01,0.1`);
the board must show one row per setting, not one row per recipe. A run's setting is every
override key that takes more than one value among the runs of its recipe, minus bookkeeping
keys that do not change what is learned (seeds, where data and logs live, threads, launcher).
A run launched without one of those keys gets the value it ran with from its resolved config,
so a plain `experiment=R` run joins the sweep cell with the same values. `--group-by` names the
keys instead. Values are compared as Hydra parses them (`0.1`, `1e-1` and `0.10` are one value).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache, lru_cache
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException

from grokbench.errors import require

# Keys that never split rows: seeds (statistics are over them), columns the board already has
# (experiment = recipe, task, model, method), and where or how a run ran rather than what it learned.
BOOKKEEPING = frozenset({
    "seed", "task.split_seed", "task.source", "threads", "progress_bar", "launcher", "workers",
    "experiment", "task", "model", "method", "run_dir", "logger", "trainer.devices",
    "trainer.accelerator", "trainer.num_nodes", "eval.batch_size", "checkpoint.resume",
    "trainer.max_time"})  # a wall-time cap (benchmarks/gpu_paper.py) censors a run; it is not a setting
BOOKKEEPING_PREFIXES = ("hydra.", "checkpoint.", "logger.")


def bookkeeping(key: str) -> bool:
    return key in BOOKKEEPING or key.startswith(BOOKKEEPING_PREFIXES)


def canonical(value: Any) -> str:
    """One text per value: numbers in shortest form (8.0 -> 8, 1e-1 -> 0.1), lists element-wise."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):  # repr: the shortest text that reads back as the same float
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{canonical(v)}" for k, v in value.items()) + "}"
    return str(value)


@lru_cache(maxsize=1)
def _parser() -> OverridesParser:
    return OverridesParser.create()


@cache
def parse_override(text: str) -> tuple[str, str] | None:
    """(key, canonical value) of one recorded override; None for a deletion (`~key`)."""
    try:
        override = _parser().parse_override(text)
    except HydraException:  # not Hydra syntax (hand-written record): split at the first '='
        key, _, value = text.partition("=")
        return key.lstrip("+~"), value
    if override.is_delete():
        return None
    return override.get_key_element().lstrip("+"), canonical(override.value())


def launch_overrides(overrides: Iterable[str] | None) -> dict[str, str]:
    """The recorded overrides as {key: canonical value}, the last one of a key winning."""
    parsed = (parse_override(str(o)) for o in overrides or [])
    return {key: value for key, value in (p for p in parsed if p is not None)}


def config_value(config: dict | None, key: str) -> str | None:
    """The value a dotted key has in a record's resolved config (None when it has none)."""
    node: Any = config or {}
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return canonical(node)


def run_value(launch: dict[str, str], config: dict | None, key: str) -> str | None:
    return launch[key] if key in launch else config_value(config, key)


def varying_keys(rows: list[dict[str, Any]]) -> list[str]:
    """Override keys (bookkeeping aside) whose values differ among the runs of one recipe."""
    keys = sorted({k for row in rows for k in row["launch"] if not bookkeeping(k)})
    return [k for k in keys if len({run_value(r["launch"], r["config"], k) for r in rows}) > 1]


def setting_text(values: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(values.items()))


def assign_settings(rows: list[dict[str, Any]], group_by: list[str] | None = None) -> None:
    """Set each row's `setting_values` ({key: value}) and `setting` (its text), per recipe."""
    by_recipe: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_recipe.setdefault(row["recipe"], []).append(row)
    for recipe_rows in by_recipe.values():
        keys = group_by if group_by is not None else varying_keys(recipe_rows)
        for row in recipe_rows:
            values = {k: run_value(row["launch"], row["config"], k) for k in keys}
            row["setting_values"] = {k: v for k, v in values.items() if v is not None}
            row["setting"] = setting_text(row["setting_values"])


def parse_keys(text: str | None, option: str, count: int | None = None) -> list[str] | None:
    """`KEY[,KEY]` of a command-line option as a list (None when not given)."""
    if text is None:
        return None
    keys = [k.strip() for k in text.split(",") if k.strip()]
    wanted = f"{count} distinct keys" if count else "one or more distinct keys"
    require(bool(keys) and len(set(keys)) == len(keys) and (count is None or len(keys) == count),
            f"{option} {text!r} is invalid; allowed: {wanted}, comma-separated, "
            "e.g. module.init_scale,optim.weight_decay")
    return keys


def number_or_text(value: str) -> tuple[int, float, str]:
    """Sort key of a value: numbers by size before texts."""
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


def setting_order(values: dict[str, str]) -> tuple:
    """Settings in natural order (init_scale 2 before 16), key by key."""
    return tuple((k, number_or_text(v)) for k, v in sorted(values.items()))


def agrees(values: dict[str, str], wanted: dict[str, str]) -> bool:
    """Same value on every key both settings have (a setting without the key agrees)."""
    return all(values[k] == v for k, v in wanted.items() if k in values)
