"""`train.run(config, out_dir)`: one network trained on MNIST, logged, evaluated and summarised.

This is the eager driver around the compiled engine (`loop.py`): it decides when to log and evaluate,
writes every result as soon as it exists, and turns divergence and Ctrl-C into recorded outcomes.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from bn_mnist.config import Config, save_config
from bn_mnist.console import Log, stderr_log
from bn_mnist.data import Mnist, load_mnist
from bn_mnist.errors import Interrupted
from bn_mnist.nets.models import build_model
from bn_mnist.training import runlog
from bn_mnist.training.engine import Engine, use_jit

SINGLE_SAMPLES = 100  # the Solutions' "accuracy on 100 samples": test images 0..99, one at a time

Probe = Callable[[Engine], dict[str, float]]  # extra scalars measured at every evaluation point (reproduce's paper)


def logging_points(steps: int, log_every: int, eval_every: int) -> list[int]:
    """Steps after which the driver logs: multiples of either interval, and the last step."""
    points = set(range(log_every, steps + 1, log_every)) | set(range(eval_every, steps + 1, eval_every))
    return sorted(points | {steps})


def make_deterministic(seed: int) -> None:
    """Same config and seed -> same numbers on the same machine."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def evaluation_metrics(engine: Engine, probe: Probe | None) -> dict[str, float]:
    """Validation loss and accuracy, plus what the probe measures."""
    loss, accuracy = engine.evaluate("val")
    return {runlog.VAL_LOSS: loss, runlog.VAL_ACCURACY: accuracy, **(probe(engine) if probe else {})}


def progress_line(step: int, total: int, values: dict[str, float], steps_per_second: float) -> str:
    parts = [f"step {step:>{len(str(total))}}/{total}"]
    for name in (runlog.TRAIN_LOSS, runlog.TRAIN_ACCURACY, runlog.VAL_ACCURACY):
        if name in values:
            parts.append(f"{name} {values[name]:.4f}")
    parts.append(f"{steps_per_second:,.0f} steps/s")
    return "  ".join(parts)


@contextlib.contextmanager
def ctrl_c_requests_stop():
    """Ctrl-C sets a flag the driver checks between compiled calls: a KeyboardInterrupt raised at a random point
    can land in a destructor, where Python ignores it, and the run would go on (seen once in CI rehearsal)."""
    request = {"stop": False}
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: request.update(stop=True))
    try:
        yield request
    finally:
        signal.signal(signal.SIGINT, previous)


def train_loop(
    engine: Engine, config: Config, log_file: runlog.RunLog, log: Log, probe: Probe | None
) -> dict[str, Any]:
    """Train to the configured step count, logging as configured; returns what the summary needs."""
    state: dict[str, Any] = {
        "steps": 0,
        "train_seconds": 0.0,
        "diverged_at_step": None,
        "interrupted": False,
        "final_train_accuracy": None,
    }
    log_file.write(0, evaluation_metrics(engine, probe))
    train = config.train
    with ctrl_c_requests_stop() as request:
        for point in logging_points(train.steps, train.log_every, train.eval_every):
            if request["stop"]:
                state["interrupted"] = True
                break
            started = time.perf_counter()
            chunk = engine.train_steps(state["steps"], point - state["steps"])
            state["train_seconds"] += time.perf_counter() - started
            state["steps"] += chunk.steps_done
            state["final_train_accuracy"] = chunk.accuracy  # training mode, batches since the last logging point
            values = {runlog.TRAIN_LOSS: chunk.mean_loss, runlog.TRAIN_ACCURACY: chunk.accuracy}
            if chunk.diverged_at is not None or point % train.eval_every == 0 or point == train.steps:
                values.update(evaluation_metrics(engine, probe))
                log(progress_line(state["steps"], train.steps, values, state["steps"] / state["train_seconds"]))
            log_file.write(state["steps"], values)
            if chunk.diverged_at is not None:
                state["diverged_at_step"] = chunk.diverged_at
                log(f"diverged at step {chunk.diverged_at} (loss is not finite): stopped, scored as it stands")
                break
        state["interrupted"] = state["interrupted"] or request["stop"]
    return state


def final_metrics(engine: Engine) -> dict[str, float]:
    """Final validation and test accuracy, and the single-sample check that exposes broken BN inference."""
    val_loss, val_accuracy = engine.evaluate("val")
    _, test_accuracy = engine.evaluate("test")
    _, single = engine.evaluate("test", count=SINGLE_SAMPLES, batch_size=1)
    return {
        "final_val_loss": runlog.finite_or_none(val_loss),
        "final_val_accuracy": val_accuracy,
        "final_test_accuracy": test_accuracy,
        "single_sample_accuracy": single,
    }


def run(
    config: Config, out_dir: Path, mnist: Mnist | None = None, log: Log = stderr_log, probe: Probe | None = None
) -> dict[str, Any]:
    """Train one network as configured, writing config.yaml, event files, metrics.jsonl, model.keras and
    summary.json; `probe` adds its scalars at every evaluation point.

    Raises:
        Interrupted: on Ctrl-C, after writing a summary of the steps that were finished.
    """
    runlog.refuse_used_out_dir(Path(out_dir))
    mnist = mnist or load_mnist(config.data.dir, log)  # bad input fails here, before anything is written
    out_dir = runlog.claim_out_dir(Path(out_dir))
    save_config(config, out_dir / runlog.CONFIG_FILE)
    make_deterministic(config.seed)
    engine = Engine(build_model(config.model, config.bn, config.seed), config, mnist)
    label = "BN" if config.bn.enabled else "no BN"
    log(f"train {config.name} ({config.model.arch}, {label}, {config.train.steps} steps) -> {out_dir}")
    if config.bn.enabled and not config.bn.update_moving_stats:
        log(
            "bn.update_moving_stats is false: population statistics stay at their initial values (TF1's forgotten "
            "UPDATE_OPS); watch single_sample_accuracy and test accuracy"
        )
    log_file = runlog.RunLog(out_dir)
    try:
        state = train_loop(engine, config, log_file, log, probe)
        engine.model.save(out_dir / runlog.MODEL_FILE)
        summary = {
            "bn": config.bn.enabled,
            "bn_impl": config.bn.impl if config.bn.enabled else None,
            "moving_stats_updated": config.bn.enabled and config.bn.update_moving_stats,
            "arch": config.model.arch,
            "seed": config.seed,
            "jit": use_jit(config),
        }
        summary.update(state)
        summary["steps_per_second"] = state["steps"] / state["train_seconds"] if state["train_seconds"] else 0.0
        if not state["interrupted"]:
            summary.update(final_metrics(engine))
            log_file.write(state["steps"], {runlog.TEST_ACCURACY: summary["final_test_accuracy"]})
    finally:
        log_file.close()
    runlog.write_json(out_dir / runlog.SUMMARY_FILE, summary)
    if state["interrupted"]:
        raise Interrupted(f"interrupted at step {state['steps']}: results so far are in {out_dir}")
    return summary
