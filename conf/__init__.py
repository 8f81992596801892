"""The Hydra configs. This file makes conf/ the package grokbench.conf (pyproject.toml maps it), so
the YAML files install with grokbench as package data and are found through the import system."""
