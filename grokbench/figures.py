"""Leaderboard figures: one PNG per task, one panel per configuration, curves across seeds.

Each panel shows the median train and held-out detection metric across seeds with a band
(min to max over seeds), on a log step axis, and the median memorization and generalization
steps. Seeds are interpolated (in log step) onto the union of their evaluation steps; a seed
contributes only inside its own step range. PNGs are saved without metadata so the same
records give the same bytes.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from grokbench.plot import mark_steps
from grokbench.tables import CONFIG_KEYS, first_text, median_of

PANELS_PER_ROW = 3


def _seed_curve(curve: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    points = [(r["step"], float(r[key])) for r in curve
              if r.get("step", 0) > 0 and isinstance(r.get(key), (int, float))]
    points = [(s, v) for s, v in points if math.isfinite(v)]
    if not points:
        return np.array([]), np.array([])
    steps, values = zip(*points)
    return np.array(steps, dtype=float), np.array(values, dtype=float)


def band(curves: list[list[dict]], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Union step grid, and median / min / max across seeds of `key` on it."""
    series = [c for c in (_seed_curve(curve, key) for curve in curves) if c[0].size]
    if not series:
        empty = np.array([])
        return empty, empty, empty, empty
    grid = np.unique(np.concatenate([steps for steps, _ in series]))
    stacked = np.full((len(series), grid.size), np.nan)
    for i, (steps, values) in enumerate(series):
        inside = (grid >= steps[0]) & (grid <= steps[-1])
        stacked[i, inside] = np.interp(np.log(grid[inside]), np.log(steps), values)
    return grid, np.nanmedian(stacked, axis=0), np.nanmin(stacked, axis=0), np.nanmax(stacked, axis=0)


def _panel(ax, group: pd.DataFrame, title: str) -> None:
    train_key, val_key = first_text(group["train_metric"]), first_text(group["val_metric"])
    for key, color in ((train_key, "tab:blue"), (val_key, "tab:red")):
        if not key:
            continue
        grid, median, low, high = band(list(group["curve"]), key)
        if grid.size:
            ax.plot(grid, median, color=color, lw=1.5, label=f"{key} (median)")
            ax.fill_between(grid, low, high, color=color, alpha=0.2, lw=0)
    mem, gen = median_of(group["memorized_step"]), median_of(group["generalized_step"])
    mark_steps(ax, None if mem is None else int(mem), None if gen is None else int(gen))
    ax.set_xscale("log")
    ax.set(xlabel="step", ylabel=(train_key or "metric").split("/")[-1])
    seeds = ",".join(str(s) for s in group["seed"])
    ax.set_title(f"{title}\nseeds {seeds}; band: min–max over seeds", fontsize=8)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def task_figure(task: str, runs: pd.DataFrame, path: Path) -> Path:
    groups = list(runs.groupby(CONFIG_KEYS, sort=False))
    columns = min(PANELS_PER_ROW, len(groups))
    rows = -(-len(groups) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.6 * rows), squeeze=False)
    for ax, (keys, group) in zip(axes.flat, groups):
        config = dict(zip(CONFIG_KEYS, keys))
        _panel(ax, group, f"{config['recipe']} · {config['model']} · {config['method']}")
    for ax in list(axes.flat)[len(groups):]:
        ax.axis("off")
    fig.suptitle(f"{task}: train and held-out metric across seeds", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return path


def task_figures(runs: pd.DataFrame, directory: Path) -> dict[str, Path]:
    return {task: task_figure(task, group, Path(directory) / f"{task}.png")
            for task, group in runs.groupby("task", sort=False)}
