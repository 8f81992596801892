"""The house's catalog: the domains, the methods and the progress measures there are, each read
from its own files, so adding one edits nothing else.

- A domain is a task config `conf/task/<name>.yaml` and its task class: the config names the
  class (`task._target_`) and the default model (`override /model`); the class declares its
  kind, how prose names it (`title`) and its place on the board (`board_order`). Its metrics
  follow from its kind (grokbench/kinds.py).
- A method is `conf/method/<name>.yaml` (grokbench/methods/catalog.py): the kinds of task it
  applies to, the per-domain values a paper gives, and what any other domain gets.
- A progress measure is `conf/measures/<name>.yaml` (grokbench/measures/catalog.py).

The board, the tests, `grokbench ls` and the suites read these, never a list of names.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from hydra.utils import get_class
from omegaconf import OmegaConf

from grokbench.config import CONF_DIR
from grokbench.errors import require
from grokbench.kinds import DEFAULT_EVAL_SPLITS, MetricDeclaration, declare_run

MODEL_OVERRIDE = "override /model"


@dataclass(frozen=True)
class Domain:
    """One domain: a run's domain is its task's name."""

    name: str
    task_class: str     # the task config's `_target_`
    default_model: str  # the model option the task config picks
    kind: str           # classification | regression
    title: str          # how prose names it (S5, QM9)
    board_order: int    # the board lists domains by this, then by name

    def metrics(self, splits: tuple[str, ...] = DEFAULT_EVAL_SPLITS) -> dict[str, MetricDeclaration]:
        """The keys a run of this domain logs for these evaluation sets, declared."""
        return declare_run(self.kind, splits)


def default_model(defaults: list) -> str:
    picked = [entry[MODEL_OVERRIDE] for entry in defaults if isinstance(entry, dict) and MODEL_OVERRIDE in entry]
    return str(picked[0]) if picked else "?"


@functools.cache
def domains() -> tuple[Domain, ...]:
    """Every domain, in board order."""
    found = []
    for path in sorted((CONF_DIR / "task").glob("*.yaml")):
        loaded = OmegaConf.to_container(OmegaConf.load(path))
        target = str(loaded["task"]["_target_"])
        cls = get_class(target)
        require(cls.name == path.stem, f"conf/task/{path.name} builds task {cls.name!r}; allowed: a task named "
                                       f"{path.stem!r} (a run's domain is its task's name)")
        found.append(Domain(cls.name, target, default_model(loaded.get("defaults") or []), cls.kind,
                            cls.title, cls.board_order))
    return tuple(sorted(found, key=lambda d: (d.board_order, d.name)))


def domain_names() -> list[str]:
    return [d.name for d in domains()]


def domain(name: str) -> Domain:
    """A domain by name; one line naming the known ones otherwise."""
    found = {d.name: d for d in domains()}
    require(name in found, f"domain {name!r} is unknown; allowed: {', '.join(found)}")
    return found[name]


def board_rank(name: str) -> int:
    """A domain's place on the board; a domain no task declares (an old record's) comes last."""
    names = domain_names()
    return names.index(name) if name in names else len(names)
