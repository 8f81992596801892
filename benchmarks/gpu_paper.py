"""The papers' long recipes on one GPU within nine minutes, then their speed alone vs shared.

    python benchmarks/gpu_paper.py "$OUT" --data data     # on the GPU machine
    python benchmarks/gpu_paper.py out --data data --dry-run   # here: a few steps each

The sweeps of benchmarks/gpu_paper.yaml start in its order (most valuable first) as long as
`--max-processes` allows; each sweep is one `grokbench run -m` whose seeds (and experiments) run
at once as joblib processes sharing the GPU. Every run ends at the end of the main phase at the
latest (`trainer.max_time`, set when its sweep starts): it is then censored, its record saying
`stopped_by: max_time`, not failed. A sweep that could not get `MIN_WINDOW_S` of training is not
started (one line). A sweep whose data is not under `--data` is skipped (one line). Afterwards,
in the time kept for it, each `speed` experiment trains for `seconds` alone and then as `share`
copies at once, without evaluation, so the two steps/s figures time the same work.

Writes under OUT: records/<sweep>/<recipe>/seed<k>/ (the runs, a folder per sweep as sweeps run
at once; `grokbench board OUT/records`), speed/{solo,shared}/<recipe>/seed<k>/ (timing runs only,
seeds >= 100), logs/<sweep>.log, and summary.md (what started when, each run's status, stop
reason, steps and steps/s, the speed table), printed at the end. Exit 1 if a run failed or left
no record; 2 on bad input.

Sizing (written before any GPU run). The CPU figures come from the committed records and the
README (a shared, loaded 2-core machine, one torch thread per run). GPU steps/s are assumptions for an
H200 running these tiny models in eager PyTorch, one process: launch- and Python-bound at ~5-15 µs
per operation, so ~1-4 ms per step whatever the FLOPs, plus Lightning's ~0.5 ms and the recipe's
evaluation share. Solo s = steps / GPU steps/s; "steps" is where a run ends: max_steps, or the
expected G = 0.9 step plus detector.stop_after_steps.

| sweep (seeds) | steps | CPU steps/s (1 thread) | GPU steps/s assumed | solo s per seed |
|---|---|---|---|---|
| nanda2023_addition (5) | 40,000 max; ~15,000 (groks ~13k + 2,000) | 3-6 | 400 | ~40 |
| grokfast2024_baseline (3) | 40,000 (published 39,890 + 200) | ~5-12 | 250 (eval every 20) | ~160 |
| prieto2025_softmax (2) | 80,000 (stalls: runs to the end) | ~4-8 | 500 (eval every 25) | ~160 |
| prieto2025_stablemax (2) | <= 80,000 | ~4-8 | 500 | <= 160 |
| s5_composition (2) | 100,000 | ~5-12 (grokfast's model) | 400 | ~250 |
| omnigrok_imdb + _control (1 each) | 20,000 | 0.15-0.2 (5-7 s/step) | 200 (cuDNN LSTM, 500 tokens) | ~100 |
| humayun2024_cifar10 (1) | 500,000 | - | 250 (ResNet-18 k=16, batch 256) | ~2,000: censored |

Budget: 540 s of wall time = main phase to 375 s (sweeps' `trainer.max_time` = 375 s minus the
time already gone minus `STARTUP_S` for imports, CUDA start and data: 335 s for the first wave)
+ 165 s kept for the speed phase (alone, then 4 at once, each as 3 data groups: ~10 s of start-up
per group + ~7 s per experiment, 6 experiments: ~75 s each); a straggler is stopped `GRACE_S`
after its cap, which the speed phase then loses.

Sharing, the unknown: without MPS the GPU time-slices between processes, each of which keeps it
busy only a fraction of the time. Assumed: N processes together run A = 3 times the steps of one
alone, so each runs at A/N of its solo speed (the speed phase measures A at N = 4). A run of S solo
seconds then ends within the 335 s cap only if A/N >= S/335: 0.48 for grokfast and prieto (160 s).
With at most 8 processes at once: nanda x5 + grokfast x3 start at 0 s; nanda ends near 110 s
(40 s / (3/8)); the prieto pair (x2 + x2) then starts with ~225 s and grokfast, at 3/7 of its solo
speed, ends near 40,000 steps only if A is above ~3.7, else censored past ~34,000; s5 (250 s solo),
IMDb and CIFAR-10 start as slots free and are censored or, under 60 s left, not started. With
A = 6 all but s5 and CIFAR-10 end. Fewer processes favour the first sweeps (`--max-processes`),
fewer sweeps the ones named (`--only nanda,grokfast`).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

try:  # grokbench.tasks and .models exist only in an installed copy (tasks/ and models/ map there)
    import grokbench.tasks  # noqa: F401
    from grokbench.board.formatting import fmt_float, markdown
    from grokbench.record import RECORD_NAME, read_record
    from grokbench.suite import sweep_commands
except ImportError as missing:
    print(f"error: grokbench is not installed ({missing}); run `pip install -e .` in the repository first",
          file=sys.stderr)
    sys.exit(2)

PLAN = Path(__file__).with_name("gpu_paper.yaml")
SPEED_RESERVE_S = 165  # kept after the main phase for the speed phase
STARTUP_S = 40         # imports, CUDA start and data before a run's training starts
MIN_WINDOW_S = 60      # a sweep with less training time than this left is not started
GRACE_S = 60           # past a run's cap (a late start, an evaluation in progress) before it is stopped
DRY_RUN_STEPS = ["trainer.max_steps=6"]
DRY_RUN = [*DRY_RUN_STEPS, "eval.every=3", "eval.log_spaced=false"]  # two evaluations
NO_EVALUATION = ["eval.every=1000000000", "eval.log_spaced=false"]  # speed runs: training only


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


@dataclass
class Sweep:
    name: str
    config: DictConfig
    seeds: list[int]
    processes: int = field(init=False)

    def __post_init__(self):
        self.processes = len(self.config.experiments) * len(self.seeds)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for records, logs and summary.md")
    parser.add_argument("--data", type=Path, required=True, help="folder holding imdb/, cifar10/ (e.g. data)")
    parser.add_argument("--dry-run", action="store_true", help="a few steps per recipe on any device, tiny data")
    parser.add_argument("--minutes", type=float, default=9.0, help="wall-time budget of the whole command")
    parser.add_argument("--max-processes", type=int, default=None, help="runs at once (default 8; dry run 2)")
    parser.add_argument("--only", default=None, help="comma-separated sweeps of the plan to run (default all)")
    args = parser.parse_args(argv)
    args.out, args.data = args.out.resolve(), args.data.resolve()  # the runs' working directory may differ
    if not args.data.is_dir():
        fail(f"--data {args.data}: no such folder; allowed: a folder with the data sets (imdb/, cifar10/), "
             "e.g. shared/data; an empty folder runs only the generated tasks")
    if args.max_processes is None:
        args.max_processes = 2 if args.dry_run else 8
    if args.max_processes < 1 or args.minutes <= 0:
        fail(f"--max-processes {args.max_processes} / --minutes {args.minutes} is invalid; allowed: >= 1 / > 0")
    return args


def planned_sweeps(plan: DictConfig, args: argparse.Namespace) -> tuple[list[Sweep], list[str]]:
    """The plan's sweeps in order: those `--only` names, with their data (a dry run takes one seed),
    and a line for each skipped for want of data."""
    wanted = list(plan.sweeps) if args.only is None else [w for w in args.only.split(",") if w]
    unknown = [w for w in wanted if w not in plan.sweeps]
    if unknown or not wanted:
        fail(f"--only {args.only}: {', '.join(unknown) or 'nothing'} is not a sweep of {PLAN.name}; "
             f"allowed: {', '.join(plan.sweeps)}")
    sweeps, skipped = [], []
    for name in wanted:
        config = plan.sweeps[name]
        if config.get("source") and not (args.data / config.source).exists():
            skipped.append(f"skip {name}: no {args.data / config.source} (its data); "
                           f"{', '.join(config.experiments)} not run")
            print(skipped[-1], flush=True)
            continue
        seeds = list(config.seeds)[:1] if args.dry_run else list(config.seeds)
        sweeps.append(Sweep(name, config, seeds))
    return sweeps, skipped


def command(sweep: Sweep, plan: DictConfig, out: Path, data: Path, extra: list[str]) -> list[str]:
    """The sweep's `grokbench run -m` (grokbench.suite builds it: split seeds, data source),
    its runs at once through the joblib launcher."""
    suite = OmegaConf.create({"overrides": list(plan.overrides), "sweeps": {sweep.name: sweep.config}})
    launcher = ["launcher=joblib", f"workers={sweep.processes}", "threads=1"]
    (built,) = sweep_commands(suite, str(out), sweep.seeds, [*launcher, *extra], str(data))
    return built


def start(built: list[str], log_path: Path) -> subprocess.Popen:
    """A `grokbench run -m` in its own process group (with its joblib workers), logged."""
    with log_path.open("w") as log:
        log.write(" ".join(built) + "\n\n")
        log.flush()
        return subprocess.Popen(built, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    """End a sweep and its joblib workers (one process group): SIGTERM, then SIGKILL."""
    for sent in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sent)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def run_sweeps(sweeps: list[Sweep], plan: DictConfig, args: argparse.Namespace, started: float,
               main_end: float, extra: list[str]) -> list[str]:
    """Start the sweeps in order while processes are free; each run's cap is the time left to
    `main_end`. Returns one line per sweep: when it started and its cap, or why it did not."""
    pending, running, lines = list(sweeps), {}, []  # running: name -> (process, hard end, processes)
    while pending or running:
        now = time.monotonic()
        for name, (process, hard_end, _) in list(running.items()):
            if process.poll() is not None:
                del running[name]
                print(f"[{now - started:4.0f} s] {name} finished (exit {process.returncode})", flush=True)
            elif now > hard_end:
                print(f"[{now - started:4.0f} s] {name} past its cap + {GRACE_S} s: stopped", flush=True)
                stop(process)
                del running[name]
        busy = sum(count for *_, count in running.values())
        while pending and (not running or busy + pending[0].processes <= args.max_processes):
            sweep = pending.pop(0)
            cap = int(main_end - time.monotonic() - STARTUP_S)
            if cap < MIN_WINDOW_S and not args.dry_run:
                lines.append(f"{sweep.name}: not started, {cap} s of training left (< {MIN_WINDOW_S} s)")
                print(lines[-1], flush=True)
                continue
            tiny = list(sweep.config.get("dry_run", [])) if args.dry_run else []  # its data made tiny
            built = command(sweep, plan, args.out / "records" / sweep.name, args.data,
                            [f"++trainer.max_time={{seconds:{max(cap, 1)}}}", *extra, *tiny])
            process = start(built, args.out / "logs" / f"{sweep.name}.log")
            running[sweep.name] = (process, time.monotonic() + cap + STARTUP_S + GRACE_S, sweep.processes)
            busy += sweep.processes
            lines.append(f"{sweep.name}: started at {time.monotonic() - started:.0f} s, {sweep.processes} "
                         f"process(es), training capped at {cap} s")
            print(lines[-1], flush=True)
        time.sleep(1)
    return lines


def run_speed(sweeps: list[Sweep], plan: DictConfig, args: argparse.Namespace, deadline: float,
              extra: list[str]) -> None:
    """Each speed experiment alone, then `share` copies at once; one multirun per data source
    (their overrides differ), so the start-up is paid once per group, not per experiment."""
    speed = plan.speed
    seconds = 1 if args.dry_run else int(speed.seconds)
    share = 2 if args.dry_run else int(speed.share)
    planned = {e: s for s in sweeps for e in s.config.experiments}
    groups: dict[str, list[str]] = {}
    for experiment in speed.experiments:
        if experiment in planned:
            groups.setdefault(planned[experiment].config.get("source") or "", []).append(experiment)
    timing = [f"++trainer.max_time={{seconds:{seconds}}}", *NO_EVALUATION, "detector.stop_after_steps=null"]
    for mode, seeds in (("solo", [int(speed.seed)]), ("shared", [int(speed.seed) + i for i in range(share)])):
        for source, experiments in groups.items():
            left = deadline - time.monotonic()
            if left < 10 + seconds:
                print(f"speed {mode} {','.join(experiments)}: not run, {left:.0f} s left", flush=True)
                continue
            dry = [o for e in experiments for o in planned[e].config.get("dry_run", [])] if args.dry_run else []
            config = OmegaConf.create({"experiments": experiments, "seeds": seeds,
                                       **({"source": source} if source else {})})
            sweep = Sweep(f"speed_{mode}", config, seeds)
            sweep.processes = len(seeds)  # a group's experiments one after another, its seeds at once
            built = command(sweep, plan, args.out / "speed" / mode, args.data, [*extra, *timing, *dry])
            process = start(built, args.out / "logs" / f"speed_{mode}_{source or 'generated'}.log")
            try:
                process.wait(timeout=left)
            except subprocess.TimeoutExpired:
                print(f"speed {mode} {','.join(experiments)}: stopped at the deadline", flush=True)
                stop(process)


def records_under(folder: Path) -> list[dict]:
    return [read_record(p) for p in sorted(folder.rglob(RECORD_NAME))] if folder.exists() else []


def run_table(records: list[dict]) -> str:
    return markdown([{"recipe": r["recipe"], "seed": str(r["seed"]), "status": r["status"],
                      "stopped by": str(r.get("stopped_by")), "steps": str(r["steps"]),
                      "verdict": str(r.get("verdict")), "G=0.9 step": str(r.get("generalized_step")),
                      "steps/s": fmt_float(r.get("steps_per_second")),
                      "device": str((r.get("hardware") or {}).get("accelerator"))} for r in records])


def speed_table(solo: list[dict], shared: list[dict]) -> str:
    """Per experiment: steps/s alone, each of n at once (median), and n x that / alone (total gain)."""
    rows = []
    for alone in solo:
        copies = sorted(r["steps_per_second"] for r in shared if r["recipe"] == alone["recipe"] and r["steps_per_second"])
        one = alone.get("steps_per_second")
        each = copies[len(copies) // 2] if copies else None
        rows.append({"recipe": alone["recipe"], "alone steps/s": fmt_float(one),
                     "shared: processes": str(len(copies)), "each steps/s (median)": fmt_float(each),
                     "each / alone": fmt_float(each / one) if one and each else "-",
                     "total / alone": fmt_float(len(copies) * each / one) if one and each else "-",
                     "device": str((alone.get("hardware") or {}).get("accelerator"))})
    return markdown(rows) if rows else "(no speed runs)"


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    plan = OmegaConf.load(PLAN)
    sweeps, skipped = planned_sweeps(plan, args)
    device = [] if args.dry_run else ["trainer.accelerator=gpu"]  # a GPU run never falls back to the CPU
    if not args.dry_run and not torch.cuda.is_available():
        fail("no CUDA device is visible to torch; on a machine without one use --dry-run")
    started = time.monotonic()
    deadline = started + args.minutes * 60
    main_end = deadline - (0 if args.dry_run else SPEED_RESERVE_S)
    (args.out / "logs").mkdir(parents=True, exist_ok=True)
    lines = skipped + run_sweeps(sweeps, plan, args, started, main_end, [*device, *(DRY_RUN if args.dry_run else [])])
    run_speed(sweeps, plan, args, deadline, [*device, *(DRY_RUN_STEPS if args.dry_run else [])])
    runs = [r for sweep in sweeps for r in records_under(args.out / "records" / sweep.name)]  # in plan order
    summary = "\n\n".join([
        f"# gpu_paper: {'dry run' if args.dry_run else 'GPU'}, {time.monotonic() - started:.0f} s of wall time",
        "\n".join(f"- {line}" for line in lines) or "- no sweep started",
        "## Runs\n\n" + (run_table(runs) if runs else "(no records)"),
        "## Steps per second alone and shared (training only, no evaluation)\n\n"
        + speed_table(records_under(args.out / "speed" / "solo"), records_under(args.out / "speed" / "shared"))])
    (args.out / "summary.md").write_text(summary + "\n")
    print(summary)
    expected = sum(s.processes for s in sweeps if any(line.startswith(f"{s.name}: started") for line in lines))
    bad = [r for r in runs if r["status"] in ("failed", "running")]
    return 1 if bad or len(runs) < expected else 0


if __name__ == "__main__":
    sys.exit(main())
