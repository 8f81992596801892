"""The curve figure of one run: metric and loss against steps (log axis), steps marked."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt


def _series(rows: list[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    points = [(r["step"], r[key]) for r in rows if key in r and isinstance(r[key], (int, float))]
    return [p[0] for p in points], [p[1] for p in points]


def mark_steps(ax, memorized_step: int | None, generalized_step: int | None) -> None:
    if memorized_step:
        ax.axvline(memorized_step, color="tab:blue", ls="--", lw=1, label=f"memorized @ {memorized_step:,}")
    if generalized_step:
        ax.axvline(generalized_step, color="tab:red", ls="--", lw=1,
                   label=f"generalized @ {generalized_step:,}")


def plot_run(record: dict[str, Any], path: str | Path) -> Path:
    """Two panels: the detection metric (train_eval and val) and the losses."""
    rows = [r for r in record["curve"] if r["step"] > 0]
    detector = record["detector"]["settings"]
    train_key, val_key = detector["train_metric"], detector["val_metric"]
    fig, (ax_metric, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    for key, color in ((train_key, "tab:blue"), (val_key, "tab:red")):
        ax_metric.plot(*_series(rows, key), color=color, label=key)
    plain_val = "val/" + train_key.split("/")[-1]
    if plain_val != val_key:  # the detector watches another metric (e.g. adversarial): show both
        ax_metric.plot(*_series(rows, plain_val), color="tab:red", ls=":", label=plain_val)
    for key, color in (("train_eval/loss", "tab:blue"), ("val/loss", "tab:red")):
        ax_loss.plot(*_series(rows, key), color=color, label=key)
    mark_steps(ax_metric, record.get("memorized_step"), record.get("generalized_step"))
    metric_name = train_key.split("/")[-1]
    ax_metric.set(xscale="log", xlabel="step", ylabel=metric_name)
    losses = [v for key in ("train_eval/loss", "val/loss") for v in _series(rows, key)[1]]
    positive = any(math.isfinite(v) and v > 0 for v in losses)  # a diverged run may have none
    ax_loss.set(xscale="log", yscale="log" if positive else "linear", xlabel="step", ylabel="loss")
    for ax in (ax_metric, ax_loss):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{record['task']} · {record['model']} · {record['method']} · seed {record['seed']}"
                 f" — {record.get('verdict')}", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
