"""The command line: listings and one-line errors with a non-zero exit code."""

import json
import subprocess
import sys

import pytest

from grokbench.cli import main


def error_lines(capsys):
    err = capsys.readouterr().err
    return [line for line in err.splitlines() if line.strip()]


@pytest.mark.parametrize("override, expected", [
    ("task=nope", "unknown task 'nope'; available: "),
    ("model=gpt9", "unknown model 'gpt9'; available: "),
    ("experiment=power2099", "unknown experiment 'power2099'; available: "),
    ("method=magic", "unknown method 'magic'; available: "),
])
def test_unknown_choice_is_one_line_listing_what_exists(capsys, override, expected):
    assert main(["run", override]) != 0
    lines = error_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith(f"error: {expected}")
    group = override.split("=")[0]
    assert "modular" in lines[0] if group == "task" else True
    assert "transformer" in lines[0] if group == "model" else True


@pytest.mark.parametrize("overrides, expected", [
    (["task.op=x/y", "task.p=91"], "error: task.p=91 is not prime"),
    (["task.train_fraction=1.5"], "error: task.train_fraction=1.5 is outside the allowed range (0, 1)"),
    (["model=token_mlp", "+model.n_layers=2"], "error: model token_mlp: "),
])
def test_invalid_parameter_is_one_line_and_still_writes_a_failed_record(capsys, tmp_path, overrides, expected):
    code = main(["run", *overrides, "progress_bar=false", f"hydra.run.dir={tmp_path}"])
    assert code != 0
    lines = error_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith(expected)
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["status"] == "failed" and record["error"]


def test_ls_lists_every_group(capsys):
    assert main(["ls"]) == 0
    out = capsys.readouterr().out
    for word in ("tasks", "modular", "s5", "models", "transformer", "experiments", "power2022_division"):
        assert word in out


def test_unknown_command(capsys):
    assert main(["frobnicate"]) == 2
    assert error_lines(capsys) == ["error: unknown command 'frobnicate'; available: "
                                   + ", ".join(__import__("grokbench.cli").cli.COMMANDS)]


def test_console_script_prints_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "grokbench.cli", "run", "task=nope"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error: unknown task 'nope'")
