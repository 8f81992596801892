"""The leaderboard on fixture records (real tiny runs from tests/fixtures/make_records.sh).

Golden files: tests/fixtures/board/. After regenerating the records or changing the board on
purpose, refresh them with `GROKBENCH_UPDATE_GOLDEN=1 pytest tests/test_board.py`.
"""

import os
from pathlib import Path

import pandas as pd
import pytest

from grokbench.board import MARK_END, MARK_START, method_grid, write_board
from grokbench.cli import main
from grokbench.errors import GrokbenchError
from grokbench.tables import bootstrap_ci

FIXTURES = Path(__file__).parent / "fixtures"
RECORDS = FIXTURES / "records"
GOLDEN = FIXTURES / "board"
TEXT_OUTPUTS = ("README.md", "leaderboard.csv")


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("board")
    write_board([RECORDS], out)
    return out


def test_board_matches_golden_files(board):
    if os.environ.get("GROKBENCH_UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        for name in TEXT_OUTPUTS:
            (GOLDEN / name).write_bytes((board / name).read_bytes())
    for name in TEXT_OUTPUTS:
        assert (board / name).read_bytes() == (GOLDEN / name).read_bytes(), f"{name} differs from golden"


def test_same_records_give_byte_identical_files(board, tmp_path):
    write_board([RECORDS], tmp_path)
    written = sorted(p.relative_to(board) for p in board.rglob("*") if p.is_file())
    assert Path("figures/modular.png") in written
    for name in written:
        assert (tmp_path / name).read_bytes() == (board / name).read_bytes(), name


def test_failed_and_diverged_records_are_counted_and_shown(board):
    table = pd.read_csv(board / "leaderboard.csv")
    by_recipe = table.set_index("recipe")
    assert by_recipe.loc["tiny_division", ["runs", "failed"]].tolist() == [1, 1]
    assert by_recipe.loc["tiny_modular_diverged", ["runs", "diverged"]].tolist() == [1, 1]
    assert table["runs"].sum() == len(list(RECORDS.rglob("record.json")))
    text = (board / "README.md").read_text()
    assert "2 failed or diverged" in text
    failures = text.split("## Failed and diverged runs")[1]
    assert "tiny_division" in failures and "is not prime" in failures
    assert "tiny_modular_diverged" in failures and "| diverged |" in failures


def test_universality_methods_and_provenance(board):
    text = (board / "README.md").read_text()
    universality = text.split("## Universality")[1].split("## Per task")[0]
    row = next(line for line in universality.splitlines() if line.startswith("| modular"))
    assert "| tiny_modular " in row and "| 2/3 " in row  # two of three seeds grokked
    assert row.rstrip(" |").endswith("0/1")  # the control run did not grok
    assert "Provenance — commits:" in universality and "torch" in universality
    methods = text.split("## Methods")[1]
    assert "| grokfast_ema " in methods and "| tiny_modular " in methods  # matched by recipe family
    grid = methods.split("### Method × task")[1].split("### Every method run")[0]
    header = next(line for line in grid.splitlines() if line.startswith("| method"))
    assert "modular · tiny_modular" in header  # one column per domain and baseline recipe
    assert any(line.startswith("| grokfast_ema ") for line in grid.splitlines())


def test_method_grid_cells_show_grokked_speedup_and_breakage():
    rows = [{"domain": "mnist", "baseline recipe": "quick_mnist", "method": "orthograd", "grokked": "0/1",
             "generalized": "0/1", "speedup ↑ [95% CI]": "—",
             "note": "broke training in 1/1 (failed, diverged or unfit; baseline 0/3)"},
            {"domain": "modular", "baseline recipe": "default", "method": "orthograd", "grokked": "2/3",
             "generalized": "3/3", "speedup ↑ [95% CI]": "1.5 [1.2, 1.9]", "note": "—"}]
    assert method_grid(rows) == [{
        "method": "orthograd", "mnist · quick_mnist": "grokked 0/1, generalized 0/1, no speedup, broke 1/1",
        "modular · default": "grokked 2/3, generalized 3/3, 1.5x [1.2, 1.9]"}]


def test_readme_table_replaced_between_markers_only(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nintro\n\n{MARK_START}\nold table\n{MARK_END}\n\nrest\n")
    assert main(["board", str(RECORDS), "--out", str(tmp_path / "out"), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# Title\n\nintro\n\n" + MARK_START) and text.endswith(MARK_END + "\n\nrest\n")
    assert "old table" not in text and "| tiny_modular " in text


def test_readme_without_markers_is_an_error(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    with pytest.raises(GrokbenchError, match="markers"):
        write_board([RECORDS], tmp_path / "out", readme)


def test_no_records_is_a_one_line_error(tmp_path, capsys):
    assert main(["board", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "no run records" in capsys.readouterr().err


def test_bootstrap_interval_is_seeded_and_contains_the_median():
    values = [10.0, 12.0, 30.0, 11.0]
    low, high = bootstrap_ci(values)
    assert (low, high) == bootstrap_ci(values)
    assert low <= 11.5 <= high and 10.0 <= low and high <= 30.0
    assert bootstrap_ci([None, 5.0]) == (5.0, 5.0)
