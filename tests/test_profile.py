"""The grokking profile on scripted evaluation histories: one per verdict, spike-tolerant
memorization, censoring, and the profile's numbers against hand-computed values."""

import math

import numpy as np
import pytest

from grokbench.callbacks.profile import ProfileSettings, analyze, describe, held_start
from grokbench.errors import GrokbenchError

CHANCE = 0.1  # ten classes
SETTINGS = ProfileSettings(chance=CHANCE)
STEPS = [round(10 ** (2 + i / 10)) for i in range(31)]  # 100 .. 100,000, ten per decade


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


def test_classic_grokking_with_its_numbers():
    train = step_curve(5, 0.2, 1.0)                  # fit from step 316 (index 5)
    val = step_curve(15, 0.02, 1.0)                  # generalizes at step 3,162 (index 15)
    p = analyze(history(train, val), SETTINGS)
    assert p.verdict == "grokked"
    assert p.memorized_step == STEPS[5] and p.progress_at_memorization == pytest.approx(0.02)
    assert p.half_step == p.half_step_first == STEPS[15]
    assert p.generalized_step == p.generalized_step_first == STEPS[15]
    assert p.plateau_decades == pytest.approx(1.0, abs=1e-3)   # index 5 -> 15: one decade
    assert p.transition_decades == pytest.approx(0.0)          # a jump: 10% and 90% at once
    assert p.stability == 1.0 and not p.censored
    # Gap: M - G is 0.18 for 0.5 decade (indices 0-5), ~0.98 from 5 to 15, then 0 (trapezoids).
    m, g = np.array(train), np.array(val)
    expected = float(np.trapezoid(m - g, np.log10(STEPS)))
    assert p.gap_area_decades == pytest.approx(expected, abs=1e-4)
    assert "grokked: memorized at step 316 with held-out progress 0.02" in describe(p)


def test_generalizing_with_memorization_is_not_grokking():
    train = step_curve(5, 0.2, 1.0)
    val = step_curve(5, 0.1, 0.95)                   # held-out follows the training set at once
    assert analyze(history(train, val), SETTINGS).verdict == "generalized"


def test_high_progress_at_memorization_is_not_grokking_even_with_a_delay():
    # The mirror-pair leak: half the held-out set right when the training set is fit.
    train, val = step_curve(5, 0.2, 1.0), step_curve(5, 0.0, 0.45)[:15] + [1.0] * 16
    p = analyze(history(train, val), SETTINGS)
    assert p.progress_at_memorization == pytest.approx(0.45) and p.verdict == "generalized"


def test_a_short_delay_is_generalized():
    train = step_curve(5, 0.2, 1.0)
    val = step_curve(7, 0.05, 1.0)                   # 0.2 decades later: under the 0.3 minimum
    p = analyze(history(train, val), SETTINGS)
    assert p.plateau_decades == pytest.approx(0.2, abs=1e-3) and p.verdict == "generalized"


def test_unfit_when_the_training_set_is_never_fit():
    p = analyze(history([0.5] * 31, [0.1] * 31), SETTINGS)
    assert p.verdict == "unfit" and p.memorized_step is None
    assert describe(p).startswith("unfit: never memorized")


def test_memorized_when_held_out_settles_low():
    p = analyze(history(step_curve(5, 0.2, 1.0), [0.05] * 31), SETTINGS)
    assert p.verdict == "memorized" and not p.censored and p.settle_rise == pytest.approx(0.0)


def test_censored_when_held_out_still_rises_at_the_end():
    # Rising 0.05 per evaluation over the last doubling: ~0.15 per doubling > 0.1.
    val = [0.0] * 20 + [0.05 * k for k in range(1, 12)]
    p = analyze(history(step_curve(5, 0.2, 1.0), val), SETTINGS)
    assert p.verdict == "censored" and p.censored and p.settle_rise > SETTINGS.settle_tolerance


def test_censored_when_crossing_in_the_last_evaluations():
    val = [0.0] * 29 + [0.95, 0.97]                  # two evaluations: cannot hold three
    p = analyze(history(step_curve(5, 0.2, 1.0), val), SETTINGS)
    assert p.generalized_step_first == STEPS[29] and p.generalized_step is None
    assert p.verdict == "censored"


def test_censored_when_memorized_in_the_last_doubling():
    p = analyze(history(step_curve(28, 0.2, 1.0), [0.0] * 31), SETTINGS)
    assert p.memorized_step == STEPS[28] and p.verdict == "censored"


def test_ungrokked_when_generalization_is_lost():
    val = step_curve(15, 0.0, 1.0)[:24] + [0.3] * 7
    p = analyze(history(step_curve(5, 0.2, 1.0), val), SETTINGS)
    assert p.generalized_step == STEPS[15] and p.verdict == "ungrokked"
    assert p.stability == pytest.approx(9 / 16)


def test_diverged_on_a_non_finite_loss():
    rows = history([1.0] * 31, [1.0] * 31)
    rows[10]["finite"] = False
    assert analyze(rows, SETTINGS).verdict == "diverged"


def test_slingshot_spikes_do_not_undo_memorization():
    # Fit from index 5, with a one-evaluation loss spike every fourth evaluation (Adam's
    # slingshots): fitted at 3 of 4 evaluations, never three in a row after the first spike.
    train = [0.2] * 5 + [0.4 if (i - 5) % 4 == 3 else 1.0 for i in range(5, 31)]
    val = step_curve(15, 0.02, 1.0)
    p = analyze(history(train, val), SETTINGS)
    assert p.memorized_step == STEPS[5] and p.verdict == "grokked"


def test_spikes_that_dominate_are_not_memorization():
    train = [0.2] * 5 + [1.0 if i % 3 == 0 else 0.3 for i in range(5, 31)]  # fit a third of the time
    assert analyze(history(train, [0.0] * 31), SETTINGS).verdict == "unfit"


def test_held_start_needs_a_majority_and_sustain_passes():
    values = np.array([0, 1, 0, 0, 0, 0, 1, 1, 0, 1, 1], dtype=float)
    assert held_start(values, 1.0, sustain=3) == 6  # from 1: 5 of 10 (no majority); from 6: 4 of 5
    assert held_start(np.array([0, 0, 1, 1.0]), 1.0, sustain=3) is None


def test_transition_width_from_ten_to_ninety_percent_of_the_gain():
    # G rises linearly over indices 10..20 from 0 to 1: 10% at index 11, 90% at index 19.
    val = [0.0] * 10 + [(i - 10) / 10 + 1e-3 for i in range(10, 21)] + [1.0] * 10
    p = analyze(history(step_curve(2, 0.2, 1.0), val), SETTINGS)
    assert p.transition_decades == pytest.approx(0.8, abs=1e-3)  # 8 evaluations, 0.1 decade each


def test_held_out_loss_bump_after_memorization():
    loss = [2.0] * 5 + [1.0] + [3.0] * 10 + [0.1] * 15   # 1.0 at memorization, peaks at 3.0
    p = analyze(history(step_curve(5, 0.2, 1.0), step_curve(16, 0.0, 1.0), loss=loss), SETTINGS)
    assert p.val_loss_bump == pytest.approx(3.0)


def test_progress_is_relative_to_the_reference_and_direction_free():
    # A control that converges at 0.6 accuracy: reaching 0.595 is G = 0.95 of the way there,
    # although 0.595 is far from the perfect score.
    rows = [{"step": s, "train_eval/acc": 1.0 if i >= 3 else 0.7, "val/acc": 0.5 if i < 15 else 0.595}
            for i, s in enumerate(STEPS)]
    p = analyze(rows, ProfileSettings(chance=0.5, reference=0.6))
    assert p.generalized_step == STEPS[15] and p.verdict == "grokked"
    assert analyze(rows, ProfileSettings(chance=0.5)).verdict == "memorized"


def test_the_same_levels_serve_any_number_of_classes():
    for classes in (2, 10, 97):
        chance = 1 / classes
        rows = [{"step": s, "train_eval/acc": 1.0 if i >= 5 else chance,
                 "val/acc": chance if i < 15 else 0.99} for i, s in enumerate(STEPS)]
        assert analyze(rows, ProfileSettings(chance=chance)).verdict == "grokked"


@pytest.mark.parametrize("key,value,message", [
    ("sustain", 0, "detector.sustain=0 is invalid; allowed: an integer >= 1"),
    ("memorize_level", 1.5, r"detector.memorize_level=1.5 is invalid; allowed: a number in \(0, 1\]"),
    ("reference", 0.0, "detector.reference=0.0 equals the chance level"),
    ("settle_tolerance", -1, "detector.settle_tolerance=-1 is invalid"),
])
def test_bad_settings_name_the_value(key, value, message):
    with pytest.raises(GrokbenchError, match=message):
        ProfileSettings(**{key: value})


def test_describe_mentions_decades_and_transition():
    p = analyze(history(step_curve(5, 0.2, 1.0), step_curve(15, 0.02, 1.0)), SETTINGS)
    text = describe(p)
    assert f"generalized (G=0.9) at step {STEPS[15]:,}, {math.log10(STEPS[15] / STEPS[5]):.2f} decades later" in text
    assert "transition 0.00 decades" in text
