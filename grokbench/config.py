"""Composing the suite's Hydra config (the CLI, tests, benchmarks, notebooks) and checking a
command line before Hydra sees it, so bad input gets one line instead of Hydra's report."""

from __future__ import annotations

import inspect
from importlib import resources
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Glob, Override
from hydra.errors import HydraException
from hydra.utils import get_class
from omegaconf import DictConfig, open_dict
from omegaconf.errors import OmegaConfBaseException

from grokbench.errors import GrokbenchError


def installed_conf_dir() -> Path:
    """The configs as installed: grokbench/conf inside a wheel, the checkout's conf/ in an editable
    install (pyproject.toml maps the package grokbench.conf to conf/). Found through the import
    system, never relative to a checkout, so `grokbench run` works from any directory."""
    try:
        return Path(str(resources.files("grokbench.conf")))
    except ModuleNotFoundError:
        raise GrokbenchError("the configs (package grokbench.conf) are not installed; allowed: "
                             "pip install -e . in the repository, or pip install grokbench") from None


CONF_DIR = installed_conf_dir()


def override_key(override: str) -> str:
    """`++task.source=x` -> "task.source"; `~experiment` -> "experiment"."""
    return override.lstrip("+~").split("=", 1)[0].strip()


def recipe_rule(overrides: list[str]) -> list[str]:
    """The default recipe (`experiment: default` in conf/config.yaml) applies only when the command
    line chooses neither a task nor an experiment: `task=mnist` alone runs MNIST with its own
    defaults, not the default recipe's modular settings. Hydra 1.3 cannot make a default
    conditional, so this adds `~experiment` (and spells `experiment=null` that way)."""
    overrides = ["~experiment" if o.strip() in ("experiment=null", "experiment=none") else o
                 for o in overrides]
    keys = {override_key(o) for o in overrides}
    if "task" in keys and "experiment" not in keys:
        overrides.append("~experiment")
    return overrides


def compose_config(overrides: list[str], run_dir: str | Path | None = None) -> DictConfig:
    """The config `grokbench run OVERRIDES` would use, with run_dir set and no progress bar."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=recipe_rule(overrides))
    with open_dict(cfg):
        cfg.run_dir = str(run_dir) if run_dir else "unused"
        cfg.progress_bar = False
    return cfg


def task_keys(target: str) -> list[str]:
    """The keys a task class takes from `task:` (its constructor's arguments, through the
    `**kwargs` it passes on to its base classes), in the order they are declared."""
    keys: list[str] = []
    for cls in get_class(target).__mro__:
        if "__init__" not in vars(cls):
            continue
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        keys += [p.name for p in parameters if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
                 and p.name not in keys and p.name != "eval_batch_size"]  # eval_batch_size: eval.batch_size
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            break
    return keys


def check_task_keys(task: DictConfig) -> None:
    """A `task.*` key the chosen task does not take (e.g. a modular recipe's `op` on MNIST)."""
    keys, name = task_keys(task._target_), get_class(task._target_).name
    unknown = [k for k in task if k != "_target_" and k not in keys]
    if unknown:
        listed = ", ".join(f"task.{k}" for k in unknown)
        verb = "is not a key" if len(unknown) == 1 else "are not keys"
        raise GrokbenchError(f"{listed} {verb} of task {name}; its keys: {', '.join(keys)}")


def check_syntax(overrides: list[str]) -> None:
    """Hydra's override grammar: `task.op=x^y` needs quotes (Hydra reads ^, [, {, $ ... itself)."""
    parser = OverridesParser.create()
    for override in overrides:
        try:
            parser.parse_overrides([override])
        except HydraException:
            key, sep, value = override.partition("=")
            hint = f"quote the value: \"{key}='{value}'\" (the inner single quotes reach Hydra)" if sep \
                else "write key=value, +key=value to add a key or ~key to remove one"
            raise GrokbenchError(f"cannot parse {override!r}; {hint}") from None


def options(group: str) -> list[str]:
    """The options of a config group: its files in conf/<group>/."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def swept_values(override: Override) -> list[str] | None:
    """The values of a discrete sweep (a,b / choice(...) / range(...) / glob(...), a glob over
    the options of the config group it sweeps); None for one value or a continuous sweep."""
    if not override.is_discrete_sweep():
        return None
    value = override.value()
    if isinstance(value, Glob):
        return value.filter(options(override.key_or_group))
    return list(override.sweep_string_iterator())


RECIPE_PARTS = ("task", "model")  # the groups whose keys differ from recipe to recipe


def sweep_recipe_keys(overrides: list[str]) -> list[str]:
    """The overrides of a `-m` sweep over recipes or tasks, Hydra-ready. Hydra composes a sweep's
    own config once, before expanding it, without the swept options (so with the default recipe):
    a key of the swept recipes' task or model that the default lacks (task.source for MNIST)
    fails there. `++key=value` sets a key where it exists and adds it where it does not; every
    run's config is still checked (preflight composes each recipe, build_task the task's keys)."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    if not any(o.key_or_group in ("experiment", *RECIPE_PARTS) and o.is_sweep_override() for o in parsed):
        return overrides
    return [f"++{o}" if o[0] not in "+~" and "." in override_key(o) and override_key(o).split(".")[0] in RECIPE_PARTS
            else o for o in overrides]


def sweep_variants(overrides: list[str]) -> list[list[str]]:
    """The override lists to check a `-m` sweep with: the first value of every swept key, then
    each other value of one key at a time (not the whole product: a 5-seed x 10-recipe sweep
    composes 14 configs, not 50)."""
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
        axes = [[f"{o.get_key_element()}={v}" for v in swept_values(o) or []] or [o.input_line] for o in parsed]
    except Exception:  # noqa: BLE001 - a sweep kind this cannot expand (interval): Hydra checks it
        return []
    first = [values[0] for values in axes]
    variants = [first]
    for i, values in enumerate(axes):
        variants += [first[:i] + [value] + first[i + 1:] for value in values[1:]]
    return variants


def check_composes(overrides: list[str]) -> None:
    """Compose the config once, so a key that does not exist gets one line naming the keys
    that do (Hydra's own message spans several lines)."""
    try:
        compose_config(overrides)
    except (HydraException, OmegaConfBaseException) as error:
        raise GrokbenchError(composition_message(error, overrides)) from None


def composition_message(error: Exception, overrides: list[str]) -> str:
    full_key = getattr(error, "full_key", None) or getattr(error.__cause__, "full_key", None)
    if full_key is None and "Could not override '" in str(error):
        full_key = str(error).split("Could not override '", 1)[1].split("'", 1)[0]
    if full_key and full_key.startswith("task."):
        rest = [o for o in overrides if override_key(o) != full_key]
        try:
            target = compose_config(rest).task._target_
            return (f"{full_key} is not a key of task {get_class(target).name}; its keys: "
                    f"{', '.join(task_keys(target))}")
        except (HydraException, OmegaConfBaseException, ImportError):
            pass
    if full_key:
        return f"{full_key} is not a config key (grokbench run --help lists them); add a new one with +{full_key}=..."
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
