"""A command line checked before Hydra sees it (`grokbench run` and `run_experiment` both):
bad syntax, an unknown option or key, an output directory that cannot be made get one line."""

from __future__ import annotations

from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser

from grokbench.config import check_composes, check_syntax, options, override_key, sweep_variants, swept_values
from grokbench.errors import GrokbenchError

CHECKED_GROUPS = ("task", "model", "optim", "method", "experiment", "logger", "launcher", "measures")


def check_choices(overrides: list[str]) -> None:
    """Unknown group options fail here in one line, before Hydra's multi-line message; a sweep
    (a,b / choice / glob) is checked option by option."""
    parser = OverridesParser.create()
    for override in overrides:
        key = override_key(override)
        if key not in CHECKED_GROUPS or override.startswith("~") or "=" not in override:
            continue
        parsed = parser.parse_override(override)
        choices = swept_values(parsed)
        if choices is None and (parsed.is_sweep_override() or parsed.value() in ("", None)):
            continue  # a continuous sweep (another sweeper's), or no option (null)
        allowed = options(key)
        if choices == []:
            raise GrokbenchError(f"{override} matches no {key}; available: {', '.join(allowed)}")
        value = parsed.value()
        listed = [str(v) for v in value] if isinstance(value, list) else [str(value)]  # +measures=[a,b]
        for choice in choices if choices is not None else listed:
            if choice not in allowed:
                raise GrokbenchError(f"unknown {key} {choice!r}; available: {', '.join(allowed)}")


def preflight(overrides: list[str], multirun: bool) -> None:
    """One line for what Hydra would report in several: bad syntax, an unknown option or key, an
    output directory that cannot be made."""
    check_syntax(overrides)
    check_choices(overrides)
    for variant in sweep_variants(overrides) if multirun else [overrides]:
        check_composes(variant)
    check_output_dir(overrides, multirun)


def check_output_dir(overrides: list[str], multirun: bool) -> None:
    """The directory Hydra will create first (hydra.run.dir, or hydra.sweep.dir for -m), made
    here: where it is given as a plain path, or the working directory (the default runs/...)."""
    from grokbench.rundir import make_output_dir, require_free

    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    given = [o.split("=", 1)[1] for o in overrides if override_key(o) == key and "=" in o]
    value = given[-1] if given else "."
    if "${" not in value:
        make_output_dir(Path(value), key)
        if given and not multirun:  # Hydra would overwrite a running run's .hydra/ before it locks
            require_free(Path(value))
