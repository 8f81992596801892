"""Leaderboard tables from run records: one flat row per run, summaries per configuration.

Everything here is a pure function of the records, so the board is deterministic: groups
are sorted, bootstrap resampling uses a fixed seed, and numbers are formatted the same way
every time. Failed and diverged runs stay in every count (they are part of "k of n").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

DOMAIN_ORDER = ("modular", "s5", "mnist", "cifar10", "imdb", "qm9")
CONFIG_KEYS = ["task", "task_version", "recipe", "model", "method"]
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0
CONTROL_SUFFIX = "_control"
BASELINE = "baseline"


def _number(value: Any) -> float | None:
    """Records write non-finite floats as strings ("nan", "inf"); read them back as floats."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def record_row(record: dict[str, Any]) -> dict[str, Any]:
    """The fields the board reads from one run record."""
    settings = (record.get("detector") or {}).get("settings") or {}
    val_metric = settings.get("val_metric")
    return {
        "task": record.get("task") or "?", "task_version": str(record.get("task_version") or "?"),
        "recipe": record.get("recipe") or "?", "model": record.get("model") or "?",
        "method": record.get("method") or "?", "seed": record.get("seed"),
        "status": record.get("status") or "?", "verdict": record.get("verdict"),
        "memorized_step": _number(record.get("memorized_step")),
        "generalized_step": _number(record.get("generalized_step")),
        "delay_ratio": _number(record.get("delay_ratio")),
        "steps": _number(record.get("steps")), "wall_seconds": _number(record.get("wall_seconds")),
        "steps_per_second": _number(record.get("steps_per_second")),
        "val_metric": val_metric, "val_mode": settings.get("mode"),
        "final_val": _number((record.get("final") or {}).get(val_metric)) if val_metric else None,
        "error": record.get("error"), "git_commit": record.get("git_commit") or "unknown",
        "date": str(record.get("started_at") or "unknown")[:10],
        "versions": record.get("versions") or {}, "hardware": record.get("hardware") or {},
        "curve": record.get("curve") or [], "train_metric": settings.get("train_metric"),
    }


def _order(row: dict[str, Any]) -> tuple:
    task = row["task"]
    rank = DOMAIN_ORDER.index(task) if task in DOMAIN_ORDER else len(DOMAIN_ORDER)
    seed = row["seed"] if isinstance(row["seed"], int) else -1
    return (rank, *(str(row[k]) for k in CONFIG_KEYS), seed)


def runs_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per run, in board order (domains first, then configuration keys, then seed)."""
    rows = sorted((record_row(r) for r in records), key=_order)
    return pd.DataFrame(rows, columns=list(record_row({}).keys()))


def _finite(values) -> np.ndarray:
    array = np.array([v for v in values if v is not None], dtype=float)
    return array[np.isfinite(array)]


def first_text(values) -> str | None:
    """First string in a column (pandas turns missing values into NaN, which is truthy)."""
    return next((v for v in values if isinstance(v, str) and v), None)


def median_of(values) -> float | None:
    array = _finite(values)
    return float(np.median(array)) if array.size else None


def bootstrap_ci(values, statistic=np.median) -> tuple[float, float] | None:
    """95% percentile bootstrap interval of `statistic` across seeds (fixed RNG seed)."""
    array = _finite(values)
    if not array.size:
        return None
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    samples = rng.choice(array, size=(BOOTSTRAP_SAMPLES, array.size), replace=True)
    low, high = np.percentile(statistic(samples, axis=1), [2.5, 97.5])
    return float(low), float(high)


def speedup_ci(baseline, method) -> tuple[float, float] | None:
    """Interval of median(baseline) / median(method), resampling both groups' seeds."""
    b, m = _finite(baseline), _finite(method)
    if not b.size or not m.size:
        return None
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    b_med = np.median(rng.choice(b, size=(BOOTSTRAP_SAMPLES, b.size)), axis=1)
    m_med = np.median(rng.choice(m, size=(BOOTSTRAP_SAMPLES, m.size)), axis=1)
    low, high = np.percentile(b_med / m_med, [2.5, 97.5])
    return float(low), float(high)


def summarize(group: pd.DataFrame) -> dict[str, Any]:
    """Numbers of one configuration across its seeds."""
    statuses = group["status"].value_counts()
    verdicts = group["verdict"].fillna("none").value_counts()
    metric, mode = first_text(group["val_metric"]), first_text(group["val_mode"])
    return {
        "seeds": sorted(int(s) for s in group["seed"].dropna()),
        "runs": len(group), "completed": int(statuses.get("completed", 0)),
        "failed": int(statuses.get("failed", 0)), "diverged": int(statuses.get("diverged", 0)),
        "grokked": int(verdicts.get("grokked", 0)),
        "verdicts": {k: int(v) for k, v in sorted(verdicts.items())},
        "memorize_step": median_of(group["memorized_step"]),
        "generalize_step": median_of(group["generalized_step"]),
        "delay_ratio": median_of(group["delay_ratio"]), "delay_ratio_ci": bootstrap_ci(group["delay_ratio"]),
        "val_metric": metric, "val_mode": mode, "final_val": median_of(group["final_val"]),
        "wall_seconds": median_of(group["wall_seconds"]), "steps_per_second": median_of(group["steps_per_second"]),
    }


def config_summaries(runs: pd.DataFrame) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(configuration keys, summary) for every configuration, in board order."""
    out = []
    for keys, group in runs.groupby(CONFIG_KEYS, sort=False, dropna=False):
        out.append((dict(zip(CONFIG_KEYS, keys)), summarize(group)))
    return out


# --- formatting ----------------------------------------------------------------------------
def fmt_steps(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def fmt_float(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "—" if value is None else str(value)
    return f"{value:.{digits}g}" if abs(value) < 1e4 else f"{value:,.0f}"


def fmt_ratio(value: float | None, ci: tuple[float, float] | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f} [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else f"{value:.1f}"


def fmt_status(s: dict[str, Any]) -> str:
    parts = [f"{s['completed']} ok"] if s["completed"] else []
    parts += [f"{s[k]} {k}" for k in ("failed", "diverged") if s[k]]
    other = s["runs"] - s["completed"] - s["failed"] - s["diverged"]
    return ", ".join(parts + ([f"{other} other"] if other else []))


def fmt_val(s: dict[str, Any]) -> str:
    if not s["val_metric"]:
        return "—"
    arrow = "↓" if s["val_mode"] == "min" else "↑"
    return f"{s['val_metric']} {fmt_float(s['final_val'], 4)} {arrow}"


def summary_columns(s: dict[str, Any]) -> dict[str, str]:
    """The shared columns of the universality and per-task tables (↑/↓: better direction)."""
    return {
        "seeds": ",".join(map(str, s["seeds"])) or "—", "runs": fmt_status(s),
        "grokked": f"{s['grokked']}/{s['runs']}",
        "memorize step ↓": fmt_steps(s["memorize_step"]),
        "generalize step ↓": fmt_steps(s["generalize_step"]),
        "delay ratio [95% CI]": fmt_ratio(s["delay_ratio"], s["delay_ratio_ci"]),
        "final val": fmt_val(s), "wall s ↓": fmt_float(s["wall_seconds"]),
        "steps/s ↑": fmt_float(s["steps_per_second"]),
    }


def markdown(rows: list[dict[str, str]]) -> str:
    if not rows:
        return "_no runs_"
    return pd.DataFrame(rows).to_markdown(index=False, disable_numparse=True)
