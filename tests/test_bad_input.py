"""Bad input on the command line: one line naming the value and what is allowed, a non-zero
exit, a failed record where a run directory exists, never a traceback. Sweeps report which of
their runs failed. Tiny runs, one torch thread."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest
import torch
from rich.progress import Task

from grokbench import progress
from grokbench.cli import main
from grokbench.record import RECORD_NAME, hardware, read_record

TINY = ["task.p=7", "model=token_mlp", "model.d_embed=8", "model.width=16", "trainer.max_steps=10",
        "eval.every=5", "threads=1", "progress_bar=false"]


def error_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def with_tiny(*overrides: str) -> list[str]:
    """TINY with `overrides` replacing its keys (the command line's last value wins anyway)."""
    keys = {o.split("=", 1)[0] for o in overrides}
    return [o for o in TINY if o.split("=", 1)[0] not in keys] + list(overrides)


@pytest.mark.parametrize("override, expected", [
    ("seed=abc", "error: seed='abc' is invalid; allowed: an integer"),
    ("seed=-1", "error: seed=-1 is invalid; allowed: an integer from 0 to 4294967295 (numpy's seed range)"),
    ("seed=4294967296", "error: seed=4294967296 is invalid; allowed: an integer from 0 to 4294967295"),
    ("eval.batch_size=-1", "error: eval.batch_size=-1 is invalid; allowed: an integer >= 1"),
    ("eval.batch_size=0", "error: eval.batch_size=0 is invalid; allowed: an integer >= 1"),
    ("task.p=100003", "error: task.p=100003 needs about 1,280 GB for its 10,000,600,009 pairs, more than this machine's"),
    ("trainer.max_steps=0", "error: trainer.max_steps=0 is invalid; allowed: an integer >= 1"),
    ("trainer.max_steps=-1", "error: trainer.max_steps=-1 is invalid; allowed: an integer >= 1"),
    ("threads=0", "error: threads=0 is invalid; allowed: an integer >= 1 or null"),
    ("eval.max_every=3", "error: eval.max_every=3 is invalid; allowed: null or an integer >= eval.every (5)"),
    ("trainer.devices=2", "error: trainer.devices=2: multi-device runs are not supported; allowed: trainer.devices=1"),
    ("+trainer.num_nodes=2", "error: trainer.num_nodes=2: multi-node runs are not supported; allowed: trainer.num_nodes=1"),
])
def test_bad_run_setting_is_one_line_and_a_failed_record(capsys, tmp_path, override, expected):
    code = main(["run", *with_tiny(override), f"hydra.run.dir={tmp_path}"])
    assert code != 0
    lines = error_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith(expected), lines
    record = read_record(tmp_path / RECORD_NAME)
    assert record["status"] == "failed" and record["traceback"] is None and record["steps"] == 0


def test_override_grammar_error_says_to_quote_the_value(capsys):
    assert main(["run", "task.op=x^y"]) != 0
    lines = error_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith("error: cannot parse 'task.op=x^y'")
    assert "\"task.op='x^y'\"" in lines[0]


def test_a_quoted_value_reaches_the_task(capsys, tmp_path):
    """Quoted as the error says, `^` reaches the task, which names the operators it knows."""
    assert main(["run", *with_tiny("task.op='x^y'"), f"hydra.run.dir={tmp_path}"]) != 0
    (line,) = error_lines(capsys)
    assert line.startswith("error: task.op='x^y' is unknown; allowed: x+y")


def test_unknown_key_is_one_line_saying_how_to_add_one(capsys):
    assert main(["run", "trainer.max_stepz=10"]) != 0
    assert error_lines(capsys) == [("error: trainer.max_stepz is not a config key (grokbench run --help lists "
                                    "them); add a new one with +trainer.max_stepz=...")]


@pytest.mark.slow
def test_multi_device_run_is_refused_without_a_traceback(tmp_path):
    """Lightning would re-launch sys.argv for each device; the suite runs one device per run."""
    done = subprocess.run([sys.executable, "-m", "grokbench.cli", "run", *with_tiny("trainer.devices=2"),
                           f"hydra.run.dir={tmp_path}"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "can't open file" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: trainer.devices=2")
    assert read_record(tmp_path / RECORD_NAME)["status"] == "failed"


# --- sweeps ---------------------------------------------------------------------------------

def test_basic_sweep_with_a_failed_run_exits_non_zero_and_names_it(capsys, tmp_path):
    code = main(["run", "-m", *with_tiny("task.op=x/y", "task.p=7,91"), f"hydra.sweep.dir={tmp_path}",
                 "hydra.sweep.subdir=p${task.p}"])
    assert code == 1
    err = capsys.readouterr().err
    assert "1 run(s) of the sweep" in err and f"{tmp_path / 'p91'}: task.p=91 is not prime" in err
    assert read_record(tmp_path / "p7" / RECORD_NAME)["status"] == "completed"
    assert str(tmp_path / "p7") not in err.split("run(s) of the sweep", 1)[1]


@pytest.mark.slow
def test_joblib_sweep_whose_runs_all_failed_exits_non_zero_and_lists_them(tmp_path):
    """The runs happen in joblib's worker processes: the parent reads their records."""
    done = subprocess.run([sys.executable, "-m", "grokbench.cli", "run", "-m", "launcher=joblib", "workers=2",
                           *with_tiny("seed=abc,xyz"), f"hydra.sweep.dir={tmp_path}",
                           "hydra.sweep.subdir=seed_${seed}"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "2 run(s) of the sweep" in done.stderr, done.stderr[-2000:]
    for seed in ("abc", "xyz"):
        assert f"{tmp_path / f'seed_{seed}'}: seed='{seed}' is invalid" in done.stderr
    assert "Traceback" not in done.stderr


def test_sweep_of_good_runs_exits_zero(capsys, tmp_path):
    assert main(["run", "-m", *with_tiny("seed=0,1"), f"hydra.sweep.dir={tmp_path}"]) == 0
    assert len(list(tmp_path.rglob(RECORD_NAME))) == 2


# --- console output and the record's hardware -------------------------------------------------

def test_without_a_terminal_each_evaluation_is_one_plain_line(capsys, tmp_path):
    assert main(["run", *with_tiny("progress_bar=true"), f"hydra.run.dir={tmp_path}"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["5/10", "10/10"]
    assert "train_eval/acc" in lines[0] and "val/acc" in lines[0] and "val/loss" in lines[0]


def test_the_rich_bar_counts_steps(monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert isinstance(progress.progress_callback(10), progress.StepProgressBar)
    task = Task(id=0, description="", total=8000, completed=1200, _get_time=lambda: 0.0)
    assert progress.StepsColumn().render(task).plain == "step 1,200/8,000"
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert isinstance(progress.progress_callback(10), progress.PlainProgress)


def test_the_rich_bar_runs_a_fit(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(progress.sys.stdout, "isatty", lambda: True, raising=False)
    assert main(["run", *with_tiny("progress_bar=true"), f"hydra.run.dir={tmp_path}"]) == 0
    out = capsys.readouterr().out
    assert "step 10/10" in out and "Epoch" not in out


def test_record_hardware_names_the_device_precision_and_threads(capsys, tmp_path):
    assert main(["run", *TINY, "trainer.accelerator=cpu", f"hydra.run.dir={tmp_path}"]) == 0
    record = json.loads((tmp_path / RECORD_NAME).read_text())
    assert record["hardware"]["accelerator"] == "cpu"
    assert record["hardware"]["precision"] == "32-true" and record["hardware"]["torch_threads"] == 1
    assert record["hardware"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()


def test_hardware_names_a_cuda_device_by_its_name():
    assert hardware("cpu", "bf16-mixed")["accelerator"] == "cpu"
    assert hardware()["accelerator"] is None  # no trainer yet: nothing ran
    if torch.cuda.is_available():
        assert hardware(torch.device("cuda", 0))["accelerator"] == torch.cuda.get_device_name(0)


# --- warnings -------------------------------------------------------------------------------

def test_a_run_leaves_the_global_warning_filters_alone(capsys, tmp_path):
    before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inside = list(warnings.filters)
        assert main(["run", *TINY, f"hydra.run.dir={tmp_path}"]) == 0
        assert main(["run", *TINY, f"hydra.run.dir={tmp_path}"]) == 0  # into a non-empty run dir
        assert list(warnings.filters) == inside
    assert list(warnings.filters) == before
    silenced = [w for w in caught if "LeafSpec" in str(w.message) or "exists and is not empty" in str(w.message)]
    assert not silenced, [str(w.message) for w in silenced]


@pytest.mark.parametrize("multirun", [False, True])
def test_a_run_directory_under_a_file_is_one_line_before_hydra_starts(capsys, tmp_path, multirun):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    code = main(["run", *(["-m"] if multirun else []), *TINY, f"{key}={blocker / 'run'}"])
    assert code == 2
    lines = error_lines(capsys)
    expected = (f"error: {key}={blocker / 'run'} cannot hold a run: {blocker} is not a directory; "
                "allowed: a path where a directory can be created and written")
    assert lines == [expected]


def test_an_unwritable_run_directory_is_one_line_before_hydra_starts(capsys, tmp_path, monkeypatch):
    """As root every directory is writable; what a user without the permission sees."""
    from grokbench import rundir

    (tmp_path / "read_only").mkdir()
    monkeypatch.setattr(rundir.os, "access", lambda path, mode: False)
    assert main(["run", *TINY, f"hydra.run.dir={tmp_path / 'read_only' / 'run'}"]) == 2
    assert error_lines(capsys) == [(f"error: hydra.run.dir={tmp_path / 'read_only' / 'run'} cannot hold a run: "
                                   f"{tmp_path / 'read_only'} is not writable; allowed: a path where a directory "
                                   "can be created and written")]
