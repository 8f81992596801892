"""Methods that claim to speed up or enable grokking, each implemented once for every task.

Gradient filters and constraints are Lightning callbacks (`grokfast`, `orthograd`,
`weight_norm`); StableMax is a loss (`stablemax`, registered in `grokbench.losses`). Their
configs live in `conf/method/`.
"""
