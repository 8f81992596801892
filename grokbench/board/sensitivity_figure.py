"""The sensitivity figure: each universality row's grok rate at every point of the declared
neighbourhood, one panel per evaluation schedule (all points, thinned from the first, from the
second), so a reader sees at a glance which levels a verdict leans on."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from grokbench.board.sensitivity import run_verdicts
from grokbench.board.tables import universality_groups, with_setting
from grokbench.profile import SCHEDULES
from grokbench.profile.sensitivity import Point


def grok_rates(group: pd.DataFrame) -> list[tuple[Point, float]]:
    """(point, fraction of the group's runs that grok there) in the neighbourhood's order, which
    is the same for every group (runs without a curve count as not grokking)."""
    scored = [list(v.items()) for v in (run_verdicts(row) for _, row in group.iterrows()) if v]
    if not scored:
        return []
    return [(point, sum(run[i][1] == "grokked" for run in scored) / len(group))
            for i, (point, _) in enumerate(scored[0])]


def short_label(point: Point) -> str:
    """The point's position in each level's list, e.g. `σ 1.5 · p 0.225 · m 0.95`."""
    names = {"band_sigmas": "σ", "min_plateau_decades": "p", "memorize_level": "m"}
    return " · ".join(f"{names.get(n, n)} {v:g}" for n, v in point.change)


def sensitivity_figure(runs: pd.DataFrame, path: Path) -> Path | None:
    rows = []
    for domain, config, group, control, controls in universality_groups(runs):
        rows.append((f"{domain}: {with_setting(config['recipe'], config['setting'])}", grok_rates(group)))
        if len(controls):
            rows.append((f"{domain}: {control}", grok_rates(controls)))
    rows = [(label, rates) for label, rates in rows if rates]
    if not rows:
        return None
    fig, axes = plt.subplots(1, len(SCHEDULES), figsize=(13, 0.35 * len(rows) + 2.2), sharey=True)
    for ax, schedule in zip(np.atleast_1d(axes), SCHEDULES):
        columns = [i for i, (p, _) in enumerate(rows[0][1]) if p.schedule == schedule]
        grid = np.array([[rates[i][1] for i in columns] for _, rates in rows])
        image = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
        ax.set_title("every evaluation" if schedule == "all" else f"every other ({schedule})", fontsize=9)
        ax.set_xticks(range(len(columns)), [short_label(rows[0][1][i][0]) for i in columns], rotation=90, fontsize=5)
        ax.set_yticks(range(len(rows)), [label for label, _ in rows], fontsize=7)
    fig.colorbar(image, ax=axes, label="grok rate", shrink=0.8)
    fig.suptitle("σ: chance band (standard errors) · p: min plateau (decades) · m: train level "
                 "(for R², the top is 0.995)", fontsize=8, y=1.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path
