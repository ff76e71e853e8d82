"""Shared fixtures: small synthetic MNIST-shaped data for fast tests, real MNIST for the end-to-end ones; and
TensorFlow started once, before the first test, unless every test of the session is one of pure logic (those, run
alone, never load it)."""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from bn_mnist.core.config import load_config
from bn_mnist.core.data import Mnist, load_mnist
from bn_mnist.lab.study import choose
from bn_mnist.studies.reproduce.experiments import BUDGETS, plan

PURE_LOGIC = {"test_architecture.py", "test_claims.py", "test_config.py", "test_experiments.py", "test_report.py"}
PURE_LOGIC |= {
    "test_stats.py",
    "test_lint.py",
    "test_ranktests.py",
    "test_rules.py",
    "test_quotes.py",
    "test_digitised_figures.py",
}  # tests that neither import nor start TensorFlow


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> None:
    """Before the first test module that is not pure logic is imported: start TensorFlow as the CLI does (one
    thread, the schema default, so in-process runs match it; its start-up chatter filtered) with 4 logical CPU
    devices for the data-parallel tests (single-device runs use the first, as on a plain CPU)."""
    if file_path.name.startswith("test_") and file_path.suffix == ".py" and file_path.name not in PURE_LOGIC:
        from bn_mnist.core.tf_startup import start_tensorflow

        start_tensorflow(1, logical_cpus=4)  # once: later calls change nothing


def synthetic_images(labels: np.ndarray, seed: int) -> np.ndarray:
    """Noise plus a bright 4x4 block whose position encodes the label: learnable in a few dozen steps."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 0.3, size=(len(labels), 28, 28, 1)).astype(np.float32)
    for i, label in enumerate(labels):
        row, col = divmod(int(label), 5)
        images[i, 4 + 10 * row : 8 + 10 * row, 2 + 5 * col : 6 + 5 * col, 0] = 1.0
    return images


@pytest.fixture(scope="session")
def tiny_mnist() -> Mnist:
    rng = np.random.default_rng(0)
    labels = {
        name: rng.integers(0, 10, size=n).astype(np.int32) for name, n in (("train", 600), ("val", 200), ("test", 200))
    }
    return Mnist(
        train_x=synthetic_images(labels["train"], 1),
        train_y=labels["train"],
        val_x=synthetic_images(labels["val"], 2),
        val_y=labels["val"],
        test_x=synthetic_images(labels["test"], 3),
        test_y=labels["test"],
    )


@pytest.fixture()
def tiny_fc_config():
    """The Lesson's FC net, shortened to seconds; no inspection inside the network (its own tests turn it on), and no
    XLA: its compile took 1.0-1.4 s of a 1.6-2.1 s run (test_loop holds the XLA engine to the simple loop)."""
    return load_config(
        "fc", ("train.steps=40", "train.eval_every=20", "train.log_every=10", "log.histograms=false", "train.jit=off")
    )


SHORT_BUDGET = choose(BUDGETS, 2, quick=True)  # the budget `short_plan` is planned with


@pytest.fixture(scope="session")
def short_plan():
    """The pitfall and paper experiments' runs for two seeds, shortened to 40 steps with 20 evaluations (the paper's
    drift windows): a small reproduction plan for tiny_mnist."""
    short = {"steps": 40, "eval_every": 2, "log_every": 2}
    planned = plan(("pitfall", "paper"), SHORT_BUDGET)
    return planned.with_configs(
        lambda config: dataclasses.replace(config, train=dataclasses.replace(config.train, **short))
    )


@pytest.fixture(scope="session")
def real_mnist() -> Mnist:
    """The real, verified MNIST (fetched into the cache on first use)."""
    return load_mnist()


@pytest.fixture(scope="session")
def bn_mnist_script() -> str:
    """The installed console script (the venv's, not one elsewhere on PATH)."""
    script = shutil.which("bn-mnist", path=str(Path(sys.executable).parent)) or shutil.which("bn-mnist")
    assert script, "the bn-mnist console script is not installed"
    return script


SLOW_FIXTURES = {"real_mnist", "bn_mnist_script"}  # real MNIST, or the installed console script
# The suite runs on two pytest-xdist workers, a file to a worker (pyproject.toml): the files that take longest (each
# 2.5-5 min alone, --durations of 2026-12-06) start first, then the other files with slow tests, so that the short
# ones fill in at the end and both workers finish together. Only the order changes, never what runs.
LONGEST_FILES = ("test_explain.py", "test_reproduce.py", "test_pitfalls.py", "test_ray.py", "test_execution.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses real MNIST or the installed script is slow, whatever its file says; the longest files run
    first, then the files with slow tests."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}

    def start_order(item: pytest.Item) -> tuple[int, int]:
        if item.path.name in LONGEST_FILES:
            return (0, LONGEST_FILES.index(item.path.name))
        return (1 if item.path in slow_files else 2, 0)

    items.sort(key=start_order)  # stable: within a file, and among equals, the collection order stays
