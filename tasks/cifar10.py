"""CIFAR-10 (Hub `uoft-cs/cifar10` or a local Parquet copy): the "Deep networks always grok" task."""

from __future__ import annotations

from grokbench.tasks.base import Detection
from grokbench.tasks.images import ImageTask


class CIFAR10(ImageTask):
    """A stratified subsample of CIFAR-10 as (N, 3, 32, 32) floats."""

    name = "cifar10"
    title, board_order = "CIFAR-10", 40
    version = "1"
    hub_id = "uoft-cs/cifar10"
    image_column = "img"
    detection = Detection(metric="acc")
