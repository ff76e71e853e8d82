"""Run outputs: metric names (defined once), TensorBoard scalars and histograms, metrics.jsonl and summary.json.

The writer, the plotter, the report and the tests all use the names below, so they cannot drift apart.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from tensorboard.compat.proto import summary_pb2
from tensorboard.plugins.histogram import metadata as histogram_metadata
from tensorboard.plugins.scalar import metadata as scalar_metadata
from tensorboard.util import tensor_util

from bn_mnist.training.execution import Execution

TRAIN_LOSS = "train/loss"
TRAIN_ACCURACY = "train/accuracy"
VAL_LOSS = "val/loss"
VAL_ACCURACY = "val/accuracy"
TEST_ACCURACY = "test/accuracy"
SCALARS = (TRAIN_LOSS, TRAIN_ACCURACY, VAL_LOSS, VAL_ACCURACY, TEST_ACCURACY)

METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
CONFIG_FILE = "config.yaml"
MODEL_FILE = "model.keras"  # the trained model, BN statistics included: keras.models.load_model reads it

ARMS = {"bn": "With Batch Norm", "no_bn": "Without Batch Norm"}  # the two networks: sub-directory -> label


# RunSummary's fields that differ between two runs of the same config and seed (timings)
WALL_CLOCK_FIELDS = ("train_seconds", "steps_per_second", "compile_seconds", "inspect_seconds")


@dataclass(frozen=True)
class RunSummary:
    """One run's summary.json: what was trained and how it ended (the final metrics are None when interrupted)."""

    bn: bool
    bn_impl: str | None  # None without BN
    moving_stats_updated: bool  # False: BN's population statistics never moved (the forgotten update)
    arch: str
    seed: int
    jit: bool  # XLA on
    steps: int  # training steps done
    train_seconds: float  # wall time inside the compiled training calls
    steps_per_second: float  # steps / train_seconds: the steady-state rate
    diverged_at_step: int | None  # the step whose loss was not finite; training stopped after it
    interrupted: bool  # Ctrl-C before the last step
    final_train_accuracy: float | None  # training mode, over the batches since the previous logging point
    compile_seconds: float | None = None  # tracing and compiling the training call before step 1 (not in train_seconds)
    inspect_seconds: float | None = None  # measuring inside the network at the evaluations (log.histograms)
    final_val_loss: float | None = None
    final_val_accuracy: float | None = None
    final_test_accuracy: float | None = None
    single_sample_accuracy: float | None = None  # test images 0..99 fed one at a time, inference mode
    execution: Execution | None = None  # the settings that change the numbers (None: a run from before they were kept)
    replicas: int = 1  # replicas in sync (distribute.replicas); each trained on batch_size / replicas examples

    @classmethod
    def read(cls, run_dir: Path) -> RunSummary:
        return cls.from_dict(read_json(run_dir / SUMMARY_FILE))

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunSummary:
        execution = raw.get("execution")
        if execution is not None:
            execution = Execution(**{**execution, "cpu_flags": tuple(execution["cpu_flags"])})
        return cls(**{**raw, "execution": execution})

    def write(self, run_dir: Path) -> None:
        write_json(run_dir / SUMMARY_FILE, dataclasses.asdict(self))


def finite_or_none(value: float) -> float | None:
    """JSON has no NaN: a diverged value is written as null."""
    return value if math.isfinite(value) else None


HISTOGRAM_BUCKETS = 30  # TensorBoard's default
SCALAR_METADATA = scalar_metadata.create_summary_metadata(display_name=None, description=None)
HISTOGRAM_METADATA = histogram_metadata.create_summary_metadata(display_name=None, description=None)


def histogram(values: np.ndarray, buckets: int = HISTOGRAM_BUCKETS) -> np.ndarray:
    """TensorBoard's histogram format, (buckets, 3) rows of [left edge, right edge, count], over the finite values
    (a diverged run's NaNs are left out), computed with NumPy: 10x faster than tf.summary.histogram's eager ops."""
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    low, high = (values.min(), values.max()) if values.size else (0.0, 0.0)
    counts, edges = np.histogram(values, bins=buckets, range=(low, high if high > low else low + 1.0))
    return np.stack([edges[:-1], edges[1:], counts], axis=1)


class RunLog:
    """Writes one run's scalars to TensorBoard and to metrics.jsonl (one JSON object per logging point), and its
    histograms and other summaries to TensorBoard only."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.writer = tf.summary.create_file_writer(str(run_dir))
        self.jsonl = open(run_dir / METRICS_FILE, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, step: int, values: dict[str, float]) -> None:
        """Log scalars named by the constants above at training step `step`; flushed so Ctrl-C loses nothing."""
        self.write_to_tensorboard(step, values)
        record = {"step": step, **{name: finite_or_none(value) for name, value in values.items()}}
        self.jsonl.write(json.dumps(record) + "\n")
        self.jsonl.flush()

    def write_to_tensorboard(
        self, step: int, scalars: dict[str, float], histograms: dict[str, np.ndarray] | None = None
    ) -> None:
        """Scalars (float32, as tf.summary.scalar stores them) and histograms (of all the values given, any shape)
        in one summary event: one write per logging point, not one eager op per tag (~0.5 ms each)."""
        summary = summary_pb2.Summary()
        for tag, value in scalars.items():
            tensor = tensor_util.make_tensor_proto(np.float32(value))
            summary.value.add(tag=tag, tensor=tensor, metadata=SCALAR_METADATA)
        for tag, values in (histograms or {}).items():
            summary.value.add(
                tag=tag, tensor=tensor_util.make_tensor_proto(histogram(values)), metadata=HISTOGRAM_METADATA
            )
        with self.writer.as_default():
            tf.summary.experimental.write_raw_pb(summary.SerializeToString(), step=step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
        self.jsonl.close()


@contextlib.contextmanager
def replacing_writer(directory: Path, suffix: str) -> Iterator[Any]:
    """A summary writer, set as default, whose event file (named `*suffix`) replaces the directory's earlier one:
    what a rerun writes at the root of an output is there once, not once per run of the command."""
    for old in directory.glob(f"*{suffix}"):
        old.unlink()
    writer = tf.summary.create_file_writer(str(directory), filename_suffix=suffix)
    try:
        with writer.as_default(step=0):
            yield writer
    finally:
        writer.close()


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """The logging points of a run, as written to metrics.jsonl."""
    lines = (run_dir / METRICS_FILE).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def series(records: list[dict[str, Any]], name: str) -> tuple[list[int], list[float]]:
    """(steps, values) of one metric; a diverged (null) value becomes NaN so plots show a gap."""
    points = [(r["step"], r[name]) for r in records if name in r]
    return [s for s, _ in points], [math.nan if v is None else v for _, v in points]


def first_step_reaching(records: list[dict[str, Any]], threshold: float, name: str = VAL_ACCURACY) -> int | None:
    """First logged step whose validation (or another) accuracy is >= threshold, or None if never."""
    steps, values = series(records, name)
    return next((step for step, value in zip(steps, values) if value >= threshold), None)


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically enough for our purpose: whole file, then rename."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
