"""The prepared GPU command (benchmarks/gpu_paper.py), checked on the CPU with --dry-run: every
sweep of its plan composes, a dry run writes records, the speed table and the summary, and bad
input gets one line."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import compose_config
from omegaconf import OmegaConf
from test_images import write_set  # tiny generated data, as the domains' own tests use

from grokbench.record import read_record

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_paper.py"
spec = importlib.util.spec_from_file_location("gpu_paper", SCRIPT)
gpu_paper = importlib.util.module_from_spec(spec)
sys.modules["gpu_paper"] = gpu_paper  # its dataclass looks its module up there
spec.loader.exec_module(gpu_paper)
PLAN = OmegaConf.load(gpu_paper.PLAN)


@pytest.mark.parametrize("sweep", list(PLAN.sweeps))
def test_every_sweep_of_the_plan_composes_as_the_gpu_and_the_dry_run_launch_it(sweep):
    config = PLAN.sweeps[sweep]
    for experiment in config.experiments:
        common = [f"experiment={experiment}", *PLAN.overrides, "++trainer.max_time={seconds:60}",
                  *(["++task.source=unused"] if config.get("source") else [])]
        gpu = compose_config([*common, "trainer.accelerator=gpu"])
        assert gpu.name == experiment and gpu.trainer.max_time == {"seconds": 60}
        dry = compose_config([*common, *gpu_paper.DRY_RUN, *config.get("dry_run", [])])
        assert dry.trainer.max_steps == 6
    assert set(PLAN.speed.experiments) <= {e for s in PLAN.sweeps.values() for e in s.experiments}


def test_the_dry_run_writes_censorable_records_the_speed_table_and_a_summary(tmp_path):
    """Two sweeps at once (a generated task and CIFAR-10 on tiny generated images), IMDb skipped
    for want of data, then the speed phase: one process alone, two sharing."""
    data = tmp_path / "data"
    data.mkdir()
    write_set(data / "cifar10", "img", mode="RGB", size=32)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, str(SCRIPT), str(out), "--data", str(data), "--dry-run",
                           "--only", "nanda,imdb,cifar10"], check=False, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"skip imdb: no {data / 'imdb'} (its data); omnigrok_imdb, omnigrok_imdb_control not run" in done.stdout
    records = {p.parent.parent.name: read_record(p) for p in (out / "records").rglob("record.json")}
    assert set(records) == {"nanda2023_addition", "humayun2024_cifar10"}
    for record in records.values():
        assert record["status"] == "completed" and record["stopped_by"] == "max_steps" and record["steps"] == 6
        assert record["hardware"]["accelerator"] == "cpu" and record["hardware"]["matmul_precision"] == "highest"
        assert any(o.startswith("++trainer.max_time=") for o in record["overrides"])
    solo = [read_record(p) for p in (out / "speed" / "solo").rglob("record.json")]
    shared = [read_record(p) for p in (out / "speed" / "shared").rglob("record.json")]
    assert sorted(r["recipe"] for r in solo) == ["humayun2024_cifar10", "nanda2023_addition"]
    assert len(shared) == 4 and all(r["seed"] >= 100 for r in solo + shared)
    summary = (out / "summary.md").read_text()
    assert "nanda: started at" in summary and "- skip imdb: no" in summary and "| nanda2023_addition" in summary
    assert "each / alone" in summary


@pytest.mark.parametrize(("arguments", "message"), [
    (["--data", "{tmp}/absent"], "error: --data {tmp}/absent: no such folder"),
    (["--data", "{tmp}", "--only", "nanda,bogus"], "error: --only nanda,bogus: bogus is not a sweep of gpu_paper.yaml"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, arguments, message):
    with pytest.raises(SystemExit) as exit_:
        gpu_paper.main([str(tmp_path / "out"), *(a.format(tmp=tmp_path) for a in arguments), "--dry-run"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message.format(tmp=tmp_path))


def test_without_a_gpu_the_real_run_refuses_in_one_line(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as exit_:
        gpu_paper.main([str(tmp_path / "out"), "--data", str(tmp_path)])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip() == ("error: no CUDA device is visible to torch; on a machine "
                                               "without one use --dry-run")
