"""Image classification sets (MNIST, CIFAR-10), read by the one data loader (tasks/source.py).

Data come from the Hub id, or from a local directory of Parquet files in the Hub schema
(`task.source=<dir>`). A stratified, seeded subsample (tasks/source.py's rule: the class
proportions of each split; training seed split_seed, held-out seed split_seed + 1) is decoded
once into uint8 tensors and cached on disk (tasks/cache.py); each run then only normalizes them.

Pixels are floats in [0, 1]; the model sees them normalized, `(pixel - mean) / std` per
channel (`PixelNormalization`; mean 0, std 1 for `normalize: unit`). An attack that must stay
in the valid image range works on pixels and normalizes after perturbing
(grokbench/callbacks/adversarial.py gets the task's normalization from `pixel_normalization()`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from grokbench.errors import require
from grokbench.tasks.base import GrokTask, Splits
from grokbench.tasks.cache import cached
from grokbench.tasks.source import DataSource, draw_per_class

DECODE_VERSION = 1  # bump when the decoded tensors change for the same inputs
NORMALIZATIONS = ("unit", "standard")


def decode(frame: pd.DataFrame, image_column: str, indices: np.ndarray) -> dict[str, torch.Tensor]:
    """uint8 images (N, C, H, W) and int64 labels of the chosen rows, decoded by `datasets`'
    Image feature (as a Hub load decodes them)."""
    import datasets  # imported here: a cached run does not need it

    feature = datasets.Image()
    rows = frame.iloc[indices]
    array = np.stack([np.asarray(feature.decode_example(value)) for value in rows[image_column]])
    if array.ndim == 3:  # grayscale: add the channel axis
        array = array[:, None]
    else:
        array = array.transpose(0, 3, 1, 2)
    return {"images": torch.from_numpy(np.ascontiguousarray(array)),
            "labels": torch.tensor(rows["label"].tolist(), dtype=torch.long)}


def load_subsample(source: DataSource, n_train: int | None, n_test: int | None,
                   split_seed: int) -> dict[str, Any]:
    """Decoded train/test subsample, from the on-disk cache when it is there."""
    image_column = source.columns[0]

    def build() -> dict[str, Any]:
        out = {}
        for split, n, seed, what in (("train", n_train, split_seed, "n_train"),
                                     ("test", n_test, split_seed + 1, "n_test")):
            frame = source.read(split)
            chosen = draw_per_class(frame["label"].to_numpy(), n, seed, "proportional", what)
            out[split] = decode(frame, image_column, chosen)
        return out

    key = {"source": source.identity(), "columns": source.columns, "n_train": n_train, "n_test": n_test,
           "split_seed": split_seed, "version": DECODE_VERSION}
    return cached("images", key, build)


class PixelNormalization(nn.Module):
    """Pixels in [0, 1] -> the model's inputs, `(pixel - mean) / std` per channel; `invert`
    maps inputs back to pixels."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean.reshape(1, -1, 1, 1).float())
        self.register_buffer("std", std.reshape(1, -1, 1, 1).float())

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return (pixels - self.mean) / self.std

    def invert(self, inputs: torch.Tensor) -> torch.Tensor:
        """Pixels again; the clamp only removes float rounding (the pixels were in [0, 1])."""
        return (inputs * self.std + self.mean).clamp(0.0, 1.0)


def channel_statistic(name: str, value, channels: int) -> torch.Tensor | None:
    """A given per-channel mean or std as a tensor (None: computed from the training set)."""
    if value is None:
        return None
    values = [float(v) for v in value]
    require(len(values) == channels, f"task.{name}={values} has {len(values)} values; allowed: one "
                                     f"per image channel ({channels}) or null (training-set statistics)")
    require(name != "std" or min(values) > 0, f"task.std={values} is invalid; allowed: positive values")
    return torch.tensor(values)


class ImageTask(GrokTask):
    """A subsample of an image classification set as float tensors (N, C, H, W)."""

    hub_id: str
    image_column: str
    classes: int = 10
    train_size_key = "n_train"

    def __init__(self, source: str | None = None, n_train: int | None = 1000,
                 n_test: int | None = None, normalize: str = "unit", mean: list[float] | None = None,
                 std: list[float] | None = None, **kwargs):
        super().__init__(**kwargs)
        require(normalize in NORMALIZATIONS,
                f"task.normalize={normalize!r} is invalid; allowed: {', '.join(NORMALIZATIONS)}")
        for name, n in (("n_train", n_train), ("n_test", n_test)):
            require(n is None or int(n) >= 1, f"task.{name}={n} is invalid; allowed: a positive integer or null")
        self.source = None if source is None else str(source)
        self.n_train = None if n_train is None else int(n_train)
        self.n_test = None if n_test is None else int(n_test)
        require(normalize == "standard" or (mean is None and std is None),
                f"task.mean/task.std are used only with task.normalize=standard (got normalize={normalize!r})")
        self.normalize = normalize
        self.given_mean = None if mean is None else list(mean)
        self.given_std = None if std is None else list(std)
        self.normalization: PixelNormalization | None = None  # known after setup()
        self.image_shape: tuple[int, ...] = ()

    def build_splits(self) -> Splits:
        source = DataSource(self.source, self.hub_id, (self.image_column, "label"),
                            example=f"data/{self.name}")
        data = load_subsample(source, self.n_train, self.n_test, self.split_seed)
        train = data["train"]["images"].float() / 255.0
        test = data["test"]["images"].float() / 255.0
        channels = train.shape[1]
        mean, std = torch.zeros(channels), torch.ones(channels)
        if self.normalize == "standard":  # given statistics, or those of the training subsample
            mean = channel_statistic("mean", self.given_mean, channels)
            std = channel_statistic("std", self.given_std, channels)
            mean = train.mean(dim=(0, 2, 3)) if mean is None else mean
            std = train.std(dim=(0, 2, 3)).clamp_min(1e-6) if std is None else std
        self.normalization = PixelNormalization(mean, std)
        if self.normalize == "standard":
            train, test = self.normalization(train), self.normalization(test)
        self.image_shape = tuple(train.shape[1:])
        return Splits(train, data["train"]["labels"], test, data["test"]["labels"])

    def pixel_normalization(self) -> PixelNormalization:
        """Pixels in [0, 1] -> this task's model inputs (and back with `invert`)."""
        if self.normalization is None:
            raise RuntimeError(f"task {self.name}: pixel_normalization() is known after setup()")
        return self.normalization

    @property
    def num_outputs(self) -> int:
        return self.classes

    def extra_dims(self) -> dict[str, Any]:
        channels, height, width = self.image_shape
        return {"in_channels": channels, "image_size": height, "input_size": channels * height * width}

    def params(self) -> dict[str, Any]:
        return {**super().params(), "source": self.source or self.hub_id, "n_train": self.n_train,
                "n_test": self.n_test, "normalize": self.normalize, "mean": self.given_mean,
                "std": self.given_std}
