"""Progress measures: numbers about a network, computed at evaluation points, that may move while
the held-out metric is still flat (Nanda et al. 2023's hidden progress).

A measure is one module here and one config `conf/measures/<m>.yaml` (its declaration and knobs);
nothing else lists it. The contract is in `base.py`; `catalog.py` reads the configs for
`grokbench ls` and builds a run's measures; `grokbench.callbacks.measures` computes them.
"""
