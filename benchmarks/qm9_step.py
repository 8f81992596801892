"""Where does a QM9 training step go, and what cuts it? The CPU preset (quick_qm9: NNConv 32-16
on batches of 32 molecules of at most 9 heavy atoms) costs milliseconds per step that are per-op
overhead, not arithmetic.

1. The engine: grokbench's steps/s (Trainer + GrokModule) vs a plain PyTorch loop on the same
   resident batches (benchmarks/overhead.py's two loops).
2. A torch.profiler breakdown of the plain loop's step: the top 10 ops by self CPU time.
3. Candidate cuts of the plain loop, each first checked to give eager's loss trajectory for
   `--check-steps` steps (every step's loss within LOSS_RTOL of eager's), then timed; a cut that
   disagrees is reported and not timed:
   - torch.compile(model) (default mode; its one-time cost, the first step with inductor's
     on-disk caches off, reported apart);
   - fused message passing (`fused_forward`: the same function in fewer ops; add aggregation);
   - AdamW(fused=True) (`+optim.fused=true`: one fused kernel for every parameter's update);
   - `--stack` seeds in one process (torch.func.stack_module_state + vmap over seeds, one
     AdamW over the stacked tensors): steps/s per seed.
All are timed in the same rounds, interleaved, so machine load hits all alike; the medians over
`--rounds` are reported, speed-ups as the median of per-round ratios to the plain loop.

    python benchmarks/qm9_step.py task.source=data/qm9/qm9.csv.gz
    python benchmarks/qm9_step.py --threads 1 --rounds 7 --out qm9_step.json task.source=...
    python benchmarks/qm9_step.py --smoke task.source=...     # a few steps, 1 round (the test)
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch._inductor.config
from overhead import LoopClock, PlainRun, grokbench_step_seconds, plain_pieces, plain_run, timing_config
from torch.func import functional_call, stack_module_state, vmap
from torch.profiler import ProfilerActivity, profile, schedule

from grokbench.data import ShuffledBatches
from grokbench.errors import GrokbenchError, require
from grokbench.models.nnconv import NNConvNet
from grokbench.run import known_warnings, quiet_lightning

EXPERIMENT = "experiment=quick_qm9"
# A cut agrees with eager when every checked step's loss is within this relative difference:
# float32 reassociation (another summation order in a fused or compiled kernel) moves a loss by
# ~1e-7 per step and a few steps of Adam keep that far below 1e-4; a wrong formula moves it by O(1).
LOSS_RTOL = 1e-4
SMOKE = {"steps": 12, "warmup": 2, "rounds": 1, "check_steps": 3, "profile_steps": 2, "stack": 2}


def fused_forward(model: NNConvNet) -> Callable:
    """`model(graphs)` in fewer ops (add aggregation). Per layer the original takes an edge
    network, a copy of its weights, h @ W, a copy of the messages into type-major rows, a bmm,
    the root matmul, two adds, the mask product and the ReLU. Here the root weight is one more
    'bond type' (the self-loop, on real atoms only), the bias rides on baddbmm, and the messages
    are laid out atom-major (column j * (types + 1) + t), so h @ W feeds the bmm as a view:
    edge network, cat, h @ W, baddbmm, ReLU. Padding atoms then hold ReLU(bias) (no bond and no
    self-loop lets it reach a real atom), so the pooling sums over real atoms with the mask."""
    require(isinstance(model, NNConvNet) and all(c.aggregation == "add" for c in model.convs),
            f"fused message passing: model {type(model).__name__} is not NNConvNet with aggregation=add; "
            "allowed: model=nnconv model.aggregation=add (the preset's)")

    def forward(graphs):
        h, adjacency, mask = graphs
        batch, types, atoms, _ = adjacency.shape
        self_loops = torch.diag_embed(mask).unsqueeze(1)
        neighbours = torch.cat([self_loops, adjacency], 1).permute(0, 2, 3, 1).reshape(batch, atoms, -1)
        for conv in model.convs:
            weights = torch.cat([conv.root.weight.t().unsqueeze(1), conv.edge_weights().transpose(0, 1)], 1)
            per_source = (h @ weights.view(conv.d_in, -1)).view(batch, atoms * (types + 1), conv.d_out)
            h = torch.relu(torch.baddbmm(conv.bias, neighbours, per_source))
        pooled = (mask.unsqueeze(1) @ h).squeeze(1)
        if model.pooling == "mean":
            pooled = pooled / mask.sum(1, keepdim=True).clamp(min=1.0)
        return model.head(pooled)

    return forward


def stacked_run(cfgs: list, warmup: int, on_step=None) -> PlainRun:
    """The seeds of `cfgs` trained as one: their models' parameters stacked, one vmapped forward
    and backward, one AdamW over the stacked tensors (Adam is elementwise, so each seed's slice
    steps as it would alone), each seed on its own training set and its own batch order."""
    pieces = [plain_pieces(cfg) for cfg in cfgs]
    tasks, modules = [p[0] for p in pieces], [p[1] for p in pieces]
    require(all(p[3] is None for p in pieces),
            "stacked seeds: module.warmup_steps > 0 (a scheduler); allowed: module.warmup_steps=0 (the preset's)")
    params, buffers = stack_module_state([m.model for m in modules])
    skeleton = copy.deepcopy(modules[0].model).to("meta")
    loss_fn, kind = modules[0].loss_fn, tasks[0].kind

    def seed_loss(p, b, inputs, targets):
        return loss_fn(functional_call(skeleton, (p, b), (inputs,)), targets, kind)

    losses_of = vmap(seed_loss)
    optimizer = modules[0].optimizer_factory(list(params.values()))
    inputs = tuple(torch.stack(parts) for parts in zip(*(t.splits.train_inputs for t in tasks)))
    targets = torch.stack([t.splits.train_targets for t in tasks])
    seed_rows = torch.arange(len(cfgs)).unsqueeze(1)
    # each seed's batch order, as its task's train_dataloader() draws it, as example indices
    orders = [ShuffledBatches(torch.arange(t.num_train), torch.arange(t.num_train), t.batch_size,
                              steps=t.train_steps, seed=t.shuffle_seed) for t in tasks]
    clock = LoopClock(warmup, on_step)
    for step, batches in enumerate(zip(*orders), start=1):
        index = torch.stack([b[1] for b in batches])
        losses = losses_of(params, buffers, tuple(part[seed_rows, index] for part in inputs),
                           targets[seed_rows, index])
        optimizer.zero_grad()
        losses.sum().backward()  # seeds share no parameter: each gets its own loss's gradient
        optimizer.step()
        clock.tick(step, losses)
    return clock.result()


@dataclass
class Cut:
    name: str
    run: Callable  # (steps, warmup, on_step) -> PlainRun
    seeds: int = 1


def cuts(overrides: list[str], stack: int) -> list[Cut]:
    def plain(extra=(), wrap=None):
        return lambda steps, warmup, on_step=None: plain_run(timing_config([*overrides, *extra], steps),
                                                             warmup, wrap, on_step)

    def stacked(steps, warmup, on_step=None):
        seed = int(timing_config(overrides, 1).seed)
        return stacked_run([timing_config([*overrides, f"seed={seed + k}"], steps) for k in range(stack)],
                           warmup, on_step)

    return [Cut("torch.compile(model)", plain(wrap=torch.compile)),
            Cut("fused message passing", plain(wrap=fused_forward)),
            Cut("AdamW fused=True", plain(extra=["+optim.fused=true"])),
            Cut(f"{stack} seeds stacked (vmap)", stacked, seeds=stack)]


def losses(run: Callable, steps: int) -> tuple[torch.Tensor, PlainRun]:
    """Each step's loss (a row per step; one column per seed) and the run's timing."""
    seen = []
    result = run(steps, 1, lambda step, loss: seen.append(loss.detach().clone()))
    return torch.stack(seen).reshape(steps, -1), result


class Eager:
    """The plain eager loop's losses per seed for the check (each run once, then reused)."""

    def __init__(self, overrides: list[str], steps: int):
        self.overrides, self.steps, self.runs = overrides, steps, {}
        self.seed = int(timing_config(overrides, 1).seed)

    def losses(self, k: int) -> tuple[torch.Tensor, PlainRun]:
        """Seed seed + k's losses and timing."""
        if k not in self.runs:
            cfg = timing_config([*self.overrides, f"seed={self.seed + k}"], self.steps)
            self.runs[k] = losses(lambda n, w, s: plain_run(cfg, w, None, s), self.steps)
        return self.runs[k]

    def check(self, cut: Cut) -> dict:
        """The cut's losses against eager's, seed by seed."""
        got, result = losses(cut.run, self.steps)
        eager = torch.cat([self.losses(k)[0] for k in range(cut.seeds)], 1)
        difference = ((got - eager).abs() / eager.abs()).max().item()
        return {"max_relative_loss_difference": difference, "agrees": difference <= LOSS_RTOL,
                "first_step_seconds": result.first_step_seconds}


def top_ops(overrides: list[str], warmup: int, steps: int, count: int = 10) -> tuple[list[dict], float]:
    """The plain eager loop's ops by self CPU time per step, over `steps` profiled steps after
    `warmup`, and the profiled step's total self CPU time (ms)."""
    with profile(activities=[ProfilerActivity.CPU], schedule=schedule(wait=warmup, warmup=1, active=steps)) as prof:
        plain_run(timing_config(overrides, warmup + 1 + steps), warmup, on_step=lambda step, loss: prof.step())
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in events) / steps
    rows = [{"op": e.key, "calls_per_step": e.count / steps, "self_cpu_us_per_step": e.self_cpu_time_total / steps,
             "share": e.self_cpu_time_total / steps / total} for e in events[:count]]
    return rows, total / 1e3


def measure(args) -> dict:
    overrides = [EXPERIMENT, *args.overrides]
    # torch.compile's one-time cost as a fresh machine pays it, not a hit in an earlier run's
    # on-disk cache (within this process, the rounds' new models reuse the first compilation);
    # a smoke run times nothing, so it may hit the cache (the test's reruns take seconds, not minutes)
    torch._inductor.config.force_disable_caches = not args.smoke
    warnings.filterwarnings("ignore", message="dynamo_pgo force disabled", category=UserWarning)  # asked for here
    eager, checks, timed = Eager(overrides, args.check_steps), {}, []
    for cut in cuts(overrides, args.stack):
        checks[cut.name] = eager.check(cut)
        if checks[cut.name]["agrees"]:
            timed.append(cut)
    eager_first = eager.losses(0)[1].first_step_seconds
    ops, profiled_ms = top_ops(overrides, args.warmup, args.profile_steps)
    seconds = {"plain PyTorch loop (eager)": [], "grokbench (Trainer + GrokModule)": [],
               **{cut.name: [] for cut in timed}}
    cfg = timing_config(overrides, args.warmup + args.steps)
    for _ in range(args.rounds):  # interleaved, so a load spike hits every candidate alike
        seconds["plain PyTorch loop (eager)"].append(plain_run(cfg, args.warmup).seconds_per_step)
        seconds["grokbench (Trainer + GrokModule)"].append(grokbench_step_seconds(cfg, args.warmup))
        for cut in timed:
            seconds[cut.name].append(cut.run(args.warmup + args.steps, args.warmup).seconds_per_step / cut.seeds)
    plain = seconds["plain PyTorch loop (eager)"]
    rows = {}
    for name, values in seconds.items():
        rows[name] = {"steps_per_second": 1 / statistics.median(values), "ms_per_step": 1e3 * statistics.median(values),
                      "speedup": statistics.median(p / v for p, v in zip(plain, values)),
                      "per_round_ms": [1e3 * v for v in values], **checks.get(name, {})}
    for name, result in checks.items():
        rows.setdefault(name, result)  # a cut that disagrees: its check only, no timing
    return {"experiment": overrides, "threads": torch.get_num_threads(), "torch": torch.__version__,
            "steps": args.steps, "warmup": args.warmup, "rounds": args.rounds, "check_steps": args.check_steps,
            "loss_rtol": LOSS_RTOL, "eager_first_step_seconds": eager_first,
            "cold_compile": torch._inductor.config.force_disable_caches, "candidates": rows,
            "profile": {"steps": args.profile_steps, "self_cpu_ms_per_step": profiled_ms, "top_ops": ops}}


def report(result: dict) -> None:
    print(f"QM9 step ({' '.join(result['experiment'])}): {result['steps']} timed steps after {result['warmup']} "
          f"warm-up, median of {result['rounds']} rounds, torch threads {result['threads']}")
    profile_ = result["profile"]
    print(f"\nplain eager step, top ops by self CPU time ({profile_['steps']} profiled steps; "
          f"{profile_['self_cpu_ms_per_step']:.2f} ms self CPU per profiled step)")
    print(f"{'op':<44} {'calls/step':>10} {'self us/step':>13} {'share':>7}")
    for op in profile_["top_ops"]:
        print(f"{op['op'][:44]:<44} {op['calls_per_step']:>10.1f} {op['self_cpu_us_per_step']:>13.1f} "
              f"{100 * op['share']:>6.1f}%")
    print(f"\n{'candidate':<34} {'steps/s':>9} {'ms/step':>8} {'x plain':>8} {'loss check':>18}   note")
    for name, row in result["candidates"].items():
        agrees = "" if "agrees" not in row else \
            f"{'ok' if row['agrees'] else 'DISAGREES'} {row['max_relative_loss_difference']:.1e}"
        note = "per seed" if "stacked" in name else ""
        if name.startswith("torch.compile"):
            cache = "cold" if result["cold_compile"] else "inductor's cache allowed"
            note = (f"first step {row['first_step_seconds']:.1f} s (compile, {cache}; eager's "
                    f"{result['eager_first_step_seconds']:.3f} s)")
        if "steps_per_second" not in row:
            print(f"{name:<34} {'-':>9} {'-':>8} {'-':>8} {agrees:>18}   not timed")
            continue
        print(f"{name:<34} {row['steps_per_second']:>9.1f} {row['ms_per_step']:>8.2f} {row['speedup']:>8.2f} "
              f"{agrees:>18}   {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=400, help="timed steps per candidate and round")
    parser.add_argument("--warmup", type=int, default=50, help="untimed steps first (compiled graphs settle)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--check-steps", type=int, default=10, help="steps whose losses each cut must match")
    parser.add_argument("--profile-steps", type=int, default=50)
    parser.add_argument("--stack", type=int, default=10, help="seeds stacked in one process (the suite's 10)")
    parser.add_argument("--smoke", action="store_true", help="; ".join(f"{k}={v}" for k, v in SMOKE.items()))
    parser.add_argument("--out", help="JSON file for the results")
    parser.add_argument("overrides", nargs="*", help=f"Hydra overrides after {EXPERIMENT}, e.g. task.source=FILE")
    args = parser.parse_args()
    if args.smoke:
        vars(args).update(SMOKE)
    for name, least in (("steps", 1), ("warmup", 1), ("rounds", 1), ("check_steps", 2), ("profile_steps", 1),
                        ("stack", 1)):
        value = getattr(args, name)
        if value < least:
            sys.exit(f"error: --{name.replace('_', '-')}={value} is invalid; allowed: an integer >= {least}")
    torch.set_num_threads(args.threads)
    quiet_lightning()
    try:
        with known_warnings():  # Lightning's, which say nothing about the timing
            result = measure(args)
    except GrokbenchError as error:
        sys.exit(f"error: {error}")
    report(result)
    if args.out:
        with open(args.out, "w") as file:
            json.dump(result, file, indent=2)


if __name__ == "__main__":
    main()
