"""One figure per domain: held-out progress G against steps for its main recipes and controls;
and one per domain with method runs: a line per method beside its baseline.

A line per recipe is the median over its seeds, the band their range (min to max); the
normalized train progress of the same recipe is dashed; each seed's held-out line is drawn thin. Seeds are interpolated (in log step)
onto the union of their evaluation steps and count only inside their own step range. Every
domain shares the y range [-0.1, 1.1] (values outside are clipped) so figures compare at a
glance. PNGs are saved without metadata so the same records give the same bytes.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter

from grokbench.board.frame import BASELINE, number
from grokbench.board.pairing import baseline_runs, configurations
from grokbench.board.tables import domains
from grokbench.profile import progress
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


def on_grid(series: list[tuple[np.ndarray, np.ndarray]], log_x: bool) -> tuple[np.ndarray, np.ndarray]:
    """The runs' union x grid and each run's values on it (NaN outside the run's own range),
    interpolated in log x where x is steps. `series` holds no empty run."""
    grid = np.unique(np.concatenate([x for x, _ in series]))
    stacked = np.full((len(series), grid.size), np.nan)
    for i, (x, values) in enumerate(series):
        inside = (grid >= x[0]) & (grid <= x[-1])
        stacked[i, inside] = np.interp(np.log(grid[inside]), np.log(x), values) if log_x else \
            np.interp(grid[inside], x, values)
    return grid, stacked


def band(series: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
    """Union step grid, and median / min / max across runs on it."""
    series = [s for s in series if s[0].size]
    if not series:
        return (np.array([]),) * 4
    grid, stacked = on_grid(series, log_x=True)
    return grid, np.nanmedian(stacked, axis=0), np.nanmin(stacked, axis=0), np.nanmax(stacked, axis=0)


def draw(ax, runs: pd.DataFrame, color, label: str, seeds: bool, train: bool, ls: str = "-") -> None:
    """A group's median held-out G and its min-max band; each seed thin and the train progress
    dashed when asked."""
    held_out = [run_progress(r, train=False) for _, r in runs.iterrows()]
    for steps, values in held_out if seeds else []:  # each seed, thin, under the median
        ax.plot(steps, values, color=color, lw=0.5, alpha=0.45)
    grid, median, low, high = band(held_out)
    if grid.size:
        ax.plot(grid, median, color=color, lw=1.8, ls=ls, label=label)
        ax.fill_between(grid, low, high, color=color, alpha=0.12, lw=0)
    if train:
        grid, median, _, _ = band([run_progress(r, train=True) for _, r in runs.iterrows()])
        if grid.size:
            ax.plot(grid, median, color=color, lw=1.0, ls="--")


def save(fig, ax, title: str, path: Path) -> Path:
    """Shared axes, title and file format of the board's progress figures."""
    ax.axhline(0.9, color="grey", lw=0.6, ls=":", label="G = 0.9")
    ax.set(xscale="log", ylim=Y_RANGE, xlabel="step", ylabel="progress (0: chance, 1: reference)")
    ax.set_title(title, fontsize=9)
    ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels collide on short step ranges
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # outside: no overlap
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata={"Software": None}, bbox_inches="tight")  # nothing clipped
    plt.close(fig)
    return path


def palette(n: int):
    return plt.get_cmap("tab10" if n <= 10 else "tab20").colors


def runs_label(group: pd.DataFrame) -> str:
    return f"{len(group)} run{'s' if len(group) != 1 else ''}"


def domain_figure(domain: str, runs: pd.DataFrame, path: Path) -> Path | None:
    plotted = runs[(runs["method"] == BASELINE) & runs["role"].isin(PLOTTED_ROLES)]
    # one line per swept setting too (in board order): pooling a sweep's cells would draw a band
    # over different experiments
    groups = list(plotted.groupby(["recipe", "model", "setting"], sort=False))
    groups.sort(key=lambda g: g[0][:2])
    if not groups:
        return None
    fig, ax = plt.subplots(figsize=(9, 4.2))
    colors = palette(len(groups))
    for i, ((recipe, model, setting), group) in enumerate(groups):
        role = str(group["role"].iloc[0])
        label = f"{recipe}{' ' + setting if setting else ''} ({role}, {model}, {runs_label(group)})"
        draw(ax, group, colors[i % len(colors)], label, seeds=True, train=True)
    return save(fig, ax, f"{domain}: held-out progress G (median over seeds, thin: each seed, band: min–max)\n"
                         "and train progress (dashed, median)", path)


BASELINE_STYLES = ("-", "--", "-.")  # all black: the palette has its own grey


def method_figure(domain: str, runs: pd.DataFrame, path: Path) -> Path | None:
    """Held-out progress per method on the domain (median over seeds, band: min-max), the
    declared baselines in black, solid then dashed (StableMax's float64 softmax is a second one)."""
    groups = configurations(runs, "method")
    if not groups:
        return None
    baselines = {name: base for name, base in (baseline_runs(runs, g) for _, g in groups) if len(base)}
    fig, ax = plt.subplots(figsize=(9, 4.2))
    colors = palette(len(groups))
    for (name, base), style in zip(baselines.items(), itertools.cycle(BASELINE_STYLES)):
        draw(ax, base, "black", f"baseline {name} ({runs_label(base)})", seeds=False, train=False, ls=style)
    for i, (config, group) in enumerate(sorted(groups, key=lambda cg: (cg[0]["method"], cg[0]["setting"]))):
        setting = f" {config['setting']}" if config["setting"] else ""
        label = f"{config['method']}{setting} on {config['recipe']} ({runs_label(group)})"
        draw(ax, group, colors[i % len(colors)], label, seeds=False, train=False)
    return save(fig, ax, f"{domain}: held-out progress G per method (median over seeds, band: min–max)", path)


def domain_figures(runs: pd.DataFrame, directory: Path) -> dict[str, Path]:
    """Domain -> its PNG under `directory` (domains without main or control runs get none)."""
    paths = {d: domain_figure(d, runs[runs["domain"] == d], Path(directory) / f"{d}.png") for d in domains(runs)}
    return {d: p for d, p in paths.items() if p is not None}


def method_figures(runs: pd.DataFrame, directory: Path) -> dict[str, Path]:
    """Domain -> its method PNG under `directory` (domains without method runs get none)."""
    paths = {d: method_figure(d, runs[runs["domain"] == d], Path(directory) / f"methods_{d}.png")
             for d in domains(runs)}
    return {d: p for d, p in paths.items() if p is not None}
