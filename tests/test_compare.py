"""`grokbench compare`: the grok-rate and Kaplan-Meier gates, the environment pin and exit codes,
on schema-2 records written from scripted curves (tests/fixtures/scripted_records.py)."""

from __future__ import annotations

from pathlib import Path

from fixtures.scripted_records import make_record, scripted_curve, write_runs

from grokbench.cli import main


def runs(root: Path, recipe: str, generalize_at: list[int | None], **kwargs) -> Path:
    """One run per seed; None: never generalizes (memorized). Linear evaluations every 50 steps
    so steps to G = 0.9 follow `generalize_at` closely."""
    return write_runs(root, [make_record(recipe, seed, scripted_curve(generalize_at=g, every=50), **kwargs)
                             for seed, g in enumerate(generalize_at)])


def test_identical_records_pass(tmp_path, capsys):
    old = runs(tmp_path / "old", "a", [3000] * 3)
    assert main(["compare", str(old), str(old)]) == 0
    out = capsys.readouterr().out
    assert "torch OLD 2.15.0 (threads 1) · NEW 2.15.0 (threads 1)" in out and "0 regression(s)" in out


def test_grok_rate_may_drop_by_the_tolerance_only(tmp_path, capsys):
    old = runs(tmp_path / "old", "a", [3000] * 5)
    two_fewer = runs(tmp_path / "two", "a", [3000, 3000, 3000, None, None])
    three_fewer = runs(tmp_path / "three", "a", [3000, 3000, None, None, None])
    assert main(["compare", str(old), str(two_fewer)]) == 0  # 2 of 5 seeds: within 0.4
    assert main(["compare", str(old), str(three_fewer)]) == 1
    assert "REGRESSION: grok rate fell by 0.60" in capsys.readouterr().out
    assert main(["compare", str(old), str(two_fewer), "--rate-tolerance", "0.2"]) == 1


def test_km_median_may_grow_by_the_factor_only(tmp_path, capsys):
    old = runs(tmp_path / "old", "a", [2000] * 3)
    new = runs(tmp_path / "new", "a", [2800] * 3)
    assert main(["compare", str(old), str(new)]) == 0  # 1.4x < 1.5x
    assert main(["compare", str(old), str(new), "--factor", "1.2"]) == 1
    assert "x later (> 1.2x)" in capsys.readouterr().out


def test_median_lost_is_a_regression(tmp_path, capsys):
    old = runs(tmp_path / "old", "a", [2000] * 5)
    new = runs(tmp_path / "new", "a", [2000, 2000, None, None, None])
    assert main(["compare", str(old), str(new), "--rate-tolerance", "1"]) == 1
    assert "fewer than half the runs reach G=0.9 now" in capsys.readouterr().out


def test_configurations_only_in_old_are_counted_not_listed(tmp_path, capsys):
    old = runs(tmp_path / "old", "a", [3000] * 3)
    runs(old, "b", [3000] * 3)
    new = runs(tmp_path / "new", "a", [3000] * 3)
    runs(new, "c", [3000] * 3)
    assert main(["compare", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert "1 configurations not run in NEW" in out and "| b " not in out and "missing" not in out
    assert "| new " in out  # c: only in NEW


def test_environment_change_exits_2_unless_allowed(tmp_path, capsys):
    old = runs(tmp_path / "old", "a", [3000] * 3)
    other_torch = runs(tmp_path / "torch", "a", [3000] * 3, torch="2.16.0")
    other_threads = runs(tmp_path / "threads", "a", [3000] * 3, threads=4)
    assert main(["compare", str(old), str(other_torch)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "torch OLD 2.15.0 (threads 1) · NEW 2.16.0 (threads 1)" in error
    assert main(["compare", str(old), str(other_threads)]) == 2
    assert "NEW 2.15.0 (threads 4)" in capsys.readouterr().err
    assert main(["compare", str(old), str(other_torch), "--allow-env-change"]) == 0


def test_bad_input_exits_2(tmp_path, capsys):
    old = runs(tmp_path / "old", "a", [3000])
    assert main(["compare", str(old), str(tmp_path / "empty")]) == 2
    assert main(["compare", str(old), str(old), "--factor", "0.5"]) == 2
    assert "--factor=0.5 is invalid" in capsys.readouterr().err
    assert main(["compare", str(old), str(old), "--rate-tolerance", "2"]) == 2
