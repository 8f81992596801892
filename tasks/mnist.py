"""MNIST digits (Hub `ylecun/mnist` or a local Parquet copy): the Omnigrok image task."""

from __future__ import annotations

from grokbench.tasks.base import Detection
from grokbench.tasks.images import ImageTask


class MNIST(ImageTask):
    """A stratified subsample of MNIST as (N, 1, 28, 28) floats; `unit` scales pixels to [0, 1]."""

    name = "mnist"
    title, board_order = "MNIST", 30
    version = "1"
    hub_id = "ylecun/mnist"
    image_column = "image"
    detection = Detection(metric="acc")
