"""grokbench: does this network grok here, and how fast?

The Python API (grokbench/api.py): `run_experiment(overrides) -> record` and
`load_records(path) -> pandas.DataFrame`.
"""

__version__ = "0.1.0"
__all__ = ["load_records", "run_experiment"]


def __getattr__(name: str):
    # `import grokbench` stays cheap (the CLI starts with it): torch, Lightning and pandas are
    # imported when the API is first used.
    if name in __all__:
        from grokbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'grokbench' has no attribute {name!r}")
