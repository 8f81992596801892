"""The grokking profile (v3) on scripted evaluation histories: the chance band, plateau as
flatness, below-chance memorization, the delay and its censoring, every verdict, and the
sensitivity re-scoring; numbers against hand computations."""

import math

import numpy as np
import pytest

from grokbench.errors import GrokbenchError
from grokbench.profile import ProfileSettings, analyze, band_halfwidth, describe, held_start
from grokbench.profile.sensitivity import Point, majority_of, robustness, thinned, verdicts

CHANCE, N = 0.1, 1000  # ten classes, 1,000 held-out examples
SETTINGS = ProfileSettings(chance=CHANCE, heldout_size=N)
BAND = 3 * math.sqrt(0.1 * 0.9 / N) / 0.9  # three binomial standard errors at chance, in G: 0.0316
STEPS = [round(10 ** (2 + i / 20)) for i in range(61)]  # 100 .. 100,000, twenty per decade


def at(progress):
    """The metric value at a given progress from chance (0.1) to 1.0."""
    return CHANCE + progress * (1 - CHANCE)


def history(train, val, steps=STEPS, loss=None):
    rows = [{"step": s, "train_eval/acc": at(t), "val/acc": at(v)} for s, t, v in zip(steps, train, val)]
    for row, value in zip(rows, loss or []):
        row["val/loss"] = value
    return rows


def step_curve(switch, before, after):
    return [before if i < switch else after for i in range(len(STEPS))]


FIT = step_curve(10, 0.2, 1.0)  # the training set is fit from index 10 (step 316)


def test_the_band_is_three_standard_errors_of_the_metric_at_chance():
    assert band_halfwidth(SETTINGS) == pytest.approx(BAND)
    r2 = ProfileSettings(chance=0.0, reference=0.5, heldout_size=500, noise="r2", train_metric="t", val_metric="v")
    assert band_halfwidth(r2) == pytest.approx(3 * math.sqrt(2 / 500) / 0.5)   # sqrt(2/n), in units of G
    with pytest.raises(GrokbenchError, match="heldout_size"):
        band_halfwidth(ProfileSettings(chance=CHANCE))


def test_classic_grokking_with_its_numbers():
    val = step_curve(30, 0.0, 1.0)                   # leaves chance at index 30 (step 3,162)
    p = analyze(history(FIT, val), SETTINGS)
    assert p.verdict == "grokked" and p.memorized_in_band == "inside"
    assert p.memorized_step == STEPS[10] and p.progress_at_memorization == pytest.approx(0.0)
    assert p.plateau_decades == pytest.approx(math.log10(STEPS[29] / STEPS[10]), abs=1e-4)  # last flat point
    assert p.leave_step == STEPS[30] and p.delay_decades == pytest.approx(1.0, abs=1e-3) and not p.delay_censored
    assert p.generalized_step == p.half_step == STEPS[30] and p.transition_decades == pytest.approx(0.0)
    m, g = np.array(FIT), np.array(val)
    assert p.gap_area_decades == pytest.approx(float(np.trapezoid(m - g, np.log10(STEPS))), abs=1e-4)
    assert describe(p).startswith("grokked: memorized at step 316 with held-out progress 0.00 (inside the chance band")


def test_a_rise_from_memorization_on_is_no_plateau():
    # quick_mnist's shape: G 0.18 at memorization, climbing from there; the old "plateau"
    # (time to G = 0.5) called this a delay; flatness does not.
    val = [0.0] * 10 + [min(1.0, 0.18 + 0.06 * k) for k in range(51)]
    p = analyze(history(FIT, val), SETTINGS)
    assert p.memorized_in_band == "above" and p.plateau_decades is None
    assert p.delay_decades <= 0 and p.verdict == "generalized"


def test_below_chance_at_memorization_is_its_own_state_not_low_progress():
    # QM9's alpha-scaled output: R^2 of -13 when the training set is fit.
    settings = ProfileSettings(chance=0.0, reference=0.95, heldout_size=500, noise="r2",
                               train_metric="train_eval/r2", val_metric="val/r2")
    rows = [{"step": s, "train_eval/r2": 1.0 if i >= 10 else 0.5, "val/r2": -13.0 if i < 40 else 0.94}
            for i, s in enumerate(STEPS)]
    p = analyze(rows, settings)
    assert p.memorized_in_band == "below" and p.plateau_decades is None
    assert p.verdict == "generalized" and "below the chance band" in describe(p)


def test_one_excursion_above_the_band_does_not_end_the_plateau():
    val = step_curve(30, 0.0, 1.0)
    val[15] = 5 * BAND                               # one evaluation outside, then back at chance
    p = analyze(history(FIT, val), SETTINGS)
    assert p.leave_step == STEPS[30] and p.verdict == "grokked"


def test_a_short_flat_stretch_is_generalized():
    val = step_curve(14, 0.0, 1.0)                   # flat 0.15 decades after memorization: < 0.225
    p = analyze(history(FIT, val), SETTINGS)
    assert p.plateau_decades == pytest.approx(math.log10(STEPS[13] / STEPS[10]), abs=1e-4)
    assert p.verdict == "generalized"


def test_unfit_when_the_training_set_is_never_fit():
    p = analyze(history([0.5] * 61, [0.0] * 61), SETTINGS)
    assert p.verdict == "unfit" and p.memorized_step is None
    assert describe(p).startswith("unfit: never memorized")


def test_memorized_when_held_out_settles_at_chance_with_a_censored_delay():
    p = analyze(history(FIT, [0.0] * 61), SETTINGS)
    assert p.verdict == "memorized" and not p.censored and p.settle_rise == pytest.approx(0.0)
    assert p.delay_censored and p.leave_step is None and p.delay_decades == pytest.approx(2.5, abs=1e-3)
    assert p.plateau_decades == pytest.approx(2.5, abs=1e-3)  # flat to the end: a lower bound


def test_censored_when_held_out_still_rises_faster_than_the_tolerance():
    # 0.04 per doubling over the last doubling: over the 0.03 tolerance.
    val = [0.0] * 40 + [0.04 * math.log2(STEPS[i] / STEPS[40]) for i in range(40, 61)]
    p = analyze(history(FIT, val), SETTINGS)
    assert p.settle_rise == pytest.approx(0.04, abs=2e-3) and p.verdict == "censored"


def test_censored_when_crossing_in_the_last_evaluations():
    val = [0.0] * 59 + [0.95, 0.97]                  # two evaluations: cannot hold three
    p = analyze(history(FIT, val), SETTINGS)
    assert p.generalized_step_first == STEPS[59] and p.generalized_step is None and p.verdict == "censored"


def test_censored_when_memorized_in_the_last_doubling():
    p = analyze(history(step_curve(57, 0.2, 1.0), [0.0] * 61), SETTINGS)
    assert p.memorized_step == STEPS[57] and p.verdict == "censored"


def test_ungrokked_when_generalization_is_lost():
    val = step_curve(30, 0.0, 1.0)[:50] + [0.3] * 11
    p = analyze(history(FIT, val), SETTINGS)
    assert p.generalized_step == STEPS[30] and p.verdict == "ungrokked" and p.stability == pytest.approx(20 / 31, abs=1e-4)


def test_diverged_on_a_non_finite_loss():
    rows = history([1.0] * 61, [1.0] * 61)
    rows[10]["finite"] = False
    assert analyze(rows, SETTINGS).verdict == "diverged"


def test_slingshot_spikes_do_not_undo_memorization():
    train = [0.2] * 10 + [0.4 if (i - 10) % 4 == 3 else 1.0 for i in range(10, 61)]
    p = analyze(history(train, step_curve(30, 0.0, 1.0)), SETTINGS)
    assert p.memorized_step == STEPS[10] and p.verdict == "grokked"


def test_held_start_needs_a_majority_and_sustain_passes():
    values = np.array([0, 1, 0, 0, 0, 0, 1, 1, 0, 1, 1], dtype=float)
    assert held_start(values, 1.0, sustain=3) == 6
    assert held_start(np.array([0, 0, 1, 1.0]), 1.0, sustain=3) is None


def test_held_out_loss_bump_after_memorization():
    loss = [2.0] * 10 + [1.0] + [3.0] * 19 + [0.1] * 31
    p = analyze(history(FIT, step_curve(30, 0.0, 1.0), loss=loss), SETTINGS)
    assert p.val_loss_bump == pytest.approx(3.0)


def test_progress_is_relative_to_the_reference():
    # A control that converges at 0.6 accuracy: 0.595 is G = 0.95 of the way there.
    rows = [{"step": s, "train_eval/acc": 1.0 if i >= 10 else 0.7, "val/acc": 0.5 if i < 30 else 0.595}
            for i, s in enumerate(STEPS)]
    assert analyze(rows, ProfileSettings(chance=0.5, reference=0.6, heldout_size=N)).verdict == "grokked"
    assert analyze(rows, ProfileSettings(chance=0.5, heldout_size=N)).verdict == "memorized"


@pytest.mark.parametrize("key,value,message", [
    ("sustain", 0, "detector.sustain=0 is invalid; allowed: an integer >= 1"),
    ("memorize_level", 1.5, r"detector.memorize_level=1.5 is invalid; allowed: a number in \(0, 1\]"),
    ("reference", 0.0, "detector.reference=0.0 equals the chance level"),
    ("settle_tolerance", -1, "detector.settle_tolerance=-1 is invalid"),
    ("noise", "gauss", "detector.noise='gauss' is unknown; allowed: binomial, r2"),
    ("heldout_size", 0, "detector.heldout_size=0 is invalid"),
])
def test_bad_settings_name_the_value(key, value, message):
    with pytest.raises(GrokbenchError, match=message):
        ProfileSettings(**{key: value})


# --- sensitivity -------------------------------------------------------------------------------
def test_thinned_schedules_keep_every_other_evaluation_and_the_last():
    rows = history(FIT, step_curve(30, 0.0, 1.0))
    assert [r["step"] for r in thinned(rows, "even")] == [*STEPS[0::2]]
    assert [r["step"] for r in thinned(rows, "odd")] == [*STEPS[1::2], STEPS[-1]]


def test_a_clear_grokking_curve_is_robust_and_a_knife_edge_is_not():
    clear = verdicts(history(FIT, step_curve(30, 0.0, 1.0)), SETTINGS)
    assert set(clear.values()) == {"grokked"} and len(clear) == 81   # 3 schedules x 27 level points
    edge = verdicts(history(FIT, step_curve(15, 0.0, 1.0)), SETTINGS)  # flat 0.2 decades: between levels
    assert {"grokked", "generalized"} <= set(edge.values())
    r = robustness([clear, clear, edge], ["grokked", "grokked", "generalized"])
    assert r.majority == "grokked" and r.robust and r.grokked_low == 2 and r.grokked_high == 3
    r = robustness([edge, edge, clear], ["generalized", "generalized", "grokked"])
    assert not r.robust and r.flips and all(isinstance(p, Point) for p in r.flips)
    assert majority_of(["grokked", "memorized"]) is None
