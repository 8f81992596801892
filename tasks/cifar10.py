"""CIFAR-10 (Hub `uoft-cs/cifar10` or a local Parquet copy): the "Deep networks always grok" task."""

from __future__ import annotations

from tasks.base import Detection
from tasks.images import ImageTask


class CIFAR10(ImageTask):
    """A stratified subsample of CIFAR-10 as (N, 3, 32, 32) floats."""

    name = "cifar10"
    version = "1"
    hub_id = "uoft-cs/cifar10"
    image_column = "img"
    # Decided from the literature before any run: small CNNs trained on 1-2k CIFAR-10 images
    # without augmentation reach only ~0.35-0.45 test accuracy (data-efficiency baselines,
    # e.g. Arora et al. 2020 "Harnessing the power of infinitely wide deep nets on small-data
    # tasks": ~0.40 at 1,280 images), far from 0.99. An absolute held-out threshold of 0.30
    # (3x chance) sits below that ceiling; train accuracy reaches 1.0 on such subsets.
    # Adversarial accuracy (val/adv_acc) has no known ceiling, so recipes that watch it use
    # relative thresholds instead (see conf/experiment/*cifar10*.yaml).
    detection = Detection(metric="acc", memorize_threshold=0.99, generalize_threshold=0.30)
