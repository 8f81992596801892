"""The board's "Ungrokking" section: continued runs (`init_from`) by the training size they kept.

A continued run starts from its parent's weights on a subset of its parent's training set
(grokbench/continuation.py) and is read by its fall (grokbench/profile/fall.py), never by the
grokking profile, so the board's other tables leave it out (`started_afresh`) and this one shows
it: one row per parent recipe and kept size, the held-out metric at the start and after the
run's k steps (median and range over seeds), and how many seeds fell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from grokbench.board.formatting import MISSING, fmt_float, fmt_rate, fmt_spread, markdown
from grokbench.board.settings import canonical
from grokbench.board.stats import spread
from grokbench.catalog import board_rank
from grokbench.profile import FELL, GENERALIZED

Records = list[tuple[Path, dict[str, Any]]]
NOTE = ("Runs continued from another run's final weights and optimizer state (`init_from`) on a seeded "
        "subset of its training set, its held-out set unchanged (Varma et al. 2023: a grokked network trained "
        "on below the critical data size with weight decay ungrokks). `kept`: the run's training size and its "
        "fraction of the parent's training set. `start`: the held-out metric at the run's step 0 (the "
        "parent's final level); `after k steps`: the mean of its last three evaluations. A run fell when its "
        f"last three evaluations kept under {GENERALIZED} of the start's level above chance and the fall "
        "exceeds the noise band (3 standard errors of the metric at chance); `to chance`: it ended inside "
        "the chance band. Not a grokking verdict: `ungrokked` in the other tables is a fall under the same data.")


def is_continued(record: dict[str, Any]) -> bool:
    return bool(record.get("parent"))


def started_afresh(records: Records) -> Records:
    """The records of runs from initialization: the ones the grokking profile reads."""
    return [(path, record) for path, record in records if not is_continued(record)]


def _row(record: dict[str, Any]) -> dict[str, Any]:
    kept, fall, parent = record.get("kept") or {}, record.get("fall") or {}, record["parent"]
    domain = (record.get("meta") or {}).get("domain") or record.get("task") or "?"
    return {"domain": domain, "recipe": str(parent.get("recipe") or record.get("recipe")),
            "key": str(kept.get("key") or "?"), "size": kept.get("child"), "fraction": kept.get("fraction"),
            "steps": record.get("steps"), "status": record.get("status"), "verdict": record.get("verdict"), "metric": fall.get("val_metric"),
            "start": fall.get("start"), "end": fall.get("end")}


def ungrokking_rows(records: Records) -> list[dict[str, str]]:
    """One row per domain, parent recipe and kept size, in board order, smallest size first."""
    frame = pd.DataFrame([_row(r) for _, r in records if is_continued(r)])
    if frame.empty:
        return []
    rows = []
    keys = ["domain", "recipe", "key", "size"]

    def order(item) -> tuple:  # board order; a child that failed before its size was known last
        (domain, recipe, key, size), _ = item
        return board_rank(domain), domain, recipe, pd.isna(size), key, 0 if pd.isna(size) else size

    for (domain, recipe, key, size), group in sorted(frame.groupby(keys, dropna=False, sort=False), key=order):
        ran = group[group["status"] != "failed"]
        fell = int(ran["verdict"].isin(FELL).sum())
        steps = sorted({int(s) for s in ran["steps"].dropna()})
        kept = MISSING if pd.isna(size) else f"{key}={canonical(float(size))} ({fmt_float(group['fraction'].iloc[0])})"
        rows.append({"domain": domain, "recipe": recipe, "kept": kept,
                     "runs": str(len(group)), "k steps": ", ".join(f"{s:,}" for s in steps) or MISSING,
                     "metric": ", ".join(sorted(set(ran["metric"].dropna()))) or MISSING,
                     "start": fmt_spread(spread(ran["start"])), "after k steps": fmt_spread(spread(ran["end"])),
                     "fell": fmt_rate(fell, len(ran)), "to chance": str(int((ran["verdict"] == "fell_to_chance").sum())),
                     "failed": str(len(group) - len(ran))})
    return rows


def ungrokking_markdown(records: Records) -> str:
    """The section for the board's README; empty when no record is of a continued run."""
    rows = ungrokking_rows(records)
    return "" if not rows else "\n".join(["", "## Ungrokking", "", NOTE, "", markdown(rows), ""])
