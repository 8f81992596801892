"""Image tasks (MNIST, CIFAR-10), image models and PGD, on small generated Parquet files."""

from __future__ import annotations

import copy

import datasets
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

from grokbench.callbacks.adversarial import AdversarialEvaluation, pgd_attack
from grokbench.errors import GrokbenchError
from grokbench.models.cnn import CNN
from grokbench.models.resnet import PreActResNet18
from grokbench.profile import VERDICTS
from grokbench.run import build_model, build_module, build_task, train
from grokbench.tasks.cifar10 import CIFAR10
from grokbench.tasks.images import PixelNormalization
from grokbench.tasks.mnist import MNIST


@pytest.fixture(autouse=True)
def private_cache_one_thread(tmp_path, monkeypatch):
    """A private decode cache; one torch thread (two spin-wait badly on a shared 2-core CPU)."""
    monkeypatch.setenv("GROKBENCH_CACHE", str(tmp_path / "cache"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def write_split(path, column: str, per_class: int, mode: str, size: int) -> None:
    """A Hub-schema Parquet file; every pixel of an image of class c is 20 * c + 5."""
    labels = [c for c in range(10) for _ in range(per_class)]
    images = [Image.new(mode, (size, size), color=(20 * c + 5 if mode == "L" else (20 * c + 5,) * 3))
              for c in labels]
    features = datasets.Features({column: datasets.Image(),
                                  "label": datasets.ClassLabel(names=[str(c) for c in range(10)])})
    datasets.Dataset.from_dict({column: images, "label": labels}, features=features).to_parquet(str(path))


def write_set(root, column: str, mode: str, size: int):
    root.mkdir()
    write_split(root / "train.parquet", column, per_class=6, mode=mode, size=size)
    write_split(root / "test.parquet", column, per_class=2, mode=mode, size=size)
    return root


@pytest.fixture
def mnist_dir(tmp_path):
    return write_set(tmp_path / "mnist", "image", mode="L", size=28)


@pytest.fixture
def cifar_dir(tmp_path):
    return write_set(tmp_path / "cifar10", "img", mode="RGB", size=32)


def test_mnist_loads_stratified_subsample_with_matching_labels(mnist_dir):
    task = MNIST(source=str(mnist_dir), n_train=30, n_test=None)
    task.setup()
    s = task.splits
    assert s.train_inputs.shape == (30, 1, 28, 28) and s.val_inputs.shape == (20, 1, 28, 28)
    assert s.train_targets.bincount(minlength=10).tolist() == [3] * 10  # stratified
    pixels = (s.train_inputs * 255).round()
    expected = (20 * s.train_targets + 5).float()[:, None, None, None].expand_as(pixels)
    assert torch.equal(pixels, expected)  # every image decoded next to its own label
    assert task.dims == {"num_outputs": 10, "in_channels": 1, "image_size": 28, "input_size": 784}


def test_subsample_is_deterministic_and_depends_on_split_seed(mnist_dir, tmp_path, monkeypatch):
    def train_labels(seed, cache):
        monkeypatch.setenv("GROKBENCH_CACHE", str(tmp_path / cache))
        task = MNIST(source=str(mnist_dir), n_train=20, split_seed=seed)
        task.setup()
        return task.splits.train_targets

    first = train_labels(0, "a")
    assert torch.equal(first, train_labels(0, "b"))  # rebuilt from scratch: same order
    assert torch.equal(first, train_labels(0, "a"))  # from the cache
    assert list((tmp_path / "a" / "images").glob("*.pt"))
    assert not torch.equal(first, train_labels(1, "a"))


def test_cifar_standard_normalization_and_rgb(cifar_dir):
    task = CIFAR10(source=str(cifar_dir), n_train=20, n_test=10, normalize="standard")
    task.setup()
    x = task.splits.train_inputs
    assert x.shape == (20, 3, 32, 32)
    assert abs(x.mean().item()) < 1e-4 and abs(x.std().item() - 1) < 0.05
    assert task.dims["in_channels"] == 3


def test_missing_source_says_how_to_pass_it(tmp_path):
    with pytest.raises(GrokbenchError, match=r"task.source=.*not a directory"):
        MNIST(source=str(tmp_path / "nowhere")).setup()


def test_offline_hub_says_how_to_pass_source(monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(GrokbenchError, match=r"ylecun/mnist.*task.source=<dir"):
        MNIST(source=None).setup()


def test_wrong_schema_names_file_and_column(mnist_dir):
    datasets.Dataset.from_dict({"pixels": [1, 2], "label": [0, 1]}).to_parquet(str(mnist_dir / "test.parquet"))
    with pytest.raises(GrokbenchError) as error:
        MNIST(source=str(mnist_dir)).setup()
    assert "test.parquet" in str(error.value) and "'image'" in str(error.value)
    assert "\n" not in str(error.value)


def test_corrupted_file_is_named(mnist_dir):
    (mnist_dir / "train.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(GrokbenchError, match=r"train.parquet is not a readable Parquet file"):
        MNIST(source=str(mnist_dir)).setup()


@pytest.mark.parametrize("batch_norm", [False, True])
def test_preact_resnet18_forward_backward_width_and_batchnorm_switch(batch_norm):
    model = PreActResNet18(in_channels=3, num_outputs=10, width=4, batch_norm=batch_norm)
    out = model(torch.randn(2, 3, 32, 32))
    out.sum().backward()
    assert out.shape == (2, 10) and model.stem.kernel_size == (3, 3) and model.stem.stride == (1, 1)
    assert [b.conv2.out_channels for b in model.blocks] == [4, 4, 8, 8, 16, 16, 32, 32]
    assert all(p.grad is not None for p in model.parameters())
    has_bn = any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert has_bn == batch_norm


def test_preact_resnet18_has_the_authors_parameter_count():
    """The authors' make_resnet18k(k=16, num_classes=10, bn=False) (grok-adversarial models.py)
    has 699,066 parameters (counted by running their code); its outputs equal this model's
    with the same weights (checked once by hand, their code is not a dependency)."""
    model = PreActResNet18(in_channels=3, num_outputs=10, width=16)
    assert sum(p.numel() for p in model.parameters()) == 699_066
    assert all(m.bias is None for m in model.modules() if isinstance(m, nn.Conv2d))


def test_cnn_forward_backward():
    model = CNN(in_channels=3, num_outputs=10, width=4, depth=3)
    out = model(torch.randn(5, 3, 32, 32))
    out.sum().backward()
    assert out.shape == (5, 10)
    assert all(p.grad is not None for p in model.parameters())


def test_cnn_runs_channels_last_with_the_channels_first_function():
    torch.manual_seed(0)
    model = CNN(in_channels=3, num_outputs=10, width=4, depth=3)
    assert model.features[0].weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.randn(5, 3, 32, 32)
    channels_first = copy.deepcopy(model).to(memory_format=torch.contiguous_format)
    assert not channels_first.features[0].weight.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(model(x), channels_first.features(x).mean(dim=(2, 3)) @ model.head.weight.T
                               + model.head.bias, rtol=1e-5, atol=1e-6)


def test_task_exposes_its_pixel_normalization(cifar_dir):
    """Given statistics are used as they are; the normalization maps pixels to the model's
    inputs and back."""
    mean, std = [0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]
    task = CIFAR10(source=str(cifar_dir), n_train=20, n_test=10, normalize="standard", mean=mean, std=std)
    task.setup()
    normalization = task.pixel_normalization()
    pixels = normalization.invert(task.splits.val_inputs)
    assert pixels.min() >= 0 and pixels.max() <= 1
    expected = (20 * task.splits.val_targets + 5).float()[:, None, None, None] / 255
    assert torch.allclose(pixels, expected.expand_as(pixels), atol=1e-6)
    assert torch.allclose(normalization(pixels), task.splits.val_inputs, atol=1e-5)
    assert torch.allclose(normalization.std.flatten(), torch.tensor(std))
    unit = CIFAR10(source=str(cifar_dir), n_train=20, n_test=10, normalize="unit")
    unit.setup()
    assert torch.equal(unit.pixel_normalization()(unit.splits.val_inputs), unit.splits.val_inputs)
    with pytest.raises(GrokbenchError, match=r"task.std=.*one per image channel"):
        CIFAR10(source=str(cifar_dir), normalize="standard", std=[0.2, 0.2]).setup()


class TwoClassLinear(nn.Module):
    """Logits [0, w.x] on 3x4x4 images; no weight is 0, so sign(w) is defined."""

    def __init__(self, generator: torch.Generator):
        super().__init__()
        weight = torch.randn(3, 4, 4, generator=generator)
        self.weight = nn.Parameter(weight + 0.1 * weight.sign())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x * self.weight).sum(dim=(1, 2, 3))[:, None]
        return torch.cat([torch.zeros_like(z), z], dim=1)


@pytest.mark.parametrize("random_start", [False, True])
@pytest.mark.parametrize("normalized", [False, True])
def test_pgd_on_a_linear_model_finds_the_known_optimum(random_start, normalized):
    """For class 0 of logits [0, w.x] the cross-entropy grows with w.x, so the worst image in
    the pixel-space L-inf ball is x + eps * sign(w) clamped to [0, 1]; a model that normalizes
    its input (std ~0.2) has the same optimum, eps still counted in pixels. Rows of pixels at
    0.01 and 0.99 make the clamp to the image range bite."""
    g = torch.Generator().manual_seed(0)
    linear = TwoClassLinear(g)
    normalization = PixelNormalization(torch.tensor([0.49, 0.48, 0.45]), torch.tensor([0.2023, 0.1994, 0.2010]))
    model = nn.Sequential(normalization, linear) if normalized else linear
    images = torch.rand(16, 3, 4, 4, generator=g)
    images[:, :, 0], images[:, :, 1] = 0.01, 0.99
    targets = torch.zeros(16, dtype=torch.long)
    eps = 8 / 255
    adversarial = pgd_attack(model, images, targets, eps=eps, step_size=eps / 4, steps=10,
                             random_start=random_start, generator=torch.Generator().manual_seed(1))
    optimum = (images + eps * linear.weight.detach().sign()).clamp(0, 1)
    assert torch.allclose(adversarial, optimum, atol=1e-6)
    assert (adversarial == 0).any() and (adversarial == 1).any()


def test_pgd_stays_in_the_pixel_ball_and_raises_the_loss():
    """An untrained CNN on normalized inputs, images in [0, 1] labelled with its own
    predictions: the attack leaves the images valid, moves no pixel more than eps, and raises
    the loss; the model's parameters get no gradient."""
    torch.manual_seed(0)
    normalization = PixelNormalization(torch.tensor([0.49, 0.48, 0.45]), torch.tensor([0.2023, 0.1994, 0.2010]))
    model = nn.Sequential(normalization, CNN(in_channels=3, num_outputs=10, width=4, depth=2)).eval()
    images = torch.rand(32, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        targets = model(images).argmax(-1)
    eps = 4 / 255
    adversarial = pgd_attack(model, images, targets, eps=eps, step_size=1 / 255, steps=10, random_start=True,
                             generator=torch.Generator().manual_seed(0))
    assert (adversarial - images).abs().max() <= eps + 1e-6
    assert adversarial.min() >= 0 and adversarial.max() <= 1
    with torch.no_grad():
        clean, attacked = F.cross_entropy(model(images), targets), F.cross_entropy(model(adversarial), targets)
    assert attacked > clean
    assert all(p.grad is None for p in model.parameters())


def trained_toy_model() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A small MLP that separates two blobs of 2-pixel 'images' in [0, 1]."""
    g = torch.Generator().manual_seed(0)
    x = torch.cat([0.7 + 0.08 * torch.randn(100, 2, generator=g), 0.3 + 0.08 * torch.randn(100, 2, generator=g)])
    x = x.clamp(0, 1)
    y = torch.cat([torch.zeros(100), torch.ones(100)]).long()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(100):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    model.zero_grad(set_to_none=True)
    return model.eval(), x, y


def test_adversarial_callback_works_under_inference_mode():
    model, x, y = trained_toy_model()
    callback = AdversarialEvaluation(eps=0.25, step_size=0.05, steps=10, batch_size=64)
    with torch.inference_mode():  # as inside Lightning's validation loop
        clean, adversarial = callback.evaluate(model, x, y)
    assert clean > 0.95 and adversarial < clean


def test_adversarial_callback_normalizes_after_perturbing():
    """Given the normalization, the callback attacks pixels and the model sees normalized
    inputs: the same numbers as attacking the composed model directly."""
    model, x, y = trained_toy_model()
    normalization = PixelNormalization(torch.tensor([0.5, 0.5]), torch.tensor([0.25, 0.25]))
    images = x[:, :, None, None]  # (N, 2 channels, 1, 1)
    on_inputs = nn.Sequential(nn.Flatten(), model)
    callback = AdversarialEvaluation(eps=0.1, step_size=0.025, steps=10, batch_size=64)
    with torch.inference_mode():
        separate = callback.evaluate(on_inputs, images, y, normalization)
        composed = callback.evaluate(nn.Sequential(normalization, on_inputs), images, y)
    assert separate == composed and separate[1] < separate[0]


def test_adversarial_callback_rejects_pixel_budgets_outside_the_image_range():
    with pytest.raises(GrokbenchError, match=r"eps=50.*pixel units"):
        AdversarialEvaluation(eps=50, step_size=4 / 255)


def test_tiny_cifar_run_logs_adversarial_accuracy(run_config, cifar_dir):
    cfg = run_config(["experiment=quick_cifar10", f"task.source={cifar_dir}", "task.n_train=20",
                      "task.n_test=10", "model.width=4", "trainer.max_steps=4", "eval.every=2",
                      "eval.log_spaced=false", "callbacks.adversarial.num_examples=6"])
    record = train(cfg)
    assert record["status"] == "completed", record["error"]
    assert [row["step"] for row in record["curve"]] == [2, 4]
    assert 0 <= record["final"]["val/adv_acc"] <= 1 and "val/clean_subset_acc" in record["final"]
    assert record["detector"]["settings"]["val_metric"] == "val/adv_acc"


def test_tiny_mnist_run_completes(run_config, mnist_dir):
    cfg = run_config(["experiment=quick_mnist", f"task.source={mnist_dir}", "task.n_train=40",
                      "trainer.max_steps=6", "eval.every=3", "eval.log_spaced=false"])
    record = train(cfg)
    assert record["status"] == "completed", record["error"]
    assert record["task_params"]["n_train"] == 40 and record["num_parameters"] == 784 * 200 + 200 + 200 * 200 + 200 + 2010
    assert np.isfinite(record["final"]["val/loss"])


def test_a_preset_on_another_data_set_of_the_same_schema_needs_no_new_thresholds(run_config, tmp_path):
    """The MNIST preset on two generated image sets with the MNIST schema: both get a verdict
    from the same profile settings (chance 1/10, levels as fractions of the range)."""
    settings = []
    for name, size in (("first", 28), ("second", 28)):
        root = tmp_path / name
        root.mkdir()
        write_split(root / "train.parquet", "image", per_class=4 if name == "first" else 7, mode="L", size=size)
        write_split(root / "test.parquet", "image", per_class=2, mode="L", size=size)
        cfg = run_config(["experiment=quick_mnist", f"task.source={root}", "task.n_train=40",
                          "trainer.max_steps=30", "eval.every=10", "eval.log_spaced=false"])
        record = train(cfg)
        assert record["status"] == "completed", record["error"]
        assert record["verdict"] in VERDICTS
        settings.append(record["detector"]["settings"])
    assert settings[0] == settings[1] and settings[0]["chance"] == pytest.approx(0.1)


@pytest.mark.parametrize("experiment", ["humayun2024_cifar10", "quick_cifar10", "quick_cifar10_control"])
def test_cifar_recipes_have_sane_logits_at_initialization(experiment, run_config, cifar_dir):
    """Built through the config as a run builds it (initialization scale included), each
    recipe's network gives logits of order 1 on random valid images normalized by the task:
    a large initialization that sends logits to 1e9 saturates the softmax, so PGD's gradient
    underflows to 0 and the attack measures nothing."""
    cfg = run_config([f"experiment={experiment}", f"task.source={cifar_dir}", "task.n_train=20", "task.n_test=10"])
    task = build_task(cfg)
    torch.manual_seed(0)
    module = build_module(cfg, task, build_model(cfg, task))
    pixels = torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = module.model(task.pixel_normalization()(pixels))
    largest = logits.abs().max().item()
    # PyTorch's default initialization gives ~0.1 for the width-16 ResNet-18 and the CNN;
    # quick_cifar10's alpha = 4 multiplies the CNN's four weight layers: ~4^4 times that.
    bound = 1e3 if cfg.module.init_scale > 1 else 10
    assert 1e-3 < largest < bound, largest
