"""One run: compose task, model and module from the config, train, detect, record.

`train(cfg)` is independent of Hydra's runtime (tests call it with a composed config); the
CLI wraps it in `hydra.main`. Whatever happens, the run writes its record.
"""

from __future__ import annotations

import datetime as dt
import logging
import shlex
import time
import traceback
import warnings
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import Timer
from lightning.pytorch.callbacks.progress import ProgressBar
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import InterpolationKeyError

from grokbench import continuation
from grokbench import record as rec
from grokbench.callbacks.checkpoint import LastCheckpoint, checkpoint_step
from grokbench.callbacks.detector import GrokkingDetector
from grokbench.callbacks.interrupt import Interrupts
from grokbench.callbacks.measures import MeasuresCallback
from grokbench.callbacks.schedule import EvaluationSchedule
from grokbench.config import check_task_keys, override_key
from grokbench.errors import GrokbenchError, in_chain, require
from grokbench.kinds import LOSS, NOISE_OF_KIND, MetricDeclaration
from grokbench.loggers import build_loggers, keep_metrics_before
from grokbench.measures.catalog import run_measures
from grokbench.methods.base import Method, build_method
from grokbench.module import GrokModule
from grokbench.plot import plot_run
from grokbench.precision import check_bf16_kernels
from grokbench.profile import Fall, Profile, ProfileSettings, analyze_fall, describe, describe_fall
from grokbench.profile.levels import FACTS
from grokbench.progress import progress_callback
from grokbench.rundir import exclusive, make_run_dir

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MATMUL_PRECISIONS = ("highest", "high", "medium")  # torch.set_float32_matmul_precision's values
MAX_SEED = 2**32 - 1  # numpy's (and Lightning's seed_everything's) largest seed


def user_error(error: BaseException) -> GrokbenchError | None:
    """The GrokbenchError behind an exception (Hydra wraps errors raised in constructors)."""
    return in_chain(error, GrokbenchError)


def choice_name(cfg: DictConfig, group: str) -> str:
    """The config-group option a run used (model=transformer -> "transformer")."""
    if HydraConfig.initialized():
        choice = HydraConfig.get().runtime.choices.get(group)
        if choice:
            return str(choice)
    node = cfg.get(group)
    if not isinstance(node, DictConfig):
        return "?"
    return str(node.get("name") or str(node.get("_target_", "?")).rsplit(".", 1)[-1].lower())


PROVISIONAL = "the reference was not known at run time: this verdict is against the perfect score; " \
              "the board's, against the control's level, is final"


def heldout_sizes(task, callbacks: list) -> dict[str, int]:
    """Held-out metric -> the number of examples it is computed on, as the task and every
    callback that logs a held-out metric declare it (`heldout_sizes()`)."""
    sizes = dict(task.heldout_sizes())
    for callback in callbacks:
        if hasattr(callback, "heldout_sizes"):
            sizes.update(callback.heldout_sizes(task))
    return sizes


def profile_settings(cfg: DictConfig, task, callbacks: list) -> tuple[ProfileSettings, str]:
    """The task's metric, chance level, reference, held-out size and noise model, overridden by
    every non-null `detector.*` key; also where the reference came from. A task that is not
    exact gets its reference from the paired control on the board; at run time, without one,
    the perfect score stands in."""
    d = task.detection
    val_metric = cfg.detector.get("val_metric") or f"{d.val_split}/{d.val_metric or d.metric}"
    defaults = {"train_metric": f"train_eval/{d.metric}", "val_metric": val_metric,
                "val_loss": f"{d.val_split}/{LOSS}", "chance": task.chance, "reference": 1.0,
                "heldout_size": heldout_sizes(task, callbacks).get(val_metric),
                "noise": NOISE_OF_KIND[task.kind]}
    given = {k: v for k, v in OmegaConf.to_container(cfg.detector).items()
             if v is not None and k != "stop_after_steps"}
    unknown = sorted(set(given) - set(ProfileSettings.keys()))
    require(not unknown, f"detector.{unknown[0] if unknown else ''} is unknown; allowed: "
                         f"{', '.join(ProfileSettings.keys())}, stop_after_steps")
    settings = {**defaults, **given}
    require(settings["heldout_size"] is not None,
            f"detector.val_metric={val_metric}: no task or callback declares how many held-out examples it "
            f"is computed on; allowed: {', '.join(heldout_sizes(task, callbacks))} or detector.heldout_size=N")
    source = "given" if "reference" in given else "exact" if d.exact else "perfect score (control level set by the board)"
    return ProfileSettings(**settings), source


def build_model(cfg: DictConfig, task) -> torch.nn.Module:
    with open_dict(cfg):
        cfg.dims = task.dims
    name = choice_name(cfg, "model")
    try:
        return instantiate(cfg.model)
    except InterpolationKeyError as error:
        raise GrokbenchError(
            f"model {name} does not fit task {task.name}: it needs {error.full_key or error} "
            f"but the task provides dims {', '.join(task.dims)}") from None
    except InstantiationException as error:
        cause = error.__cause__
        if isinstance(cause, (TypeError, ValueError)) and user_error(error) is None:
            raise GrokbenchError(f"model {name}: {cause}") from None
        raise


def build_task(cfg: DictConfig, parent: continuation.Parent | None = None):
    """The task with its splits resident in memory; a continued run's keeps a subset of its
    parent's training set (grokbench/continuation.py), which `task.kept` then says."""
    check_task_keys(cfg.task)
    task_cfg, kept = (cfg.task, None) if parent is None else continuation.sized_like_parent(cfg, parent)
    task = instantiate(task_cfg)
    task.shuffle_seed, task.eval_batch_size = int(cfg.seed), int(cfg.eval.batch_size)
    task.train_steps = int(cfg.trainer.max_steps)
    task.prepare_data()
    task.setup("fit")
    if kept is not None:
        kept.apply(task)
    task.kept = kept
    return task


def build_module(cfg: DictConfig, task, model: torch.nn.Module, method: Method | None = None) -> GrokModule:
    """The module with the method's loss and optimizer (grokbench/methods/base.py); the method's
    callbacks go to the trainer (train, which builds the method once and passes it here)."""
    method = method or build_method(cfg.method, task.name)
    settings = OmegaConf.to_container(cfg.module)
    settings["loss"] = method.loss(settings["loss"], task.kind)
    return GrokModule(model, task.kind, task.num_outputs, optimizer=method.optimizer(instantiate(cfg.optim), model),
                      eval_splits=task.eval_splits, **settings)


def is_integer(value: Any, at_least: int | None = None) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and (at_least is None or value >= at_least)


def check_run_settings(cfg: DictConfig) -> None:
    """Settings of the run itself (the task and model check their own): one line each."""
    require(is_integer(cfg.seed) and 0 <= cfg.seed <= MAX_SEED,
            f"seed={cfg.seed!r} is invalid; allowed: an integer from 0 to {MAX_SEED} (numpy's seed range)")
    batch = cfg.eval.batch_size
    require(is_integer(batch, 1), f"eval.batch_size={batch!r} is invalid; allowed: an integer >= 1")
    require(cfg.threads is None or is_integer(cfg.threads, 1),
            f"threads={cfg.threads!r} is invalid; allowed: an integer >= 1 or null (torch's default)")
    matmul = cfg.get("matmul_precision", "highest")
    require(matmul in MATMUL_PRECISIONS,
            f"matmul_precision={matmul!r} is invalid; allowed: {', '.join(MATMUL_PRECISIONS)}")
    steps = cfg.trainer.get("max_steps")
    require(is_integer(steps, 1), f"trainer.max_steps={steps!r} is invalid; allowed: an integer >= 1")
    every = cfg.eval.every
    require(is_integer(every, 1), f"eval.every={every!r} is invalid; allowed: an integer >= 1")
    per_decade = cfg.eval.get("per_decade")
    require(is_integer(per_decade, 1), f"eval.per_decade={per_decade!r} is invalid; allowed: an integer >= 1")
    max_every = cfg.eval.get("max_every")
    require(max_every is None or (is_integer(max_every, 1) and max_every >= every),
            f"eval.max_every={max_every!r} is invalid; allowed: null or an integer >= eval.every ({every})")
    # One process trains one run: Lightning would start a process per device by re-running
    # sys.argv, which is `grokbench run`'s rewritten argv, not a script.
    devices, nodes = cfg.trainer.get("devices", 1), cfg.trainer.get("num_nodes", 1)
    one_device = devices in (1, "1") or (OmegaConf.is_list(devices) and len(devices) == 1)
    require(one_device, f"trainer.devices={devices}: multi-device runs are not supported; allowed: "
                        "trainer.devices=1 (or one device id, e.g. trainer.devices=[1])")
    require(nodes in (1, None), f"trainer.num_nodes={nodes}: multi-node runs are not supported; "
                                "allowed: trainer.num_nodes=1")
    clip = cfg.trainer.get("gradient_clip_val")
    require(clip is None, f"trainer.gradient_clip_val={clip} is not used (GrokModule steps its own "
                          "optimizer); allowed: module.gradient_clip_val")


def set_float32_precision(matmul_precision: str) -> None:
    """One switch for TF32: matmuls through torch, convolutions through cuDNN (which allows
    TF32 by default even where matmuls are told `highest`)."""
    torch.set_float32_matmul_precision(matmul_precision)
    torch.backends.cudnn.allow_tf32 = matmul_precision != "highest"


def stop_reason(trainer: L.Trainer) -> str:
    """Why the fit ended: its step budget, its wall-time budget (`trainer.max_time`: the run is
    censored there, not failed), or the detector (generalization sustained, or divergence)."""
    if trainer.global_step >= trainer.max_steps:
        return "max_steps"
    timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
    if timer is not None and timer.time_remaining() is not None and timer.time_remaining() <= 0:
        return "max_time"
    return "detector"


def build_trainer(cfg: DictConfig, run_dir: Path, callbacks: list) -> L.Trainer:
    """The trainer of a run whose settings are checked (check_run_settings, first thing in train_in)."""
    every, max_every = int(cfg.eval.every), cfg.eval.get("max_every")
    max_every = None if max_every is None else int(max_every)
    callbacks.append(EvaluationSchedule(every, bool(cfg.eval.log_spaced), max_every, int(cfg.eval.per_decade)))
    progress = progress_callback(every // 4) if cfg.progress_bar else None
    if progress is not None:
        callbacks.append(progress)
    with known_warnings():
        return L.Trainer(
            **OmegaConf.to_container(cfg.trainer),
            val_check_interval=every, check_val_every_n_epoch=None, num_sanity_val_steps=0,
            logger=build_loggers(cfg, run_dir, callbacks), log_every_n_steps=every,
            callbacks=callbacks, enable_checkpointing=False,
            enable_progress_bar=isinstance(progress, ProgressBar), enable_model_summary=False,
            default_root_dir=run_dir)


def resume_path(cfg: DictConfig, run_dir: Path) -> str | None:
    """last.ckpt of an unfinished run; a finished run (its record says so) starts over. A
    checkpoint past trainer.max_steps is an error: the run would report more steps than asked."""
    last, record = run_dir / "checkpoints" / "last.ckpt", run_dir / rec.RECORD_NAME
    if not (cfg.checkpoint.resume and last.exists()) or finished(record):
        return None
    step, max_steps = checkpoint_step(last), int(cfg.trainer.max_steps)
    require(step <= max_steps, f"trainer.max_steps={max_steps} is below the step of {last} ({step:,}), "
                               f"which this run would resume from; allowed: trainer.max_steps >= {step}, "
                               "or checkpoint.resume=false to start over")
    return str(last)


def finished(record_path: Path) -> bool:
    """Whether a run directory's record says its run ended (a corrupt one does not)."""
    try:
        return rec.read_record(record_path).get("status") in ("completed", "diverged")
    except (OSError, GrokbenchError):
        return False


def summarize_metrics(history: list[dict[str, Any]], declarations: dict[str, MetricDeclaration]
                      ) -> tuple[dict, dict]:
    """Final value of every logged metric, and the best of each whose declaration gives a
    direction (grokbench/kinds.py; a measure's from its config): highest for up, lowest for down."""
    if not history:
        return {}, {}
    final = {k: v for k, v in history[-1].items() if k not in ("step", "finite")}
    best = {}
    for key in final:
        direction = declarations[key].direction if key in declarations else "none"
        if direction != "none":
            values = [r[key] for r in history if key in r]
            best[key] = max(values) if direction == "up" else min(values)
    return final, best


def launch_overrides() -> list[str]:
    """The command-line overrides of this run (Hydra's task overrides), [] outside Hydra."""
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def base_record(cfg: DictConfig, overrides: list[str] | None = None) -> rec.RunRecord:
    try:
        resolved = OmegaConf.to_container(cfg, resolve=True)
    except Exception:  # noqa: BLE001 - an unresolvable config still gets a record
        resolved = OmegaConf.to_container(cfg, resolve=False)
    commit, dirty = rec.git_state(PROJECT_ROOT)
    meta = OmegaConf.to_container(cfg.meta) if isinstance(cfg.get("meta"), DictConfig) else {}
    return {
        "schema_version": rec.SCHEMA_VERSION, "status": "running", "error": None,
        "recipe": cfg.get("name", "default"), "meta": meta, "overrides": overrides or launch_overrides(),
        "task": choice_name(cfg, "task"), "task_version": None,
        "task_params": {}, "model": choice_name(cfg, "model"), "method": choice_name(cfg, "method"),
        "seed": cfg.seed, "split_seed": cfg.task.get("split_seed"),
        "verdict": None, "profile": {}, "memorized_step": None, "generalized_step": None, "steps": 0, "wall_seconds": None, "steps_per_second": None, "stopped_by": None,
        "final": {}, "best": {}, "metrics": {}, "measures": {}, "measures_skipped": {}, "detector": {}, "started_at": dt.datetime.now().isoformat(timespec="seconds"),
        "hardware": rec.hardware(precision=cfg.trainer.get("precision")), "versions": rec.library_versions(),
        "git_commit": commit, "git_dirty": dirty, "config": resolved, "curve": [],
    }


def quiet_lightning() -> None:
    """Keep the console to the progress bar and our summary: hardware goes in the record."""
    logging.getLogger("lightning.pytorch.utilities.rank_zero").setLevel(logging.WARNING)
    # "Received SIGTERM", "Bypassing SIGTERM": an interrupted run says what happened in one line
    logging.getLogger("lightning.pytorch.trainer.connectors.signal_connector").setLevel(logging.WARNING)
    logging.getLogger("lightning.pytorch").propagate = False


@contextmanager
def known_warnings():
    """Silence, for the length of a fit only, warnings we understand and that say nothing
    about the run; every other warning still shows."""
    with warnings.catch_warnings():
        # Lightning's CSV logger warns when its folder is not empty: it writes into the run
        # directory, which we create ourselves and which already holds Hydra's .hydra/ (and, for a
        # resumed run, checkpoints/; the record's curve comes from the detector's checkpointed
        # history, not from metrics.csv).
        warnings.filterwarnings("ignore", message=r".*exists and is not empty", category=UserWarning,
                                module=r"lightning\.fabric\.loggers\.csv_logs")
        # A resumed run continues its batch order itself: the task's train_dataloader() starts
        # its ShuffledBatches at trainer.global_step (tasks/base.py), so the dataloader needs no
        # Lightning state_dict, which is what Lightning warns about on a mid-"epoch" resume.
        warnings.filterwarnings("ignore", message=r".*your dataloader is not resumable", category=UserWarning,
                                module=r"lightning\.pytorch\.loops\.training_epoch_loop")
        # Lightning's own _pytree helper (lightning/pytorch/utilities/_pytree.py, used by its
        # loops) still builds torch's LeafSpec, which recent torch deprecates with a FutureWarning;
        # nothing of ours uses it, and Lightning has to change it, not us.
        warnings.filterwarnings("ignore", message=r".*LeafSpec.*", category=FutureWarning,
                                module=r"lightning\.pytorch\.utilities\._pytree")
        # Where SLURM is installed, Lightning suggests `srun` for multi-process training; a run is
        # one process (check_run_settings), and SLURM jobs go through the launcher (conf/launcher).
        warnings.filterwarnings("ignore", message=r"The `srun` command is available", category=UserWarning,
                                module=r"lightning\.fabric\.plugins\.environments\.slurm")
        yield


def train(cfg: DictConfig, overrides: list[str] | None = None) -> dict[str, Any]:
    """Run one experiment; returns (and writes) its record. Raises GrokbenchError only where no
    record can be written: a run directory that cannot be made, or one another run holds.
    `overrides`: the command line it was launched with, where Hydra's runtime does not say."""
    quiet_lightning()
    run_dir = make_run_dir(Path(cfg.run_dir))
    with exclusive(run_dir):
        checkpoint = LastCheckpoint(run_dir / "checkpoints", cfg.checkpoint.get("every_n_steps"),
                                    cfg.checkpoint.get("at_end", False))
        with Interrupts(checkpoint).installed() as interrupts:
            return train_in(cfg, base_record(cfg, overrides), run_dir, checkpoint, interrupts)


def train_in(cfg: DictConfig, record: rec.RunRecord, run_dir: Path, checkpoint: LastCheckpoint,
             interrupts: Interrupts) -> dict[str, Any]:
    started = time.perf_counter()
    detector = trainer = measures = None
    declarations: dict[str, MetricDeclaration] = {}
    try:
        check_run_settings(cfg)
        if cfg.threads:
            torch.set_num_threads(int(cfg.threads))
        set_float32_precision(cfg.get("matmul_precision", "highest"))
        L.seed_everything(int(cfg.seed), verbose=False)
        resume = resume_path(cfg, run_dir)
        start = checkpoint_step(resume) if resume else 0
        if cfg.get("init_from"):  # named at once: a child that fails is still not a run from initialization
            record["parent"] = {"run_dir": str(cfg.init_from), "step": cfg.get("init_step")}
        parent = continuation.find_parent(cfg.init_from, cfg.get("init_step")) if cfg.get("init_from") else None
        if parent is not None:
            record.update(parent=continuation.parent_entry(parent), changed=continuation.changes(cfg, parent))
        data_started = time.perf_counter()
        task = build_task(cfg, parent)
        record.update(task=task.name, task_version=task.version, task_params=task.params(),
                      data_seconds=round(time.perf_counter() - data_started, 3),
                      num_train=task.num_train, num_val=task.num_val)
        if parent is not None:
            record["kept"] = task.kept.as_record(task, parent)
        if hasattr(task, "save_artifacts"):  # files a run needs to be reproduced, e.g. a vocabulary
            task.save_artifacts(run_dir)
        model = build_model(cfg, task)
        record["num_parameters"] = sum(p.numel() for p in model.parameters())
        method = build_method(cfg.method, task.name)  # the run's domain is its task's name
        record["method_settings"] = method.settings.as_record()
        module = build_module(cfg, task, model, method)
        starts = parent is not None and not resume  # a continued run resumed from its own checkpoint has its state
        if parent is not None:
            continuation.check_same_model(cfg, parent, record["method"])
        declarations = module.declarations  # measures and callbacks add the keys they log
        active, skipped = run_measures(cfg.get("measures"), task, model)
        record["measures_skipped"] = skipped
        for reason in skipped.values():
            print(f"skipped: {reason}", flush=True)
        measures = MeasuresCallback(active) if active else None
        extra_callbacks = method.callbacks(cfg)
        extra_callbacks += [instantiate(c) for c in cfg.callbacks.values()]
        extra_callbacks += [continuation.start_from(parent, module)] if starts else []
        settings, reference_source = profile_settings(cfg, task, extra_callbacks)
        detector = GrokkingDetector(settings, None if parent else cfg.detector.get("stop_after_steps"))
        record["detector"] = {"settings": asdict(settings), "reference_source": reference_source,
                              "given": sorted(k for k in FACTS + ProfileSettings.levels()
                                              if cfg.detector.get(k) is not None)}
        for callback in extra_callbacks:  # a callback that logs declares its keys
            declarations.update(getattr(callback, "declarations", dict)())
        extra_callbacks += [measures] if measures else []
        keep_metrics_before(run_dir, start)
        trainer = build_trainer(cfg, run_dir, [detector, checkpoint, interrupts, *extra_callbacks])
        record["hardware"] = rec.hardware(trainer.strategy.root_device, trainer.precision)
        check_bf16_kernels(model, trainer.precision, trainer.strategy.root_device)
        fit_started = time.perf_counter()
        try:
            with known_warnings():
                if starts:  # the start of a continued run: its step 0, read by the fall analysis
                    # under no_grad as the fit's evaluations (metric states reset under
                    # inference mode could not be updated by them)
                    trainer.validate_loop.inference_mode = False
                    trainer.validate(module, datamodule=task, verbose=False)
                trainer.fit(module, datamodule=task, ckpt_path=resume)
        finally:
            fit_seconds = time.perf_counter() - fit_started
            trained = trainer.global_step - checkpoint.resumed_from_step  # a resumed run times only its own steps
            record.update(steps=int(trainer.global_step), fit_seconds=round(fit_seconds, 3),
                          resumed_from_step=checkpoint.resumed_from_step, stopped_by=stop_reason(trainer),
                          steps_per_second=round(trained / fit_seconds, 2) if fit_seconds and trained else None)
        record["status"] = "completed"
    except BaseException as error:  # the record must be written whatever failed
        known = user_error(error)
        record.update(status="failed", error=str(known) if known else f"{type(error).__name__}: {error}",
                      traceback=None if known else traceback.format_exc())
        if interrupts.received is not None and trained_to_the_end(cfg, detector):
            record.update(status="completed", error=None, traceback=None)  # the signal came after the last step
        elif interrupts.received is not None:  # the signal, or how Lightning ended the fit after it
            interrupts.line = interrupted_line(cfg, record, run_dir, interrupts, checkpoint)
            record.update(interrupted=interrupts.received, traceback=None, error=interrupts.line)
        elif not isinstance(error, Exception):
            raise
    finally:
        record["wall_seconds"] = round(time.perf_counter() - started, 3)
        if measures is not None:
            record["measures"] = measures.summary()
        if detector is not None:
            finish_detection(record, detector, declarations)
        rec.write_record(run_dir, record)
    if record["curve"]:
        plot_run(record, run_dir / "curves.png")
    return record


def trained_to_the_end(cfg: DictConfig, detector: GrokkingDetector | None) -> bool:
    """Whether the last step and its evaluation are done (the last step is always evaluated)."""
    return detector is not None and bool(detector.history) and \
        detector.history[-1]["step"] >= int(cfg.trainer.max_steps)


def interrupted_line(cfg: DictConfig, record: rec.RunRecord, run_dir: Path, interrupts: Interrupts,
                     checkpoint: LastCheckpoint) -> str:
    """What happened, where the checkpoint is, and the command that resumes the run."""
    saved = interrupts.saved_step if interrupts.saved_step is not None else \
        (checkpoint.saved_step if checkpoint.path.exists() else None)
    where = f"checkpoint {checkpoint.path} (step {saved:,})" if saved is not None else "no checkpoint"
    overrides = [o for o in record["overrides"] if override_key(o) not in ("hydra.run.dir", "run_dir")]
    command = shlex.join(["grokbench", "run", *overrides, f"hydra.run.dir={run_dir}"])
    again = "resume" if saved is not None else "start again"
    return (f"interrupted by {interrupts.received} at step {record['steps']:,} of {int(cfg.trainer.max_steps):,}; "
            f"{where}; {again}: {command}")


def finish_detection(record: dict[str, Any], detector: GrokkingDetector,
                     declarations: dict[str, MetricDeclaration]) -> None:
    if record.get("parent"):  # a continued run starts generalized: its fall, not a grokking profile
        fall = analyze_fall(detector.history, detector.settings) if detector.history else None
        record.update(verdict=fall and fall.verdict, fall=fall and fall.as_dict(), profile={},
                      verdict_provisional=False)  # the fall is read against the start: no reference
    else:
        profile = detector.result()
        provisional = record["detector"].get("reference_source") not in ("exact", "given")
        record.update(verdict=profile.verdict, profile=profile.as_dict(), memorized_step=profile.memorized_step,
                      generalized_step=profile.generalized_step, verdict_provisional=provisional,
                      verdict_note=PROVISIONAL if provisional else None)
    record["curve"] = rec.log_spaced_curve(detector.history)
    record["final"], record["best"] = summarize_metrics(detector.history, declarations)
    record["metrics"] = {key: d.as_record() for key, d in sorted(declarations.items())}
    if record["status"] == "completed" and record["verdict"] == "diverged":
        record["status"] = "diverged"


def summary_line(record: dict[str, Any]) -> str:
    """The profile in one line (`grokbench.profile.describe`; a continued run's fall,
    `describe_fall`), or the error of a failed run."""
    if record["status"] == "failed":
        return f"failed: {record['error']}"
    if record.get("parent"):
        return describe_fall(Fall(**record["fall"]))
    line = describe(Profile(**record["profile"]))
    return f"{line} [provisional: the board measures it against the control's level]" \
        if record.get("verdict_provisional") else line
