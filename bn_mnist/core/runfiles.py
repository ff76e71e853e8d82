"""A run's files and their records: metric names (defined once), file names, `RunSummary` (summary.json) with its
`Execution`, and the readers of metrics.jsonl. No TensorFlow here: reports and tests of pure logic read runs without
it (the writer is `tensorboard/writer.py`).
"""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bn_mnist.core.errors import ResultsError
from bn_mnist.core.provenance import CodeVersion
from bn_mnist.core.records import Record, read_object, write_json

TRAIN_LOSS = "train/loss"
TRAIN_ACCURACY = "train/accuracy"
VAL_LOSS = "val/loss"
VAL_ACCURACY = "val/accuracy"
TEST_ACCURACY = "test/accuracy"
SCALARS = (TRAIN_LOSS, TRAIN_ACCURACY, VAL_LOSS, VAL_ACCURACY, TEST_ACCURACY)

METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
CONFIG_FILE = "config.yaml"
MODEL_FILE = "model.keras"  # the trained model, BN statistics included: keras.models.load_model reads it (after
# importing bn_mnist.core.nets.bn and bn_mnist.core.nets.norms, which register this project's layers)
MODEL_MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}  # what a Keras 3 .keras archive holds

# RunSummary's fields that differ between two runs of the same config and seed (timings)
WALL_CLOCK_FIELDS = ("train_seconds", "steps_per_second", "compile_seconds", "inspect_seconds")


@dataclass(frozen=True)
class Execution(Record):
    """How a run was executed (TensorFlow's deterministic ops are always on in bn-mnist's runs)."""

    intra_op_threads: int  # 0: TensorFlow's default (one per core)
    inter_op_threads: int
    xla: bool
    onednn: bool  # TF_ENABLE_ONEDNN_OPTS: on by default on x86 Linux
    device: str  # e.g. "CPU" or "GPU: NVIDIA ..."
    cpu: str
    cpu_flags: tuple[str, ...]
    tensorflow: str
    keras: str
    numpy: str
    python: str


@dataclass(frozen=True)
class RunSummary(Record):
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
    inspect_seconds: float | None = None  # measuring at the evaluations: inside the network (log.histograms), probes
    final_val_loss: float | None = None
    final_val_accuracy: float | None = None
    final_test_accuracy: float | None = None
    single_sample_accuracy: float | None = None  # test images 0..99 fed one at a time, inference mode
    execution: Execution | None = None  # the settings that change the numbers (None: a run from before they were kept)
    replicas: int = 1  # replicas in sync (distribute.replicas); each trained on batch_size / replicas examples
    code: CodeVersion | None = None  # the code that trained it (None: a run from before versions were kept)

    @classmethod
    def read(cls, run_dir: Path) -> RunSummary:
        """Raises: ResultsError: summary.json cannot be read or holds no run summary."""
        return cls.from_dict(read_object(run_dir / SUMMARY_FILE, "run summary"))

    def write(self, run_dir: Path) -> None:
        write_json(run_dir / SUMMARY_FILE, self.to_dict())


def finite_or_none(value: float) -> float | None:
    """JSON has no NaN: a diverged value is written as null."""
    return value if math.isfinite(value) else None


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """The logging points of a run, as written to metrics.jsonl; a ResultsError when the file cannot be read, or a
    line is no logging point (a file cut in the middle of a line)."""
    path = run_dir / METRICS_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ResultsError(f"{path}: cannot be read ({error})") from None
    return [logging_point(line, path, number) for number, line in enumerate(lines, 1) if line.strip()]


def logging_point(line: str, path: Path, number: int) -> dict[str, Any]:
    """Line `number` of metrics.jsonl as a logging point, or a ResultsError naming it."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise ResultsError(f"{path}, line {number}: not JSON ({error.msg})") from None
    if not isinstance(record, dict) or not isinstance(record.get("step"), int):
        raise ResultsError(f"{path}, line {number}: no logging point (no integer 'step')")
    return record


def check_finished(run_dir: Path, summary: RunSummary) -> None:
    """That a run whose summary says finished has whole files: metrics.jsonl up to its last step, and a model.keras
    whose archive and every member's checksum are intact (checked without TensorFlow, which loading would need);
    else a ResultsError naming the damaged file."""
    records = read_metrics(run_dir)
    last = records[-1]["step"] if records else None
    if last != summary.steps:
        raise ResultsError(f"{run_dir / METRICS_FILE}: ends at step {last}; {SUMMARY_FILE} says {summary.steps}")
    check_model_archive(run_dir / MODEL_FILE)


def check_model_archive(path: Path) -> None:
    """That model.keras is a whole zip archive with a Keras model's members, each matching its CRC."""
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
            members = set(archive.namelist())
    except (OSError, zipfile.BadZipFile) as error:
        raise ResultsError(f"{path}: not a whole Keras archive ({error})") from None
    if damaged is not None:
        raise ResultsError(f"{path}: member {damaged} fails its checksum")
    if MODEL_MEMBERS - members:
        raise ResultsError(f"{path}: lacks {', '.join(sorted(MODEL_MEMBERS - members))}")


def series(records: list[dict[str, Any]], name: str) -> tuple[list[int], list[float]]:
    """(steps, values) of one metric; a diverged (null) value becomes NaN so plots show a gap."""
    points = [(r["step"], r[name]) for r in records if name in r]
    return [s for s, _ in points], [math.nan if v is None else v for _, v in points]


def first_step_reaching(records: list[dict[str, Any]], threshold: float, name: str = VAL_ACCURACY) -> int | None:
    """First logged step whose validation (or another) accuracy is >= threshold, or None if never."""
    steps, values = series(records, name)
    return next((step for step, value in zip(steps, values) if value >= threshold), None)
