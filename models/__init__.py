"""The network zoo: plain `nn.Module`s, no Lightning imports.

Each `forward` takes a task's inputs and returns `(batch, outputs)`.
"""
