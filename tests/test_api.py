"""The Python API: `grokbench.run_experiment(overrides) -> record` runs as `grokbench run` does,
`grokbench.load_records(path)` reads records into the board's frame. Tiny runs, one torch thread."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

import grokbench
from grokbench.api import as_overrides
from grokbench.board.frame import PROFILE_COLUMNS
from grokbench.errors import GrokbenchError
from grokbench.record import read_record

TINY_SETTINGS = {"task.p": 7, "model": "token_mlp", "model.d_embed": 8, "model.width": 16,
                 "trainer.max_steps": 4, "eval.every": 2}
TINY = [f"{key}={value}" for key, value in TINY_SETTINGS.items()]


def test_overrides_from_a_list_a_dict_and_keywords():
    assert as_overrides(["task.p=11"], {"seed": 3}) == ["task.p=11", "seed=3"]
    assert as_overrides({"optim.weight_decay": 0.1, "task.op": "x^y", "trainer.devices": [0],
                         "checkpoint.every_n_steps": None, "eval.log_spaced": True}, {}) == [
        "optim.weight_decay=0.1", "task.op='x^y'", "trainer.devices=[0]", "checkpoint.every_n_steps=null",
        "eval.log_spaced=true"]
    assert as_overrides("seed=2", {}) == ["seed=2"]


@pytest.mark.slow
def test_import_is_cheap_and_exports_the_api():
    code = "import sys, grokbench; assert 'torch' not in sys.modules and 'pandas' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert callable(grokbench.run_experiment) and callable(grokbench.load_records)


def test_sweep_then_load_records(tmp_path, monkeypatch):
    """Two runs of a weight-decay sweep (one in the default runs/ folder) -> two rows with their
    profile, their overrides and the swept value as a config column."""
    monkeypatch.chdir(tmp_path)
    first = grokbench.run_experiment(TINY, optim="adam", threads=1)
    second = grokbench.run_experiment({**TINY_SETTINGS, "optim.weight_decay": 0.5, "seed": 1},
                                      run_dir=tmp_path / "runs" / "wd", threads=1)
    for record in (first, second):
        assert record["status"] == "completed", record["error"]
        assert record["steps"] == 4 and record["verdict"]
    assert second["config"]["optim"]["weight_decay"] == 0.5
    assert "optim.weight_decay=0.5" in second["overrides"]
    assert read_record(tmp_path / "runs" / "wd" / "record.json")["overrides"] == second["overrides"]
    assert list((tmp_path / "runs" / "default").glob("*_seed0/record.json")), "runs/<recipe>/<time>_seed<seed>"

    runs = grokbench.load_records(tmp_path / "runs")
    assert len(runs) == 2 and set(PROFILE_COLUMNS) <= set(runs.columns)
    assert sorted(runs["seed"]) == [0, 1] and set(runs["status"]) == {"completed"}
    by_seed = runs.set_index("seed")
    assert by_seed.loc[1, "config.optim.weight_decay"] == 0.5
    assert by_seed.loc[0, "config.optim._target_"] == "torch.optim.Adam"
    assert "optim=adam" in by_seed.loc[0, "overrides"]


def test_bad_input_raises_before_anything_runs(tmp_path):
    with pytest.raises(GrokbenchError, match="unknown task 'modlar'; available: "):
        grokbench.run_experiment(["task=modlar"], run_dir=tmp_path / "run")
    with pytest.raises(GrokbenchError, match="trainer.max_stepz is not a config key"):
        grokbench.run_experiment({"trainer.max_stepz": 3}, run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_bad_input_found_during_the_run_raises_after_writing_the_failed_record(tmp_path):
    with pytest.raises(GrokbenchError, match=r"^task.p=100003 needs about .* allowed: task.p <= "):
        grokbench.run_experiment(TINY, run_dir=tmp_path / "run", threads=1, **{"task.p": 100003})
    record = read_record(tmp_path / "run" / "record.json")
    assert record["status"] == "failed" and record["error"].startswith("task.p=100003 needs about")


def test_load_records_of_an_empty_folder(tmp_path):
    with pytest.raises(GrokbenchError, match="no run records"):
        grokbench.load_records(tmp_path)


def test_an_interrupted_run_exits_as_the_cli_does_and_its_record_says_how_to_resume(tmp_path):
    signal_at = ["+callbacks.signal._target_=injected.SignalAt", "+callbacks.signal.step=2",
                 f"+callbacks.signal.signum={int(signal.SIGTERM)}"]
    with pytest.raises(SystemExit) as stopped:
        grokbench.run_experiment([*TINY, *signal_at], run_dir=tmp_path / "run", threads=1)
    assert stopped.value.code == 143
    record = read_record(tmp_path / "run" / "record.json")
    assert record["interrupted"] == "SIGTERM" and record["steps"] == 2
    assert record["error"].endswith(f"resume: grokbench run {' '.join(TINY)} +callbacks.signal._target_=injected.SignalAt "
                                    f"+callbacks.signal.step=2 +callbacks.signal.signum=15 threads=1 "
                                    f"hydra.run.dir={tmp_path / 'run'}")
