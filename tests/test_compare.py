"""`grokbench compare` exit codes. The records here are synthetic inputs for the comparison
logic (only the fields it reads), not results; the real-record path runs on the fixtures."""

import json
from pathlib import Path

from grokbench.cli import main

FIXTURE_RECORDS = Path(__file__).parent / "fixtures" / "records"


def write_runs(root: Path, recipe: str, outcomes: list[tuple[str, int | None]]) -> Path:
    """One synthetic record per seed: (verdict, generalized step)."""
    for seed, (verdict, generalized) in enumerate(outcomes):
        record = {"task": "modular", "task_version": "1", "recipe": recipe, "model": "mlp",
                  "method": "baseline", "seed": seed, "status": "completed", "verdict": verdict,
                  "memorized_step": 100, "generalized_step": generalized}
        path = root / recipe / f"seed{seed}" / "record.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(record))
    return root


def test_identical_real_records_pass(capsys):
    assert main(["compare", str(FIXTURE_RECORDS), str(FIXTURE_RECORDS)]) == 0
    assert "0 regression(s)" in capsys.readouterr().out


def test_recipe_that_no_longer_groks_in_most_seeds_fails(tmp_path, capsys):
    old = write_runs(tmp_path / "old", "a", [("grokked", 1000)] * 3)
    new = write_runs(tmp_path / "new", "a", [("grokked", 1000), ("memorized", None), ("memorized", None)])
    assert main(["compare", str(old), str(new)]) == 1
    assert "no longer groks" in capsys.readouterr().out


def test_slower_generalization_fails_beyond_the_factor_only(tmp_path):
    old = write_runs(tmp_path / "old", "a", [("grokked", 1000)] * 3)
    new = write_runs(tmp_path / "new", "a", [("grokked", 1400)] * 3)
    assert main(["compare", str(old), str(new)]) == 0  # 1.4x < 1.5x
    assert main(["compare", str(old), str(new), "--factor", "1.2"]) == 1


def test_recipe_that_never_grokked_cannot_regress_and_missing_ones_are_listed(tmp_path, capsys):
    old = write_runs(tmp_path / "old", "a", [("memorized", None)] * 3)
    write_runs(tmp_path / "old", "b", [("grokked", 500)] * 3)
    new = write_runs(tmp_path / "new", "a", [("unfit", None)] * 3)
    assert main(["compare", str(old), str(new)]) == 0
    assert "missing" in capsys.readouterr().out


def test_bad_input_exits_2(tmp_path, capsys):
    old = write_runs(tmp_path / "old", "a", [("grokked", 1000)])
    assert main(["compare", str(old), str(tmp_path / "empty")]) == 2
    assert main(["compare", str(old), str(old), "--factor", "0.5"]) == 2
    assert "--factor=0.5 is invalid" in capsys.readouterr().err
