"""Evaluation points: every N steps or twenty per decade (never denser than N), and the last step."""

import itertools

import numpy as np

from grokbench.callbacks.schedule import evaluation_interval


def evaluation_steps(every: int, max_steps: int, log_spaced: bool = True, max_every: int | None = None) -> list[int]:
    """The steps Lightning evaluates at: multiples of the interval, updated after each evaluation."""
    steps, interval = [], evaluation_interval(0, every, log_spaced, max_steps, max_every)
    for step in range(1, max_steps + 1):
        if step % interval == 0:
            steps.append(step)
            interval = evaluation_interval(step, every, log_spaced, max_steps, max_every)
    return steps


def test_twenty_evaluations_per_decade_evenly_on_a_log_axis():
    steps = evaluation_steps(every=10, max_steps=100_000)
    assert steps[:10] == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]   # never denser than `every`
    gaps = np.diff(np.log10([s for s in steps if s >= 1000]))
    assert gaps.max() <= 0.05                                           # never sparser than 20 per decade
    assert 20 <= sum(1000 <= s < 10_000 for s in steps) <= 40           # nor denser than 40 (`every` x 2^k)


def test_never_denser_than_every():
    steps = evaluation_steps(every=250, max_steps=3000)
    assert all(b - a >= 250 for a, b in itertools.pairwise(steps))
    assert steps[:4] == [250, 500, 750, 1000]


def test_the_last_step_is_always_evaluated():
    assert evaluation_steps(every=50, max_steps=15_000)[-1] == 15_000
    assert evaluation_steps(every=250, max_steps=3_100)[-1] == 3100
    assert evaluation_steps(every=7, max_steps=1_234)[-1] == 1_234


def test_fixed_interval_also_ends_on_the_last_step():
    assert evaluation_steps(every=250, max_steps=1_000, log_spaced=False) == [250, 500, 750, 1000]
    steps = evaluation_steps(every=300, max_steps=1_000, log_spaced=False)
    assert steps == [300, 600, 900, 1000]


def test_max_every_bounds_the_log_spaced_interval():
    """A long run's last decade keeps enough evaluations for a sustained level."""
    steps = evaluation_steps(every=50, max_steps=15_000, max_every=500)
    assert steps[:3] == [50, 100, 150]
    assert all(b - a <= 500 for a, b in itertools.pairwise(steps)) and steps[-1] == 15_000
