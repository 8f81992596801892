"""The detector callback: history across a checkpoint, early stop, divergence. The profile
itself is tested on scripted histories in test_profile.py."""

import math

import torch

from grokbench.callbacks.detector import GrokkingDetector
from grokbench.kinds import declare_run
from grokbench.profile import ProfileSettings


class FakeModule:
    """What the detector reads of a module: the declarations of the keys it logs."""

    declarations = declare_run("classification", ("train_eval", "val"))


SETTINGS = ProfileSettings(chance=0.05, heldout_size=1000)  # held-out accuracy starts at chance (0.05)

STEPS = [100 * (i + 1) for i in range(20)]  # evaluations at 100, 200, ..., 2000


def ramp(start, stop, level_before, level_after, n=20):
    """level_before until index `start`, linear to level_after at `stop`, then flat."""
    out = []
    for i in range(n):
        frac = min(1.0, max(0.0, (i - start) / max(1, stop - start)))
        out.append(level_before + frac * (level_after - level_before))
    return out


class FakeTrainer:
    def __init__(self):
        self.sanity_checking, self.should_stop, self.global_step = False, False, 0
        self.callback_metrics = {}


def feed(detector, trainer, train, val, steps):
    for step, t, v in zip(steps, train, val):
        trainer.global_step = step
        trainer.callback_metrics = {"train_eval/acc": torch.tensor(t), "val/acc": torch.tensor(v),
                                    "train_eval/loss": torch.tensor(0.1)}
        detector.on_validation_end(trainer, FakeModule())


def test_state_survives_a_checkpoint_round_trip(tmp_path):
    train, val = ramp(0, 2, 0.1, 1.0), ramp(8, 12, 0.05, 1.0)
    whole = GrokkingDetector(SETTINGS)
    feed(whole, FakeTrainer(), train, val, STEPS)

    first = GrokkingDetector(SETTINGS)
    feed(first, FakeTrainer(), train[:9], val[:9], STEPS[:9])
    torch.save({"callbacks": {first.state_key: first.state_dict()}}, tmp_path / "last.ckpt")
    resumed = GrokkingDetector(SETTINGS)
    resumed.load_state_dict(torch.load(tmp_path / "last.ckpt")["callbacks"][resumed.state_key])
    feed(resumed, FakeTrainer(), train[9:], val[9:], STEPS[9:])
    assert resumed.result() == whole.result()
    assert resumed.result().verdict == "grokked"


def test_stops_a_set_number_of_steps_after_sustained_generalization():
    detector, trainer = GrokkingDetector(SETTINGS, stop_after_steps=300), FakeTrainer()
    train, val = [1.0] * 20, [0.1] * 5 + [1.0] * 15
    for i in range(20):
        feed(detector, trainer, [train[i]], [val[i]], [STEPS[i]])
        if trainer.should_stop:
            break
    assert detector.result().generalized_step == STEPS[5]
    assert trainer.global_step == STEPS[5] + 300


def test_a_nan_loss_stops_training_and_diverges():
    detector, trainer = GrokkingDetector(SETTINGS), FakeTrainer()
    trainer.global_step = 10
    trainer.callback_metrics = {"train_eval/acc": torch.tensor(0.1), "val/acc": torch.tensor(0.1),
                                "train_eval/loss": torch.tensor(math.nan)}
    detector.on_validation_end(trainer, FakeModule())
    assert trainer.should_stop and detector.result().verdict == "diverged"
