"""The forecast (grokbench/forecast) on scripted records: runs whose squared weight norm and one
declared measure contract exactly as the first-passage law says, so the law and the measures
predictor are exact by construction and every other number is checked by hand."""

from __future__ import annotations

import math

import pytest
from fixtures.scripted_records import make_record, scripted_curve, write_runs

from grokbench.board import load_runs
from grokbench.forecast import CUT_FACTOR, histories, score_leave_out
from grokbench.forecast.history import DECIDED_BEFORE_CUT, SCORED
from grokbench.forecast.predictors import fit_naive, fit_norm_law, predict_naive
from grokbench.forecast.score import FALSE_ALARM, HIT, MISS, summarize
from grokbench.profile import ProfileSettings, analyze

KAPPA, RHO = 1.0, math.exp(-2.0)  # the law's constants every scripted run obeys
LR = 1e-3
DECLARED = {
    "weights/l2": {"direction": "none", "role": "weights", "split": None, "metric": "l2", "shown": False},
    "measures/norm": {"direction": "down", "role": "measure", "split": None, "metric": "norm", "shown": False},
}


def lawful(recipe: str, seed: int, generalize_at: int | None, *, decay_for: int | None = None,
           budget: int = 6000, domain: str = "modular") -> dict:
    """A scripted run whose V = l2^2 stays at 100 until memorization, then contracts at rate
    2 kappa eta lambda, with eta lambda chosen so V / V_mem = RHO exactly at the run's own G = 0.9
    step (or at the G = 0.9 step of a run generalizing at `decay_for`, for runs that never do)."""
    curve = scripted_curve(generalize_at=generalize_at)
    settings = ProfileSettings(chance=0.0, heldout_size=1000)
    profile = analyze(curve, settings)
    target = analyze(scripted_curve(generalize_at=decay_for), settings) if decay_for else profile
    t_mem, t_g = profile.memorized_step, target.generalized_step
    rate = math.log(1 / RHO) / (t_g - t_mem)            # = 2 kappa eta lambda
    weight_decay = rate / (2 * KAPPA * LR)
    for row in curve:
        v = 100.0 * math.exp(-rate * max(0.0, row["step"] - t_mem))
        row["weights/l2"], row["measures/norm"] = math.sqrt(v), v
    record = make_record(recipe, seed, curve, domain=domain)
    return {**record, "metrics": DECLARED,
            "config": {"optim": {"lr": LR, "weight_decay": weight_decay}, "trainer": {"max_steps": budget}}}


def scripted(tmp_path, extra: list[dict] = ()) -> list:
    runs = [lawful(f"r{k}", s, g) for k, gs in enumerate(((2000, 2400), (3000, 3500), (4000, 4800))) for s, g in
            enumerate(gs)]
    return histories(load_runs([write_runs(tmp_path, runs + list(extra))]))


def by_predictor(scored, name):
    return [s for s in scored if s.predictor == name]


def test_the_cut_is_online_and_past_memorization(tmp_path):
    hists = scripted(tmp_path)
    for h in hists:
        assert h.state == SCORED and h.cut >= CUT_FACTOR * h.memorized
        earlier = [r["step"] for r in h.rows if r["step"] >= CUT_FACTOR * h.memorized]
        assert earlier == [h.cut]  # the first evaluation at or after 1.5 x t_mem
        assert all(r["step"] > h.cut for r in h.after)


def test_the_law_and_the_measures_are_exact_on_runs_that_obey_the_law(tmp_path):
    scored = score_leave_out(scripted(tmp_path))
    for name in ("norm_law", "measures"):
        mine = by_predictor(scored, name)
        assert len(mine) == 6 and all(s.outcome == HIT for s in mine)
        assert summarize(mine).mape_delay == pytest.approx(0.0, abs=1e-6)


def test_the_naive_baseline_is_the_median_ratio_of_the_training_runs(tmp_path):
    hists = scripted(tmp_path)
    training = [h for h in hists if h.recipe != "r0"]
    ratios = sorted(h.generalized / h.memorized for h in training)
    assert fit_naive(training) == ratios[(len(ratios) - 1) // 2]
    held = next(h for h in hists if h.recipe == "r0")
    assert predict_naive(fit_naive(training), held).step == pytest.approx(max(ratios[1] * held.memorized, held.cut))


def test_predictions_read_nothing_after_the_cut(tmp_path):
    hists = scripted(tmp_path)
    blind = [h.__class__(**{**h.__dict__, "after": []}) if h.recipe == "r1" else h for h in hists]
    def steps(hs):
        return [(s.predictor, s.run.seed, s.prediction.step) for s in score_leave_out(hs) if s.run.recipe == "r1"]
    assert steps(hists) == steps(blind)


def test_a_run_without_decay_is_a_miss_for_the_law_and_a_decided_run_is_not_scored(tmp_path):
    no_decay = lawful("r3", 0, 3000)
    no_decay["config"]["optim"]["weight_decay"] = 0.0
    never = lawful("r3", 1, None, decay_for=3000)  # its norm contracts as if it would grok
    early = lawful("r4", 0, 400)                   # G = 0.9 before the cut
    hists = scripted(tmp_path, [no_decay, never, early])
    assert next(h for h in hists if h.recipe == "r4").state == DECIDED_BEFORE_CUT
    scored = {(s.predictor, s.run.recipe, s.run.seed): s for s in score_leave_out(hists)}
    assert scored[("norm_law", "r3", 0)].outcome == MISS
    assert scored[("norm_law", "r3", 1)].outcome == FALSE_ALARM
    assert scored[("measures", "r3", 1)].outcome == FALSE_ALARM
    assert scored[("naive", "r3", 1)].outcome == FALSE_ALARM


def test_the_law_needs_training_runs_whose_norm_fell():
    assert fit_norm_law([]) is None


def test_the_command_and_the_board_show_the_forecast(tmp_path, capsys):
    from grokbench.board import write_board
    from grokbench.cli import main

    runs = [lawful(f"r{k}", s, g) for k, gs in enumerate(((2000, 2400), (3000, 3500), (4000, 4800))) for s, g in
            enumerate(gs)]
    root = write_runs(tmp_path / "records", runs)
    assert main(["forecast", str(root)]) == 0
    printed = capsys.readouterr().out
    assert "| recipe     | norm_law: weight-norm first-passage law (Khanh et al. 2026) | 6      |" in printed
    assert main(["forecast", str(root), "--run", str(root / "r1" / "seed0")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("r1 seed 0: memorized at") and "calibrated on 4 runs of other recipes" in lines[0]
    assert lines[-1].startswith("  actual: ")
    readme = write_board([root], tmp_path / "board").read_text()
    assert "## Forecast" in readme and "(figures/forecast.png)" in readme
    assert (tmp_path / "board" / "figures" / "forecast.png").is_file()


def test_a_cut_below_memorization_is_refused_in_one_line(tmp_path, capsys):
    from grokbench.cli import main

    assert main(["forecast", str(tmp_path), "--cut", "0.5"]) == 2
    assert "--cut 0.5 is invalid; allowed: a number >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("module", ["grokbench.forecast", "grokbench.board.forecast_command"])
def test_the_forecast_imports_first_in_a_fresh_interpreter(module):
    """Entering through the forecast package first once hit an import loop with the board."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", f"import {module}"], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
