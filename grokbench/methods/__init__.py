"""Methods that claim to speed up or enable grokking, and the baselines they are read against.

One contract (`base.Method`: the loss, gradient callbacks, the optimizer) and one file per method
family: `grokfast` (EMA and MA filters, the learning-rate-matched baseline), `orthograd`,
`weight_norm`, `stablemax` (losses registered in `grokbench.losses`), `muon`. Each method's config
is `conf/method/<name>.yaml` with its per-domain settings and their sources; `catalog` finds them
(the methods suite, `grokbench ls`), `tuning` picks the knobs no paper gives for a domain.
"""
