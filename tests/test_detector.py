"""The detector on scripted metric sequences, one per verdict, and across a checkpoint."""

import math

import pytest
import torch

from grokbench.detector import DetectorSettings, GrokkingDetector, analyze
from grokbench.errors import GrokbenchError

STEPS = [100 * (i + 1) for i in range(20)]  # evaluations at 100, 200, ..., 2000


def history(train, val, steps=STEPS, train_key="train_eval/acc", val_key="val/acc"):
    assert len(train) == len(val)
    return [{"step": s, train_key: t, val_key: v} for s, t, v in zip(steps, train, val)]


def ramp(start, stop, level_before, level_after, n=20):
    """level_before until index `start`, linear to level_after at `stop`, then flat."""
    out = []
    for i in range(n):
        frac = min(1.0, max(0.0, (i - start) / max(1, stop - start)))
        out.append(level_before + frac * (level_after - level_before))
    return out


def test_grokked_when_generalization_comes_long_after_memorization():
    train = ramp(0, 2, 0.1, 1.0)            # memorized at index 2 -> step 300
    val = ramp(8, 12, 0.05, 1.0)            # generalized at index 12 -> step 1300
    r = analyze(history(train, val), DetectorSettings())
    assert (r.verdict, r.memorized_step, r.generalized_step) == ("grokked", 300, 1300)
    assert r.delay_steps == 1000 and r.delay_ratio == pytest.approx(1300 / 300)


def test_generalized_when_val_follows_train_closely():
    train = ramp(0, 4, 0.1, 1.0)
    val = ramp(0, 5, 0.1, 1.0)
    r = analyze(history(train, val), DetectorSettings())
    assert (r.verdict, r.memorized_step, r.generalized_step) == ("generalized", 500, 600)


def test_memorized_when_val_never_reaches_threshold():
    r = analyze(history(ramp(0, 3, 0.1, 1.0), [0.3] * 20), DetectorSettings())
    assert (r.verdict, r.memorized_step, r.generalized_step) == ("memorized", 400, None)


def test_unfit_when_train_never_reaches_threshold():
    r = analyze(history([0.5] * 20, [0.5] * 20), DetectorSettings())
    assert (r.verdict, r.memorized_step) == ("unfit", None)


def test_noise_spikes_do_not_count_as_generalization():
    val = [0.2] * 20
    val[6] = val[10] = val[11] = 0.995  # isolated spikes, never 3 in a row
    r = analyze(history([1.0] * 20, val), DetectorSettings(sustain=3))
    assert r.verdict == "memorized" and r.generalized_step is None


def test_sustained_generalization_starts_at_the_first_step_of_the_run():
    val = [0.2] * 20
    val[6] = 0.995                      # a spike that does not last
    for i in range(12, 20):
        val[i] = 0.999
    r = analyze(history([1.0] * 20, val), DetectorSettings(sustain=3))
    assert r.generalized_step == STEPS[12]


def test_ungrokked_when_generalization_is_lost_at_the_end():
    train = [1.0] * 20
    val = [0.1] * 4 + [1.0] * 8 + [0.3] * 8
    r = analyze(history(train, val), DetectorSettings())
    assert (r.verdict, r.generalized_step) == ("ungrokked", STEPS[4])


def test_diverged_on_a_non_finite_loss():
    rows = history([0.2, 0.5, 1.0], [0.1, 0.1, 0.1], steps=[10, 20, 30])
    rows.append({"step": 40, "train_eval/acc": 0.0, "val/acc": 0.0, "finite": False})
    assert analyze(rows, DetectorSettings()).verdict == "diverged"


def test_relative_thresholds_for_a_regression_metric():
    """MSE (lower is better): memorize at 90% of the way to the best train value, and
    generalize at 90% of the way from the val value at memorization to the best val value."""
    train = [1.0, 0.5, 0.1, 0.01, 0.005] + [0.001] * 15
    val = [1.2, 1.1, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.6, 0.3] + [0.1] * 10
    settings = DetectorSettings(train_metric="train_eval/mse", val_metric="val/mse", mode="min",
                                threshold_kind="relative", memorize_threshold=0.9,
                                generalize_threshold=0.9)
    rows = history(train, val, train_key="train_eval/mse", val_key="val/mse")
    r = analyze(rows, settings)
    assert r.memorized_step == STEPS[2]                      # 0.1 <= 1.0 + 0.9 * (0.001 - 1.0)
    assert r.generalize_value == pytest.approx(1.0 + 0.9 * (0.1 - 1.0))
    assert (r.verdict, r.generalized_step) == ("grokked", STEPS[10])


def test_relative_threshold_needs_a_real_gain():
    """A flat val curve after memorization is not generalization, however close to 'best'."""
    settings = DetectorSettings(threshold_kind="relative", memorize_threshold=0.9,
                                generalize_threshold=0.9, min_gain=0.05)
    r = analyze(history(ramp(0, 2, 0.1, 1.0), [0.50] * 10 + [0.52] * 10), settings)
    assert r.verdict == "memorized"


def test_invalid_settings_are_one_line_errors():
    with pytest.raises(GrokbenchError, match="detector.mode='up' is invalid; allowed: max, min"):
        DetectorSettings(mode="up")
    with pytest.raises(GrokbenchError, match=r"allowed: \(0, 1\]"):
        DetectorSettings(threshold_kind="relative", generalize_threshold=1.5)


class FakeTrainer:
    def __init__(self):
        self.sanity_checking, self.should_stop, self.global_step = False, False, 0
        self.callback_metrics = {}


def feed(detector, trainer, train, val, steps):
    for step, t, v in zip(steps, train, val):
        trainer.global_step = step
        trainer.callback_metrics = {"train_eval/acc": torch.tensor(t), "val/acc": torch.tensor(v),
                                    "train_eval/loss": torch.tensor(0.1)}
        detector.on_validation_end(trainer, None)


def test_state_survives_a_checkpoint_round_trip(tmp_path):
    train, val = ramp(0, 2, 0.1, 1.0), ramp(8, 12, 0.05, 1.0)
    whole = GrokkingDetector()
    feed(whole, FakeTrainer(), train, val, STEPS)

    first = GrokkingDetector()
    feed(first, FakeTrainer(), train[:9], val[:9], STEPS[:9])
    torch.save({"callbacks": {first.state_key: first.state_dict()}}, tmp_path / "last.ckpt")
    resumed = GrokkingDetector()
    resumed.load_state_dict(torch.load(tmp_path / "last.ckpt")["callbacks"][resumed.state_key])
    feed(resumed, FakeTrainer(), train[9:], val[9:], STEPS[9:])
    assert resumed.result() == whole.result()
    assert resumed.result().verdict == "grokked"


def test_stops_a_set_number_of_steps_after_sustained_generalization():
    detector, trainer = GrokkingDetector(stop_after_steps=300), FakeTrainer()
    train, val = [1.0] * 20, [0.1] * 5 + [1.0] * 15
    for i in range(20):
        feed(detector, trainer, [train[i]], [val[i]], [STEPS[i]])
        if trainer.should_stop:
            break
    assert detector.result().generalized_step == STEPS[5]
    assert trainer.global_step == STEPS[5] + 300


def test_a_nan_loss_stops_training_and_diverges():
    detector, trainer = GrokkingDetector(), FakeTrainer()
    trainer.global_step = 10
    trainer.callback_metrics = {"train_eval/acc": torch.tensor(0.1), "val/acc": torch.tensor(0.1),
                                "train_eval/loss": torch.tensor(math.nan)}
    detector.on_validation_end(trainer, None)
    assert trainer.should_stop and detector.result().verdict == "diverged"
