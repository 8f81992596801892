"""The run's Lightning loggers: the CSV logger, always (<run_dir>/metrics.csv), and the one the
`logger` config group adds next to it (conf/logger: tensorboard, wandb, mlflow).

Every logger receives what GrokModule logs, which is the evaluation metrics only: Lightning
sends them to all loggers at once. The optional loggers' packages are extras of the install
(`pip install "grokbench[wandb]"`), so a missing one is bad input, not a bug.
"""

from __future__ import annotations

import csv
from pathlib import Path

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import CSVLogger, Logger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from grokbench.errors import GrokbenchError, in_chain, require

# the extra (pyproject.toml [project.optional-dependencies]) that installs each logger's package
EXTRAS = {"lightning.pytorch.loggers.TensorBoardLogger": "tensorboard",
          "lightning.pytorch.loggers.WandbLogger": "wandb",
          "lightning.pytorch.loggers.MLFlowLogger": "mlflow"}
OPTIONS = "csv, tensorboard, wandb, mlflow (conf/logger)"


def missing_package(error: BaseException) -> bool:
    """Lightning's loggers raise ModuleNotFoundError when their package is absent."""
    return in_chain(error, ModuleNotFoundError) is not None


def hyperparameters(cfg: DictConfig) -> dict:
    """The run's config for the tracker's parameter table (unresolved where it cannot resolve)."""
    try:
        return OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException:
        return OmegaConf.to_container(cfg, resolve=False)


def extra_logger(cfg: DictConfig) -> Logger | None:
    """The logger the `logger` group chose, None for csv (or ~logger)."""
    node = cfg.get("logger")
    if not isinstance(node, DictConfig) or "_target_" not in node:
        return None
    target = str(node._target_)
    extra = EXTRAS.get(target)
    try:
        logger = instantiate(node)
    except InstantiationException as error:
        if extra and missing_package(error):
            raise GrokbenchError(f"logger={extra} needs the {extra} package, which is not installed; "
                                 f"allowed: pip install \"grokbench[{extra}]\", or logger=csv") from None
        raise GrokbenchError(f"logger {target}: {error.__cause__ or error}") from None
    require(isinstance(logger, Logger), f"logger._target_={target} is not a Lightning logger; allowed: {OPTIONS}")
    logger.log_hyperparams(hyperparameters(cfg))
    return logger


def build_loggers(cfg: DictConfig, run_dir: Path, callbacks: list[Callback]) -> list[Logger]:
    """CSV first (the record's companion metrics.csv), then the chosen extra logger; adds the
    callback that closes a W&B run to `callbacks`."""
    require("logger" not in cfg.trainer, f"trainer.logger is not used (the CSV logger is always on); "
                                         f"allowed: logger=NAME with NAME one of {OPTIONS}")
    extra = extra_logger(cfg)
    if extra is not None and EXTRAS.get(str(cfg.logger._target_)) == "wandb":
        callbacks.append(FinishWandb())
    return [ResumableCSVLogger(run_dir, name="", version=""), *([extra] if extra else [])]


METRICS_NAME = ExperimentWriter.NAME_METRICS_FILE


def read_metrics(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as file:
        reader = csv.DictReader(file)
        return list(reader.fieldnames or []), list(reader)


def write_metrics(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def keep_metrics_before(run_dir: Path, resume_step: int) -> None:
    """metrics.csv as a run starts: none for a fresh run (an earlier run's rows are not its own);
    for a run resumed at `resume_step`, the rows logged up to that step (rows after it came from
    steps the checkpoint does not hold, and are logged again)."""
    path = run_dir / METRICS_NAME
    if not path.exists():
        return
    if not resume_step:
        path.unlink()
        return
    header, rows = read_metrics(path)
    write_metrics(path, header, [r for r in rows if int(float(r["step"])) <= logger_step(resume_step)])


def logger_step(global_step: int) -> int:
    """The `step` metrics.csv gives an evaluation at `global_step`: Lightning logs with the count
    of batches stepped, which it increases after the evaluation."""
    return global_step - 1


class KeptRowsWriter(ExperimentWriter):
    """Lightning's CSV writer deletes the metrics.csv it finds; this one appends to it (the run
    has already kept what belongs to it, `keep_metrics_before`), and a row logged again for a
    step the file holds (a resumed run re-evaluates its checkpoint's step) replaces that row."""

    def _check_log_dir_exists(self) -> None:
        self.kept_steps: set[str] = set()
        path = Path(self.metrics_file_path)
        if path.exists():
            header, rows = read_metrics(path)
            self.metrics_keys = sorted(header)
            self.kept_steps = {r["step"] for r in rows}

    def save(self) -> None:
        again = {str(m["step"]) for m in self.metrics} & self.kept_steps
        if again:
            path = Path(self.metrics_file_path)
            header, rows = read_metrics(path)
            write_metrics(path, header, [r for r in rows if r["step"] not in again])
            self.kept_steps -= again
        super().save()


class ResumableCSVLogger(CSVLogger):
    """CSVLogger with the writer above."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = KeptRowsWriter(log_dir=self.log_dir)
        return self._experiment


class FinishWandb(Callback):
    """Close the W&B run when the fit ends: WandbLogger leaves it open, and the next run of the
    same process (a sweep from the Python API) would otherwise log into it."""

    def teardown(self, trainer, pl_module, stage: str) -> None:
        self.finish()

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        self.finish(exit_code=1)

    @staticmethod
    def finish(exit_code: int | None = None) -> None:
        import wandb  # installed: the run has a WandbLogger

        wandb.finish(exit_code=exit_code)  # a no-op once the run is closed
