"""The run's Lightning loggers: the CSV logger, always (<run_dir>/metrics.csv), and the one the
`logger` config group adds next to it (conf/logger: tensorboard, wandb, mlflow).

Every logger receives what GrokModule logs, which is the evaluation metrics only: Lightning
sends them to all loggers at once. The optional loggers' packages are extras of the install
(`pip install "grokbench[wandb]"`), so a missing one is bad input, not a bug.
"""

from __future__ import annotations

from pathlib import Path

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import CSVLogger, Logger
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
    return [CSVLogger(run_dir, name="", version=""), *([extra] if extra else [])]


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
