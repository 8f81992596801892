"""The forecast figure: predicted against actual step of sustained G = 0.9 (log axes), one panel
per predictor, leave-one-recipe-out hits by domain; misses and false alarms are counted in the
panel title, since they have no point on both axes."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt

from grokbench.forecast.predictors import PREDICTORS
from grokbench.forecast.score import HIT, Scored, summarize


def forecast_figure(items: list[Scored], path: Path) -> Path | None:
    hits = [s for s in items if s.outcome == HIT]
    if not hits:
        return None
    domains = list(dict.fromkeys(s.run.domain for s in items))
    colors = {d: plt.get_cmap("tab10")(i % 10) for i, d in enumerate(domains)}
    steps = [v for s in hits for v in (s.prediction.step, s.run.generalized)]
    low, high = min(steps) / 1.5, max(steps) * 1.5
    fig, axes = plt.subplots(1, len(PREDICTORS), figsize=(4.2 * len(PREDICTORS), 4.2), sharex=True, sharey=True)
    for ax, p in zip(axes, PREDICTORS):
        mine = [s for s in items if s.predictor == p.name]
        for domain in domains:
            points = [(s.run.generalized, s.prediction.step) for s in mine if s.outcome == HIT and s.run.domain == domain]
            if points:
                ax.scatter(*zip(*points), s=14, color=colors[domain])
        ax.plot([low, high], [low, high], color="grey", lw=0.8)
        s = summarize(mine)
        ax.set(xscale="log", yscale="log", xlim=(low, high), ylim=(low, high), xlabel="actual step (G = 0.9)",
               title=f"{p.name}: {s.hits} hits, {s.misses} misses, {s.false_alarms} false alarms")
        ax.title.set_fontsize(8)
    axes[0].set_ylabel("predicted step")
    handles = [plt.Line2D([], [], marker="o", ls="", color=colors[d], label=d) for d in domains]
    fig.legend(handles=handles, loc="upper center", ncol=len(domains), fontsize=7, bbox_to_anchor=(0.5, 1.06))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path
