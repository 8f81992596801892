"""MNIST digits (Hub `ylecun/mnist` or a local Parquet copy): the Omnigrok image task."""

from __future__ import annotations

from tasks.base import Detection
from tasks.images import ImageTask


class MNIST(ImageTask):
    """A stratified subsample of MNIST as (N, 1, 28, 28) floats; `unit` scales pixels to [0, 1]."""

    name = "mnist"
    version = "1"
    hub_id = "ylecun/mnist"
    image_column = "image"
    # Decided from the literature before any run: an MLP trained on 1,000 MNIST digits tops
    # out near 0.9 test accuracy (Omnigrok, Liu et al. 2022, Fig. 1/6: ~0.9 after grokking),
    # so the held-out threshold must sit below that ceiling: 0.85 leaves room for the noise
    # of a 1,000-digit test set (±1 point) over the 3 sustained evaluations. Train accuracy
    # reaches 1.0 on 1,000 points, so memorization is the usual 0.99.
    detection = Detection(metric="acc", memorize_threshold=0.99, generalize_threshold=0.85)
