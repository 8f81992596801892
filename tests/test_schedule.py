"""Evaluation points: every N steps or ten per decade (never denser than N), and the last step."""

import itertools

from grokbench.callbacks.schedule import evaluation_interval


def evaluation_steps(every: int, max_steps: int, log_spaced: bool = True, max_every: int | None = None) -> list[int]:
    """The steps Lightning evaluates at: multiples of the interval, updated after each evaluation."""
    steps, interval = [], evaluation_interval(0, every, log_spaced, max_steps, max_every)
    for step in range(1, max_steps + 1):
        if step % interval == 0:
            steps.append(step)
            interval = evaluation_interval(step, every, log_spaced, max_steps, max_every)
    return steps


def test_ten_evaluations_per_decade():
    steps = evaluation_steps(every=10, max_steps=10_000)
    assert steps[:10] == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert steps[10:19] == [200, 300, 400, 500, 600, 700, 800, 900, 1000]
    assert steps[19:] == [2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000]


def test_never_denser_than_every():
    steps = evaluation_steps(every=250, max_steps=3000)
    assert all(b - a >= 250 for a, b in itertools.pairwise(steps))
    assert steps[:4] == [250, 500, 750, 1000]


def test_the_last_step_is_always_evaluated():
    assert evaluation_steps(every=50, max_steps=15_000)[-3:] == [9000, 10_000, 15_000]
    assert evaluation_steps(every=250, max_steps=3_100)[-2:] == [3000, 3100]
    assert evaluation_steps(every=7, max_steps=1_234)[-1] == 1_234


def test_fixed_interval_also_ends_on_the_last_step():
    assert evaluation_steps(every=250, max_steps=1_000, log_spaced=False) == [250, 500, 750, 1000]
    steps = evaluation_steps(every=300, max_steps=1_000, log_spaced=False)
    assert steps == [300, 600, 900, 1000]


def test_max_every_bounds_the_log_spaced_interval():
    """quick_cifar10's schedule: log-spaced early, then every 1,000 steps to the end, so the
    steps past 10,000 hold enough evaluations for a sustained level."""
    steps = evaluation_steps(every=250, max_steps=15_000, max_every=1000)
    assert steps[:5] == [250, 500, 750, 1000, 2000]
    assert steps[-6:] == [10_000, 11_000, 12_000, 13_000, 14_000, 15_000]
    assert all(b - a <= 1000 for a, b in itertools.pairwise(steps))
