"""One figure per domain: held-out progress G against steps for its main recipes and controls.

A line per recipe is the median over its seeds, the band their range (min to max); the
normalized train progress of the same recipe is dashed; each seed's held-out line is drawn thin. Seeds are interpolated (in log step)
onto the union of their evaluation steps and count only inside their own step range. Every
domain shares the y range [-0.1, 1.1] (values outside are clipped) so figures compare at a
glance. PNGs are saved without metadata so the same records give the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter

from grokbench.board.frame import BASELINE, number
from grokbench.board.tables import domains
from grokbench.callbacks.profile import progress
from grokbench.record import curve_series

Y_RANGE = (-0.1, 1.1)
PLOTTED_ROLES = ("main", "control")


def run_progress(row: pd.Series, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """(steps, progress) of one run: G for held-out, M (reference = train_reference) for train."""
    settings = row["settings"] or {}
    key = settings.get("train_metric" if train else "val_metric")
    chance = settings.get("chance", 0.0)
    reference = settings.get("train_reference", 1.0) if train else number(row["profile.reference"])
    if not key or reference is None or reference == chance:
        return np.array([]), np.array([])
    steps, values = curve_series(row["curve"], key)
    return steps, np.clip(progress(values, chance, reference), *Y_RANGE)


def band(series: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
    """Union step grid, and median / min / max across runs on it."""
    series = [s for s in series if s[0].size]
    if not series:
        return (np.array([]),) * 4
    grid = np.unique(np.concatenate([steps for steps, _ in series]))
    stacked = np.full((len(series), grid.size), np.nan)
    for i, (steps, values) in enumerate(series):
        inside = (grid >= steps[0]) & (grid <= steps[-1])
        stacked[i, inside] = np.interp(np.log(grid[inside]), np.log(steps), values)
    return grid, np.nanmedian(stacked, axis=0), np.nanmin(stacked, axis=0), np.nanmax(stacked, axis=0)


def domain_figure(domain: str, runs: pd.DataFrame, path: Path) -> Path | None:
    plotted = runs[(runs["method"] == BASELINE) & runs["role"].isin(PLOTTED_ROLES)]
    # one line per swept setting too (in board order): pooling a sweep's cells would draw a band
    # over different experiments
    groups = list(plotted.groupby(["recipe", "model", "setting"], sort=False))
    groups.sort(key=lambda g: g[0][:2])
    if not groups:
        return None
    fig, ax = plt.subplots(figsize=(9, 4.2))
    colors = plt.get_cmap("tab10" if len(groups) <= 10 else "tab20").colors
    for i, ((recipe, model, setting), group) in enumerate(groups):
        color = colors[i % len(colors)]
        role = str(group["role"].iloc[0])
        label = (f"{recipe}{' ' + setting if setting else ''} "
                 f"({role}, {model}, {len(group)} run{'s' if len(group) != 1 else ''})")
        held_out = [run_progress(r, train=False) for _, r in group.iterrows()]
        for steps, values in held_out:  # each seed, thin, under the median
            ax.plot(steps, values, color=color, lw=0.5, alpha=0.45)
        grid, median, low, high = band(held_out)
        if grid.size:
            ax.plot(grid, median, color=color, lw=1.8, label=label)
            ax.fill_between(grid, low, high, color=color, alpha=0.12, lw=0)
        grid, median, _, _ = band([run_progress(r, train=True) for _, r in group.iterrows()])
        if grid.size:
            ax.plot(grid, median, color=color, lw=1.0, ls="--")
    ax.axhline(0.9, color="grey", lw=0.6, ls=":", label="G = 0.9")
    ax.set(xscale="log", ylim=Y_RANGE, xlabel="step", ylabel="progress (0: chance, 1: reference)")
    ax.set_title(f"{domain}: held-out progress G (median over seeds, thin: each seed, band: min–max)\n"
                 "and train progress (dashed, median)", fontsize=9)
    ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels collide on short step ranges
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # outside: no overlap
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata={"Software": None}, bbox_inches="tight")  # nothing clipped
    plt.close(fig)
    return path


def domain_figures(runs: pd.DataFrame, directory: Path) -> dict[str, Path]:
    """Domain -> its PNG under `directory` (domains without main or control runs get none)."""
    paths = {d: domain_figure(d, runs[runs["domain"] == d], Path(directory) / f"{d}.png") for d in domains(runs)}
    return {d: p for d, p in paths.items() if p is not None}
