"""Run records -> one pandas row per run: the only thing the rest of the board reads.

Schema-2 and -3 records are accepted (the board recomputes every profile from the curve);
older ones carry a delay ratio instead of a curve-based profile.
"""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path
from typing import Any

import pandas as pd

from grokbench.board.legacy import legacy_fill
from grokbench.board.settings import assign_settings, launch_overrides, setting_order
from grokbench.catalog import board_rank
from grokbench.errors import GrokbenchError, require
from grokbench.profile import FACTS, Profile, ProfileSettings
from grokbench.record import READABLE_SCHEMAS, SCHEMA_VERSION, find_records, number, read_record

# a configuration: what the board pools runs over (seeds only); `setting` splits a sweep (settings.py)
CONFIG_KEYS = ["task", "task_version", "recipe", "model", "method", "setting"]
BASELINE = "baseline"
PROFILE_FIELDS = tuple(f.name for f in fields(Profile))
PROFILE_COLUMNS = tuple(f"profile.{name}" for name in PROFILE_FIELDS)


def present(value: Any) -> bool:
    """Not None and not a pandas missing value (pandas turns None into NaN in numeric columns)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _as_float(value: Any) -> Any:
    try:
        return float(value) if isinstance(value, str) else value
    except ValueError:
        return value


def clean_curve(curve: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The curve with "nan"/"inf" strings read back as floats, so the profile can be recomputed."""
    return [{k: _as_float(v) for k, v in row.items()} for row in curve or []]


def check_schema(path: Path, record: dict[str, Any]) -> None:
    """Only the schemas this grokbench reads (2 and 3: the board recomputes both profiles from
    the curve): an older record has no curve-based profile, a newer or unknown one may mean
    other things by the same keys."""
    version = record.get("schema_version", 1)
    known = isinstance(version, int) and not isinstance(version, bool)
    require(not known or version <= SCHEMA_VERSION,
            f"{path} is a schema-{version} record, newer than this grokbench reads; allowed: schema "
            f"{' or '.join(map(str, READABLE_SCHEMAS))} records (update grokbench)")
    require(known and version in READABLE_SCHEMAS and isinstance(record.get("profile"), dict),
            f"{path} is a schema-{version!r} record without a grokking profile; allowed: schema "
            f"{' or '.join(map(str, READABLE_SCHEMAS))} records (rerun it with this grokbench)")


def profile_facts(record: dict[str, Any]) -> dict[str, Any]:
    """What the profile reads about this run (levels.FACTS), as the record's detector wrote them
    (a schema-2 record's missing ones are filled in by legacy.legacy_fill)."""
    settings = dict((record.get("detector") or {}).get("settings") or {})
    return {k: settings[k] for k in FACTS if settings.get(k) is not None}


def given_levels(record: dict[str, Any]) -> dict[str, Any]:
    """Levels the run's command line or recipe set (non-null `detector.*` in its config): they
    stay; every other level is the one declared now (profile.levels), so every record is judged
    by the same rules."""
    detector = ((record.get("config") or {}).get("detector") or {})
    return {k: detector[k] for k in ProfileSettings.levels() if detector.get(k) is not None}


def role_of(meta: dict[str, Any], method: str) -> str:
    """A run with a method is a method run whatever its recipe declares (the methods suite runs
    `experiment=R method=M`); otherwise the declared role, `main` when none (conf/config.yaml)."""
    return "method" if method != BASELINE else str(meta.get("role") or "main")


def record_row(path: Path, record: dict[str, Any]) -> dict[str, Any]:
    record = legacy_fill(record)
    settings = {**profile_facts(record), **given_levels(record)} if record else {}
    meta, profile = record.get("meta") or {}, record.get("profile") or {}
    hardware, versions = record.get("hardware") or {}, record.get("versions") or {}
    method, task = record.get("method") or "?", record.get("task") or "?"
    val_metric = settings.get("val_metric")
    return {
        "path": str(path), "task": task, "task_version": str(record.get("task_version") or "?"),
        "recipe": record.get("recipe") or "?", "model": record.get("model") or "?", "method": method,
        "seed": record.get("seed"), "split_seed": record.get("split_seed"),
        "status": record.get("status") or "?", "error": record.get("error"),
        "domain": meta.get("domain") or task, "role": role_of(meta, method),
        "control": meta.get("control"), "baseline": meta.get("baseline"),
        "method_baseline": (record.get("method_settings") or {}).get("baseline"),
        "method_settings": record.get("method_settings") or {},
        **{column: profile.get(name) for column, name in zip(PROFILE_COLUMNS, PROFILE_FIELDS)},
        "settings": settings, "reference_source": (record.get("detector") or {}).get("reference_source"),
        "reference_note": None, "reference_unreachable": False, "train_metric": settings.get("train_metric"), "val_metric": val_metric,
        "final_val": number((record.get("final") or {}).get(val_metric)) if val_metric else None,
        "steps": number(record.get("steps")), "wall_seconds": number(record.get("wall_seconds")),
        "step_budget": number(((record.get("config") or {}).get("trainer") or {}).get("max_steps")),
        "parameters": number(record.get("num_parameters")),
        "steps_per_second": number(record.get("steps_per_second")),
        "schema_version": record.get("schema_version"), "runtime_verdict": record.get("verdict"), "verdict_provisional": record.get("verdict_provisional"),
        "git_commit": record.get("git_commit"), "git_dirty": record.get("git_dirty"),
        "torch_version": versions.get("torch"), "torch_threads": hardware.get("torch_threads"),
        "accelerator": hardware.get("accelerator"), "date": str(record.get("started_at") or "unknown")[:10],
        "started_at": record.get("started_at"),  # with wall_seconds: when the run ran (method_cells.side_by_side)
        "versions": versions, "hardware": hardware, "curve": clean_curve(record.get("curve")),
        "metrics": record.get("metrics") or {},  # each logged key's declaration (kinds.MetricDeclaration)
        "launch": launch_overrides(record.get("overrides")), "config": record.get("config") or {},
        "setting": "", "setting_values": {},  # set by assign_settings over all runs of the recipe
    }


def _order(row: dict[str, Any]) -> tuple:
    domain = row["domain"]
    rank = board_rank(domain)
    seed = row["seed"] if isinstance(row["seed"], int) else -1
    names = (str(row[k]) for k in CONFIG_KEYS if k != "setting")
    return (rank, domain, *names, setting_order(row["setting_values"]), seed, row["path"])


def runs_frame(records: list[tuple[Path, dict[str, Any]]], group_by: list[str] | None = None) -> pd.DataFrame:
    """One row per run in board order: domains (the catalog's order first), configuration, seed; a
    configuration's setting from the overrides that vary in its recipe, or the `group_by` keys."""
    rows = [record_row(path, record) for path, record in records]
    assign_settings(rows, group_by)
    rows.sort(key=_order)
    columns = list(record_row(Path(), {}).keys())
    # object columns keep None as None and accept a recomputed profile of any type
    return pd.DataFrame(rows, columns=columns).astype(
        {"seed": object, "git_dirty": object, "reference_note": object, **dict.fromkeys(PROFILE_COLUMNS, object)})


def load_records(run_dirs: list[str | Path]) -> list[tuple[Path, dict[str, Any]]]:
    """(path, record) of every record under the directories. A file that is not a record of this
    schema (truncated, corrupt, older or newer) is refused, with every other one: a table
    missing a run without a word would mislead. One line names them and counts them."""
    paths = find_records(*run_dirs)
    require(bool(paths), f"no run records (record.json) under {', '.join(map(str, run_dirs))}; "
                         "allowed: directories holding run directories")
    records, refused = [], []
    for path in paths:
        try:
            record = read_record(path)
            check_schema(path, record)
        except GrokbenchError as error:
            refused.append(str(error))
            continue
        records.append((path, record))
    shown = "; ".join(refused[:3]) + (f"; and {len(refused) - 3} more" if len(refused) > 3 else "")
    require(not refused, f"{len(refused)} of {len(paths)} run records refused, nothing read: {shown}")
    return records
