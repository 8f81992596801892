"""Run records: one JSON file per run, the only input of boards, plots and comparisons.

`RunRecord` is the schema (the README documents it); the writer is atomic so a killed run
never leaves half a file.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import pandas as pd
import torch

from grokbench.errors import GrokbenchError, require

RECORD_NAME = "record.json"
# 2: the grokking profile, declared roles (meta), git_dirty, overrides; 3: profile v3 (chance
# band, plateau as flatness, delay), the held-out size the band comes from, and whether the
# run-time verdict is provisional. The board reads 2 and 3 alike: it recomputes every profile
# from the curve (grokbench/board/reference.py).
SCHEMA_VERSION = 3
READABLE_SCHEMAS = (2, 3)


class Meta(TypedDict, total=False):
    """What an experiment declares itself to be (its file's `meta:`), copied into each record."""

    domain: str           # a domain of the catalog (grokbench/catalog.py; `grokbench ls`)
    role: str             # main | control | method
    control: str | None   # a main recipe's control recipe
    baseline: str | None  # a method recipe's baseline recipe


class RunRecord(TypedDict, total=False):
    """One run. The board, figures and `compare` read nothing else."""

    schema_version: int
    status: str                  # running | completed | failed | diverged
    error: str | None            # one line for bad input or an interrupt; the exception otherwise
    interrupted: str             # SIGINT | SIGTERM: the run stopped at `steps`, resumable (error says how)
    traceback: str | None
    recipe: str                  # the experiment's `name`
    meta: Meta
    task: str
    task_version: str
    task_params: dict[str, Any]
    model: str
    method: str
    method_settings: dict[str, Any]  # methods/base.py MethodSettings: domain, knobs, source, tuned, baseline
    seed: int                    # initialization and batch order
    split_seed: int | None       # the train/held-out split
    overrides: list[str]         # the command-line overrides the run was launched with
    verdict: str | None          # the profile's verdict (grokbench/profile VERDICTS)
    # True where the reference was not known at run time (a task that is not exact, measured
    # here against the perfect score): the final verdict is the board's, against the control's
    # level (grokbench.load_records, `grokbench profile RUN_DIR`); `verdict_note` says so
    verdict_provisional: bool
    verdict_note: str | None
    profile: dict[str, Any]      # grokbench/profile Profile, computed at run time
    detector: dict[str, Any]     # {"settings": ProfileSettings, "reference_source": str}
    memorized_step: int | None   # = profile.memorized_step
    generalized_step: int | None  # = profile.generalized_step (sustained G = 0.9)
    steps: int
    num_train: int
    num_val: int
    num_parameters: int
    wall_seconds: float | None
    fit_seconds: float
    data_seconds: float
    steps_per_second: float | None
    stopped_by: str | None       # max_steps | max_time (the wall-time budget ended: censored) | detector
    resumed_from_step: int
    final: dict[str, float]      # every logged metric at the last evaluation
    best: dict[str, float]       # each metric with a declared direction: its best value
    metrics: dict[str, dict[str, Any]]  # every logged key's declaration (kinds.MetricDeclaration):
                                 # direction, role, split, metric, shown; measures' too
    measures: dict[str, dict[str, Any]]  # each measure's declaration, knobs, evaluations, seconds
    measures_skipped: dict[str, str]     # measure -> why it does not apply to this run
    started_at: str
    hardware: dict[str, Any]     # record.hardware(): accelerator, device, precision, matmul_precision,
                                 # cudnn_allow_tf32, torch/CUDA/cuDNN versions, cpu, cpu_capability, threads
    versions: dict[str, str | None]
    git_commit: str | None
    git_dirty: bool | None       # uncommitted changes to tracked files when the run started
    config: dict[str, Any]       # the resolved Hydra config
    curve: list[dict[str, Any]]  # the evaluation history (log-spaced down to 1,000 rows at most)
    # A run continued from another (init_from; grokbench/continuation.py): where it started, what
    # it kept of its parent's training set, every setting that differs from its parent's, and its
    # fall (grokbench/profile/fall.py), which its verdict then is (FALL_VERDICTS; profile is {})
    parent: dict[str, Any]       # run_dir, recipe, seed, step, commit, dirty, verdict, checkpoint
    kept: dict[str, Any]         # key, parent, child, fraction, seed, num_train, parent_num_train
    changed: dict[str, dict[str, Any]]  # key -> {parent, child}
    fall: dict[str, Any] | None

LIBRARIES = ("torch", "lightning", "torchmetrics", "hydra-core", "datasets", "rdkit", "grokbench")


def library_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_name() -> str | None:
    """The CPU's model name (Linux /proc/cpuinfo), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def hardware(device: torch.device | str | None = None, precision: Any = None) -> dict[str, Any]:
    """Where a run ran: `accelerator` is the device that trained it, "cpu" or the GPU's name
    (None until the trainer has chosen one: a run that failed before), with the numeric
    precision (trainer.precision), the float32 matmul precision and cuDNN's TF32 switch
    (the `matmul_precision` setting), the torch CPU threads in use, the vector instruction set
    torch's CPU kernels dispatch to (`cpu_capability`: AVX2, AVX512, ...; two CPUs with different
    ones round floats differently, so one seed's curve can differ between machines), and the
    torch, CUDA and cuDNN versions (CUDA and cuDNN: those torch was built with; None in a
    CPU-only build)."""
    accelerator, device_type = None, None
    if device is not None:
        device = torch.device(device)
        device_type = device.type
        accelerator = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    return {"machine": platform.machine(), "system": platform.system(), "cpu": cpu_name(),
            "cpu_count": os.cpu_count(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "torch_threads": torch.get_num_threads(),
            "accelerator": accelerator, "device": None if device is None else str(device), "device_type": device_type,
            "precision": None if precision is None else str(precision),
            "matmul_precision": torch.get_float32_matmul_precision(),
            "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
            "torch_version": torch.__version__, "cuda_version": torch.version.cuda,
            "cudnn_version": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None}


def git_state(directory: str | Path) -> tuple[str | None, bool | None]:
    """(HEAD commit, whether tracked files differ from it); (None, None) outside a checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True,
                             text=True, timeout=10, check=False)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=directory, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None, None
    if out.returncode != 0:
        return None, None
    return out.stdout.strip(), bool(dirty.stdout.strip())


def log_spaced_curve(history: list[dict[str, Any]], max_points: int = 1000) -> list[dict[str, Any]]:
    """Keep at most `max_points` evaluations, evenly spaced in log(step); first and last kept."""
    rows = [r for r in history if r["step"] > 0]
    if len(rows) <= max_points:
        return [dict(r) for r in rows]
    lo, hi = math.log(rows[0]["step"]), math.log(rows[-1]["step"])
    targets = [math.exp(lo + (hi - lo) * i / (max_points - 1)) for i in range(max_points)]
    chosen, j = [], 0
    for target in targets:
        while j + 1 < len(rows) and rows[j + 1]["step"] <= target:
            j += 1
        if not chosen or chosen[-1] is not rows[j]:
            chosen.append(rows[j])
    if chosen[-1] is not rows[-1]:
        chosen.append(rows[-1])
    return [dict(r) for r in chosen]


def _clean(value: Any) -> Any:
    """JSON has no NaN or infinity: write them as strings so the file stays valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_record(run_dir: str | Path, record: dict[str, Any]) -> Path:
    path = Path(run_dir) / RECORD_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{RECORD_NAME}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(_clean(record), indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)
    return path


def read_record(path: str | Path) -> dict[str, Any]:
    """A record as written; a file that is not one (truncated, corrupt, not an object) is a
    GrokbenchError naming it, never a JSON traceback."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise GrokbenchError(f"{path} is not valid JSON ({error.msg} at line {error.lineno}, column "
                             f"{error.colno}: truncated or corrupt)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise GrokbenchError(f"{path} cannot be read ({error})") from None
    require(isinstance(record, dict), f"{path} is not a run record (a JSON {type(record).__name__}, not an object)")
    return record


def find_records(*roots: str | Path) -> list[Path]:
    """Every record under the given run directories, in a stable order."""
    found: set[Path] = set()
    for root in roots:
        root = Path(root)
        if root.is_file() and root.name == RECORD_NAME:
            found.add(root)
        elif root.is_dir():
            found.update(root.rglob(RECORD_NAME))
    return sorted(found)


def curve_series(curve: list[dict[str, Any]], key: str | None, log_axis: bool = True
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of one logged key in a record's curve (or a run's history rows), in step
    order, finite values only; `log_axis` keeps step > 0 only (for log-scaled plots)."""
    frame = pd.DataFrame(curve)
    if not key or key not in frame or "step" not in frame:
        return np.array([]), np.array([])
    points = frame[["step", key]].apply(pd.to_numeric, errors="coerce").dropna(subset=["step"])
    points = points[np.isfinite(points[key]) & ((points["step"] > 0) if log_axis else True)]
    points = points.sort_values("step", kind="stable")
    return points["step"].to_numpy(dtype=float), points[key].to_numpy(dtype=float)


def value_at(steps: np.ndarray, values: np.ndarray, step: float) -> float | None:
    """The last value logged at or before `step` (curve_series order), None before the first."""
    before = np.flatnonzero(steps <= step)
    return float(values[before[-1]]) if before.size else None


def lower_median(values: list[float]) -> float | None:
    """The lower middle value (None without values): for an even count the two middle values are
    never averaged, so an infinite ("never") half stays infinite and is not mixed with a step."""
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2] if ordered else None


def number(value: Any) -> float | None:
    """A finite-or-not float, or None; records write non-finite floats as strings ("nan")."""
    if value is None or isinstance(value, bool):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(result) else result
