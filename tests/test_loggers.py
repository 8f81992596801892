"""The `logger` group: the CSV logger always, and the chosen optional logger beside it receiving
the same evaluation metrics. Optional loggers whose package is absent are skipped; a run that asks
for one gets one line naming the extra to install. Tiny runs, one torch thread."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from lightning.pytorch import loggers

from grokbench.cli import main, options
from grokbench.config import compose_config
from grokbench.run import train

TINY = ["task.p=7", "model=token_mlp", "model.d_embed=8", "model.width=16", "trainer.max_steps=4",
        "eval.every=2", "threads=1", "progress_bar=false"]
OPTIONAL = {"tensorboard": loggers.TensorBoardLogger, "wandb": loggers.WandbLogger,
            "mlflow": loggers.MLFlowLogger}
EVALUATION_METRICS = {"train_eval/acc", "train_eval/loss", "val/acc", "val/loss", "weights/l2"}


def test_every_logger_option_composes_with_csv_the_default():
    assert set(options("logger")) == {"csv", *OPTIONAL}
    assert dict(compose_config([]).logger) == {}, "csv adds no logger: it is always on"
    for name, cls in OPTIONAL.items():
        assert compose_config([f"logger={name}"]).logger._target_ == f"lightning.pytorch.loggers.{cls.__name__}"
    assert compose_config(["logger=wandb"]).logger.offline is True, "wandb needs no network by default"


def written_where_expected(name: str, run_dir: Path, csv: pd.DataFrame) -> None:
    """The optional logger's own files, inside the run directory."""
    if name == "tensorboard":
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        events = EventAccumulator(str(run_dir / "tensorboard"))
        events.Reload()
        assert [e.step for e in events.Scalars("val/acc")] == list(csv["step"])
    elif name == "wandb":
        assert list((run_dir / "wandb").glob("offline-run-*")), "an offline W&B run in the run directory"
    else:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=f"sqlite:///{run_dir}/mlflow.db")  # the store in the run directory
        (run,) = client.search_runs([client.get_experiment_by_name("grokbench").experiment_id])
        assert [m.step for m in client.get_metric_history(run.info.run_id, "val/acc")] == list(csv["step"])


@pytest.mark.parametrize("name", sorted(OPTIONAL))
def test_installed_logger_receives_the_evaluation_metrics(name, run_config, monkeypatch):
    pytest.importorskip(name)
    cls, received = OPTIONAL[name], []
    original = cls.log_metrics

    def spy(self, metrics, step=None):
        received.append((step, dict(metrics)))
        return original(self, metrics, step)

    monkeypatch.setattr(cls, "log_metrics", spy)
    cfg = run_config([*TINY, f"logger={name}"])
    record = train(cfg)
    assert record["status"] == "completed", record["error"]
    run_dir = Path(cfg.run_dir)
    metrics_csv = pd.read_csv(run_dir / "metrics.csv")
    csv = metrics_csv[metrics_csv["val/acc"].notna()]
    assert len(csv) == 2, "the CSV logger stays on beside it"
    assert [step for step, _ in received] == list(csv["step"]), "the same evaluation points as metrics.csv"
    for (_, metrics), (_, row) in zip(received, csv.iterrows()):
        assert EVALUATION_METRICS <= set(metrics)
        assert metrics["val/acc"] == pytest.approx(row["val/acc"])
    written_where_expected(name, run_dir, csv)


def error_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_missing_logger_package_names_the_extra(tmp_path, capsys, monkeypatch):
    """Whether or not wandb is installed here: Lightning's WandbLogger checks this flag."""
    monkeypatch.setattr("lightning.pytorch.loggers.wandb._WANDB_AVAILABLE", False)
    assert main(["run", *TINY, "logger=wandb", f"hydra.run.dir={tmp_path}"]) != 0
    expected = ('error: logger=wandb needs the wandb package, which is not installed; '
                'allowed: pip install "grokbench[wandb]", or logger=csv')
    assert [line.split("  (record:")[0] for line in error_lines(capsys)] == [expected]
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["status"] == "failed" and record["error"] == expected.removeprefix("error: ")


def test_trainer_logger_is_refused_in_one_line(run_config):
    record = train(run_config([*TINY, "+trainer.logger=true"]))
    assert record["status"] == "failed"
    assert record["error"].startswith("trainer.logger is not used (the CSV logger is always on); allowed: logger=")


def test_unknown_logger(capsys):
    assert main(["run", "logger=neptune"]) == 2
    assert error_lines(capsys) == ["error: unknown logger 'neptune'; available: csv, mlflow, tensorboard, wandb"]
