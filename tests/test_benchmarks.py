"""The benchmarks run: benchmarks/qm9_step.py in its smoke mode on tiny generated molecules (every
candidate cut agrees with eager, is timed, and the profile and JSON are written), and its loss
check tells a cut that changes the training apart from one that does not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_molecules import write_qm9  # tiny generated molecules, as the domain's own tests use

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))  # the benchmarks import each other's helpers as scripts do
import qm9_step
from overhead import plain_run, timing_config

TINY = ["task.n_train=12", "task.n_val=4", "task.batch_size=4"]


@pytest.fixture
def tiny_qm9(tmp_path) -> list[str]:
    return [f"task.source={write_qm9(tmp_path / 'qm9.csv')}", *TINY]


def test_smoke_run_checks_every_cut_against_eager_times_it_and_writes_the_json(tmp_path, tiny_qm9):
    out = tmp_path / "qm9_step.json"
    done = subprocess.run([sys.executable, str(BENCHMARKS / "qm9_step.py"), "--smoke", "--out", str(out), *tiny_qm9],
                          check=False, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["threads"] == 1 and result["rounds"] == 1
    candidates = result["candidates"]
    cuts = ["torch.compile(model)", "fused message passing", "AdamW fused=True", "2 seeds stacked (vmap)"]
    assert list(candidates) == ["plain PyTorch loop (eager)", "grokbench (Trainer + GrokModule)", *cuts]
    for name in cuts:
        assert candidates[name]["agrees"], (name, candidates[name])
        assert candidates[name]["max_relative_loss_difference"] <= qm9_step.LOSS_RTOL
    assert all(row["steps_per_second"] > 0 and len(row["per_round_ms"]) == 1 for row in candidates.values())
    ops = result["profile"]["top_ops"]
    assert 0 < len(ops) <= 10 and ops == sorted(ops, key=lambda op: -op["self_cpu_us_per_step"])
    assert "torch threads 1" in done.stdout and ops[0]["op"] in done.stdout


def test_the_loss_check_rejects_a_cut_that_changes_the_training(tiny_qm9):
    overrides = [qm9_step.EXPERIMENT, *tiny_qm9]
    eager = qm9_step.Eager(overrides, 3)

    def doubled_lr(steps, warmup, on_step=None):
        return plain_run(timing_config([*overrides, "optim.lr=2e-3"], steps), warmup, None, on_step)

    assert not eager.check(qm9_step.Cut("lr x 2", doubled_lr))["agrees"]
    assert eager.check(qm9_step.cuts(overrides, 2)[1])["agrees"]  # fused message passing: the same function


def test_bad_argument_gets_one_line(tiny_qm9):
    done = subprocess.run([sys.executable, str(BENCHMARKS / "qm9_step.py"), "--check-steps", "1", *tiny_qm9],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stderr.strip() == \
        "error: --check-steps=1 is invalid; allowed: an integer >= 2"
