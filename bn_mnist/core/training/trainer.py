"""`trainer.run(config, out_dir)`: one network trained on MNIST, logged, evaluated and summarised.

This is the eager driver around the compiled engine (`engine.py`): it decides when to log and evaluate,
writes every result as soon as it exists, and turns divergence and Ctrl-C into recorded outcomes.

A diverged run stops after the first step whose loss is not finite and keeps the weights that step's update
produced (usually non-finite), as the tutorial's TF1 loop did: its published ~0.098 for crashed runs is what
NaN logits score (every prediction is class 0). The run is scored as it stands.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import random
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from bn_mnist.core import files, outdir, provenance, runfiles
from bn_mnist.core.config import Config, save_config
from bn_mnist.core.console import Log, stderr_log
from bn_mnist.core.data import Mnist, load_mnist
from bn_mnist.core.errors import Interrupted, WriteError
from bn_mnist.core.interrupts import ctrl_c_requests_stop
from bn_mnist.core.tensorboard import hparams, writer
from bn_mnist.core.tf_startup import start_tensorflow
from bn_mnist.core.training import distribution, execution, warm
from bn_mnist.core.training.engine import Engine
from bn_mnist.core.training.measurement import Batch, Context, Measurement
from bn_mnist.core.training.warm import Engines, Entry

PROCESS_SEED = 0  # TensorFlow's and Keras' global seed in every process that trains (see `seeded_process`)
SINGLE_SAMPLES = 100  # the Solutions' "accuracy on 100 samples": test images 0..99, one at a time


def logging_points(steps: int, log_every: int, eval_every: int) -> list[int]:
    """Steps after which the driver logs: multiples of either interval, and the last step."""
    points = set(range(log_every, steps + 1, log_every)) | set(range(eval_every, steps + 1, eval_every))
    return sorted(points | {steps})


def make_deterministic(seed: int) -> None:
    """Same config and seed -> same numbers on the same machine: Python's and NumPy's global generators seeded with
    the run's seed, TensorFlow's and Keras' once per process (`seeded_process`)."""
    seeded_process()
    random.seed(seed)
    np.random.seed(seed)


@functools.cache
def seeded_process() -> None:
    """Deterministic ops, and a fixed global seed for TensorFlow and Keras, set once: setting TensorFlow's clears
    every compiled function's instantiation (2 s of the conv net's next call), and no number of a run reads it,
    as every random op has a seed of its own (kernels, dropout masks, BN noise: nets/models.py)."""
    keras.utils.set_random_seed(PROCESS_SEED)
    tf.config.experimental.enable_op_determinism()


def evaluation_metrics(engine: Engine, test: bool) -> dict[str, float]:
    """Validation loss and accuracy, and test accuracy when asked."""
    loss, accuracy = engine.evaluate("val")
    values = {runfiles.VAL_LOSS: loss, runfiles.VAL_ACCURACY: accuracy}
    if test:
        values[runfiles.TEST_ACCURACY] = engine.evaluate("test")[1]
    return values


def rate_at(config: Config, step: int) -> float:
    """The learning rate of the update after `step` steps, as the optimizer holds it (float32)."""
    return float(np.float32(config.train.learning_rate_at(step)))


def measurement_context(engine: Engine, config: Config) -> Context:
    """What a measurement sees of this run (`measurement.Context`), at step 0."""

    def training_batch(step: int) -> Batch:
        indices = engine.order[min(step, engine.steps - 1)]  # (B,): past the last step, the last batch
        labels = tf.gather(engine.labels, indices)
        return Batch(engine.model_inputs(tf.gather(engine.images, indices), labels), labels)

    images, validation_labels = engine.eval_set("val")
    return Context(
        model=engine.model,
        loss=engine.loss,
        learning_rate=rate_at(config, 0),
        activation=config.model.activation,
        training_batch=training_batch,
        validation_images=images,
        validation_labels=validation_labels,
        model_inputs=engine.model_inputs,
    )


def progress_line(step: int, total: int, values: dict[str, float], steps_per_second: float) -> str:
    parts = [f"step {step:>{len(str(total))}}/{total}"]
    for name in (runfiles.TRAIN_LOSS, runfiles.TRAIN_ACCURACY, runfiles.VAL_ACCURACY):
        if name in values:
            parts.append(f"{name} {values[name]:.4f}")
    parts.append(f"{steps_per_second:,.0f} steps/s")
    return "  ".join(parts)


@dataclass
class Progress:
    """What the training loop has done so far."""

    steps: int = 0
    train_seconds: float = 0.0
    diverged_at_step: int | None = None
    interrupted: bool = False
    train_accuracy: float | None = None  # training mode, the batches since the last logging point
    inspect_seconds: float = 0.0  # measuring at the evaluations (inside the network, probes)
    final: dict[str, float] = field(default_factory=dict)  # the metrics logged at the last step


@dataclass
class Measuring:
    """The run's measurements and the context they see."""

    measurements: list[Measurement]
    context: Context
    config: Config

    @property
    def wants_test_accuracy(self) -> bool:
        return any(measurement.wants_test_accuracy for measurement in self.measurements)

    def scalars(self, step: int, log_file: writer.RunLog, progress: Progress, last: bool) -> dict[str, float]:
        """Take every measurement: write the histograms, return the scalars."""
        if not self.measurements:
            return {}
        started, scalars = time.perf_counter(), {}
        context = dataclasses.replace(self.context, step=step, learning_rate=rate_at(self.config, step), last=last)
        for measurement in self.measurements:
            measured = measurement(context)
            if measured.histograms:
                log_file.write_to_tensorboard(step, {}, measured.histograms)
            scalars.update(measured.scalars)
        progress.inspect_seconds += time.perf_counter() - started
        return scalars


def evaluation(
    engine: Engine, measuring: Measuring, step: int, log_file: writer.RunLog, progress: Progress, last: bool
) -> dict[str, float]:
    """An evaluation point's metrics: validation (and, at the end or when a measurement wants it, test) accuracy,
    and every measurement's scalars."""
    values = evaluation_metrics(engine, last or measuring.wants_test_accuracy)
    return {**values, **measuring.scalars(step, log_file, progress, last)}


def train_loop(engine: Engine, config: Config, log_file: writer.RunLog, log: Log, measuring: Measuring) -> Progress:
    """Train to the configured step count, logging as configured, and measuring at every evaluation. At the last
    step (or the diverged one) the evaluation also measures test accuracy; Ctrl-C stops before the next compiled
    call."""
    progress, train = Progress(), config.train
    log_file.write(0, evaluation(engine, measuring, 0, log_file, progress, last=False))
    with ctrl_c_requests_stop() as request:
        for point in logging_points(train.steps, train.log_every, train.eval_every):
            if request["stop"]:
                progress.interrupted = True
                break
            started = time.perf_counter()
            chunk = engine.train_steps(progress.steps, point - progress.steps)
            progress.train_seconds += time.perf_counter() - started
            progress.steps += chunk.steps_done
            progress.train_accuracy = chunk.accuracy
            values = {runfiles.TRAIN_LOSS: chunk.mean_loss, runfiles.TRAIN_ACCURACY: chunk.accuracy}
            last = chunk.diverged_at is not None or point == train.steps
            if last or point % train.eval_every == 0:
                values.update(evaluation(engine, measuring, progress.steps, log_file, progress, last))
                log(progress_line(progress.steps, train.steps, values, progress.steps / progress.train_seconds))
            log_file.write(progress.steps, values)
            if chunk.diverged_at is not None:
                progress.diverged_at_step = chunk.diverged_at
                log(f"diverged at step {chunk.diverged_at} (loss is not finite): stopped, scored as it stands")
            if last:
                progress.final = values
                break
    return progress


def run_summary(config: Config, engine: Engine, progress: Progress, compile_seconds: float) -> runfiles.RunSummary:
    """The run's summary; a finished run adds its final metrics and the single-sample check that exposes broken
    BN inference."""
    final = {}
    if not progress.interrupted:
        # once per run: without XLA (compiling the batch-of-one graph took longer than evaluating, 2 s in the conv net)
        _, single = engine.evaluate("test", count=SINGLE_SAMPLES, batch_size=1, xla=False)
        final = {
            "final_val_loss": runfiles.finite_or_none(progress.final[runfiles.VAL_LOSS]),
            "final_val_accuracy": progress.final[runfiles.VAL_ACCURACY],
            "final_test_accuracy": progress.final[runfiles.TEST_ACCURACY],
            "single_sample_accuracy": single,
        }
    return runfiles.RunSummary(
        bn=config.bn.enabled,
        bn_impl=(config.bn.impl if config.bn.kind == "batch" else config.bn.kind) if config.bn.enabled else None,
        moving_stats_updated=config.bn.enabled and config.bn.kind == "batch" and config.bn.update_moving_stats,
        arch=config.model.arch,
        seed=config.seed,
        jit=config.xla,
        steps=progress.steps,
        train_seconds=progress.train_seconds,
        steps_per_second=progress.steps / progress.train_seconds if progress.train_seconds else 0.0,
        diverged_at_step=progress.diverged_at_step,
        interrupted=progress.interrupted,
        final_train_accuracy=progress.train_accuracy,
        compile_seconds=compile_seconds,
        inspect_seconds=progress.inspect_seconds,
        execution=execution.current(config.xla),
        replicas=config.distribute.replicas,
        code=provenance.current(),
        **final,
    )


def run(
    config: Config,
    out_dir: Path,
    mnist: Mnist | None = None,
    log: Log = stderr_log,
    probe: Measurement | None = None,
    engines: Engines | None = None,
) -> runfiles.RunSummary:
    """Train one network as configured, writing config.yaml, event files, metrics.jsonl, model.keras and
    summary.json; `probe` adds its measurements at every evaluation point (after the inside of the network's, when
    log.histograms is on); `engines` keeps the compiled network for the next run of its key (a worker's).

    Raises:
        Interrupted: on Ctrl-C, after writing a summary of the steps that were finished.
    """
    threads = start_tensorflow(config.train.threads, config.distribute)
    strategy = distribution.make_strategy(config.distribute)
    chief = distribution.is_chief(strategy)
    if chief:
        outdir.refuse_used_out_dir(Path(out_dir))
    mnist = mnist or load_mnist(config.data.dir, log)  # bad input fails here, before anything is written
    engines = engines if engines is not None else Engines(kept=0)
    if threads != config.train.threads:
        log(
            f"TensorFlow already runs with {threads or 'its default'} threads here (train.threads is "
            f"{config.train.threads}): the numbers are those of that setting (summary.json: execution)"
        )
    if not chief:  # a multi-worker run's other workers train the same steps; only the chief's output is kept
        with tempfile.TemporaryDirectory(prefix="bn-mnist-worker-") as scratch:
            return train_into(config, Path(scratch), mnist, log, probe, strategy, engines)
    with outdir.claimed(Path(out_dir)) as out_dir, saying_what_is_kept(out_dir):
        summary = train_into(config, out_dir, mnist, log, probe, strategy, engines)
    if summary.interrupted:
        raise Interrupted(f"interrupted at step {summary.steps}: results so far are in {out_dir}")
    return summary


@contextlib.contextmanager
def saying_what_is_kept(out_dir: Path) -> Iterator[None]:
    """A WriteError in the block, with the files out_dir keeps: an unfinished run (no summary.json)."""
    try:
        yield
    except WriteError as error:
        kept = sorted(path.name for path in out_dir.iterdir() if not path.name.startswith("."))
        raise WriteError(
            f"{error}; {out_dir} keeps an unfinished run (no {runfiles.SUMMARY_FILE}): "
            + (", ".join(kept) + ", each up to the last step written" if kept else "no file")
        ) from None


def train_into(
    config: Config,
    out_dir: Path,
    mnist: Mnist,
    log: Log,
    probe: Measurement | None,
    strategy: tf.distribute.Strategy | None,
    engines: Engines,
) -> runfiles.RunSummary:
    """`run`'s training, into a claimed out_dir, on one device or under `strategy`; a run that fails leaves no
    compiled network behind in `engines`."""
    save_config(config, out_dir / runfiles.CONFIG_FILE)
    make_deterministic(config.seed)
    entry = engines.entry(config, mnist, strategy)
    try:
        return train_entry(config, out_dir, entry, log, probe)
    except BaseException:
        engines.discard(config)
        raise


def train_entry(
    config: Config, out_dir: Path, entry: Entry, log: Log, probe: Measurement | None
) -> runfiles.RunSummary:
    """`train_into` on a network at its starting values."""
    engine = entry.engine
    if entry.runs > 1:
        log(f"{warm.REUSED} (run {entry.runs} on it): restarted by assignment, no new build or compile")
    label = "BN" if config.bn.enabled else "no BN"
    if config.distributed:
        label += f", {config.distribute.replicas} {config.distribute.strategy} replicas"
        label += f" of {config.train.batch_size // config.distribute.replicas}"
        label += (
            ", synchronized BN"
            if config.bn.enabled and config.bn.sync
            else ", per-replica BN"
            if config.bn.enabled
            else ""
        )
    log(f"train {config.name} ({config.model.arch}, {label}, {config.train.steps} steps) -> {out_dir}")
    if config.bn.enabled and not config.bn.update_moving_stats:
        log(
            "bn.update_moving_stats is false: population statistics stay at their initial values (TF1's forgotten "
            "UPDATE_OPS); watch single_sample_accuracy and test accuracy"
        )
    compile_seconds = engine.compile_training()
    measurements: list[Measurement] = [entry.inspector] if config.log.histograms else []
    measuring = Measuring(measurements + ([probe] if probe else []), measurement_context(engine, config), config)
    log_file = writer.RunLog(out_dir)
    try:
        hparams.write_session(log_file, config)
        progress = train_loop(engine, config, log_file, log, measuring)
        with files.written(out_dir / runfiles.MODEL_FILE) as partial:
            engine.model.save(partial)
        summary = run_summary(config, engine, progress, compile_seconds)
        hparams.write_outcome(log_file, summary)
    finally:
        log_file.close()
    summary.write(out_dir)
    return summary
