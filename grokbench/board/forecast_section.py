"""The forecast section: its tables, as the board and `grokbench forecast` print them."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from grokbench.board.formatting import MISSING, fmt_float, markdown
from grokbench.forecast.history import CUT_FACTOR, SCORED, RunHistory, histories
from grokbench.forecast.predictors import PREDICTORS
from grokbench.forecast.score import HOLD_OUT, Scored, Summary, score_leave_out, summarize

ANCHOR = "17.7%, Khanh et al. 2026: delay MAPE on 26 held-out runs of one architecture"
FORECAST_NOTE = (
    f"Each run is cut at its first evaluation at or after {CUT_FACTOR} × its memorization step (as seen online, "
    "inside the declared minimum plateau); three predictors, calibrated on the other recipes' runs, say from the "
    "history up to the cut whether it will reach sustained G = 0.9 within its step budget, and when: the median "
    "delay of the training recipes (naive), the weight-norm first-passage law of Khanh et al. 2026 (κ and "
    "V*/V_mem calibrated), and a first passage of the declared progress measures. Held out one recipe at a time "
    "(its control stays in training) and, stricter, one domain at a time. Hits: predicted and reached; false "
    "alarms: predicted and not reached; misses: reached and not predicted (abstentions count here). MAPE on hits, "
    f"of the step and of the delay after memorization (anchor: {ANCHOR}); lead: median log10(t_0.9 / t_cut) on "
    "hits. Runs at G = 0.9 before their cut, or that never memorized, are not scored (counted below). "
    "Definitions: grokbench/forecast/.")


def fmt_percent(value: float | None) -> str:
    return MISSING if value is None else f"{100 * value:.1f}%"


def summary_cells(s: Summary) -> dict[str, str]:
    abstained = f" ({s.abstained} abstained)" if s.abstained else ""
    return {"runs": str(s.runs), "reached G = 0.9": str(s.reached), "hits": str(s.hits),
            "false alarms": str(s.false_alarms), "misses": f"{s.misses}{abstained}",
            "MAPE step": fmt_percent(s.mape_step), "MAPE delay": fmt_percent(s.mape_delay),
            "lead (decades)": fmt_float(s.lead, 2)}


def label(name: str) -> str:
    return next(f"{p.name}: {p.label}" for p in PREDICTORS if p.name == name)


def summary_rows(scored: dict[str, list[Scored]]) -> list[dict[str, str]]:
    """One row per hold-out protocol and predictor, pooled over the held-out runs."""
    return [{"held out": protocol, "predictor": label(p.name),
             **summary_cells(summarize([s for s in items if s.predictor == p.name]))}
            for protocol, items in scored.items() for p in PREDICTORS]


def recipe_rows(items: list[Scored]) -> list[dict[str, str]]:
    """One row per held-out recipe and predictor."""
    recipes = list(dict.fromkeys((s.run.domain, s.run.recipe) for s in items))
    return [{"domain": domain, "recipe": recipe, "predictor": p.name,
             **summary_cells(summarize([s for s in items if s.run.recipe == recipe and s.predictor == p.name]))}
            for domain, recipe in recipes for p in PREDICTORS]


def unscored_rows(hists: list[RunHistory]) -> list[dict[str, str]]:
    counts = Counter((h.domain, h.recipe, h.state) for h in hists if h.state != SCORED)
    return [{"domain": d, "recipe": r, "not scored": why, "runs": str(n)} for (d, r, why), n in counts.items()]


def score_all(runs: pd.DataFrame, factor: float = CUT_FACTOR) -> tuple[list[RunHistory], dict[str, list[Scored]]]:
    hists = histories(runs, factor)
    return hists, {protocol: score_leave_out(hists, protocol) for protocol in HOLD_OUT}


def forecast_markdown(hists: list[RunHistory], scored: dict[str, list[Scored]], figure: str | None) -> str:
    """The board's forecast section: the pooled table, the per-recipe table, what was not scored."""
    if not any(scored.values()):
        return ("No recipe run memorized and was still below G = 0.9 at its cut: nothing to forecast "
                f"(cut at {CUT_FACTOR} × t_mem).")
    protocol, items = next(iter(scored.items()))  # the first protocol (recipe on the board) per recipe
    parts = [FORECAST_NOTE, markdown(summary_rows(scored)), f"Held out one {protocol} at a time, per recipe:",
             markdown(recipe_rows(items))]
    unscored = unscored_rows(hists)
    if unscored:
        parts += ["Not scored:", markdown(unscored)]
    if figure:
        parts.append(f"![forecast: predicted against actual step of G = 0.9, held out by {protocol}]({figure})")
    return "\n\n".join(parts)
