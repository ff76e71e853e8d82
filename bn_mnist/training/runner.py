"""Many training runs in parallel worker processes, resumable: a finished run in the output directory is reused.

Two single-threaded processes train ~1.9x (FC) and ~1.7x (conv) as many steps per second as one process using both
cores (measured before this module was written), because one small network cannot keep two cores busy.
"""

from __future__ import annotations

import concurrent.futures
import gc
import multiprocessing
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bn_mnist.config import Config, load_config, to_dict
from bn_mnist.console import Log, quiet
from bn_mnist.data import Mnist, load_mnist
from bn_mnist.errors import Interrupted, OutputError
from bn_mnist.tf_startup import start_tensorflow
from bn_mnist.training import runlog, trainer


@dataclass(frozen=True)
class RunSpec:
    """One training run of many: its directory under the output directory, its config, and (optionally) the class
    of a probe measuring extra scalars at every evaluation (a class, so that it pickles into worker processes)."""

    key: str  # e.g. "lesson/good-lr1-relu/bn-seed0"
    config: Config
    probe: Callable[[], trainer.Probe] | None = None


LOG_FILE = "train.log"  # a run's progress lines (workers do not print them: many runs would interleave)
_worker: dict[str, Any] = {}  # a worker process's MNIST and the parent's stop event


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def first_difference(here: dict, there: dict, prefix: str = "") -> str:
    """The first config key whose value differs, as 'key: A here, B there'."""
    for key in [*here, *(key for key in there if key not in here)]:
        a, b = here.get(key), there.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            if a != b:
                return first_difference(a, b, f"{prefix}{key}.")
        elif a != b:
            return f"{prefix}{key}: {a!r} here, {b!r} there"
    return ""


def saved_summary(run_dir: Path, config: Config) -> runlog.RunSummary | None:
    """The summary of a finished run of exactly `config` in run_dir, or None; reads only.

    Raises:
        OutputError: run_dir holds a run of another config: results are never mixed.
    """
    saved = run_dir / runlog.CONFIG_FILE
    if not saved.exists():
        return None
    if load_config(saved) != config:
        difference = first_difference(to_dict(config), to_dict(load_config(saved)))
        raise OutputError(
            f"{run_dir} holds a run of another config ({difference}): use another --out, or remove that directory"
        )
    if not (run_dir / runlog.SUMMARY_FILE).exists():
        return None
    summary = runlog.RunSummary.read(run_dir)
    return None if summary.interrupted else summary


def finished_summary(run_dir: Path, config: Config, log: Log) -> runlog.RunSummary | None:
    """`saved_summary`, after clearing run_dir when it holds an unfinished run (which is then trained again)."""
    summary = saved_summary(run_dir, config)
    if summary is None and run_dir.exists():
        log(f"{run_dir}: unfinished, training it again")
        shutil.rmtree(run_dir)
    return summary


def all_finished(specs: list[RunSpec], out_dir: Path) -> bool:
    """Whether every run in specs is finished in out_dir with its config (a run of another config: no)."""
    try:
        return all(saved_summary(out_dir / spec.key, spec.config) is not None for spec in specs)
    except OutputError:
        return False


def _start_worker(data: Mnist | Path | None, threads: int, stop) -> None:
    """Each worker: Ctrl-C ignored except inside a run (train.run stops there and keeps what is done), TensorFlow
    limited to its share of the cores, MNIST loaded once from the cache."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    start_tensorflow(threads)
    mnist = data if isinstance(data, Mnist) else load_mnist(data, log=quiet)
    _worker.update(mnist=mnist, stop=stop)


def _train_one(spec: RunSpec, run_dir: Path) -> runlog.RunSummary:
    if _worker["stop"].is_set():  # queued before Ctrl-C: do not start
        raise Interrupted("not started")

    def log(line: str) -> None:
        with open(run_dir / LOG_FILE, "a", encoding="utf-8") as file:
            file.write(line + "\n")

    try:
        return trainer.run(spec.config, run_dir, _worker["mnist"], log, spec.probe() if spec.probe else None)
    finally:
        # A finished Engine is a reference cycle (tf.functions of its own methods) holding MNIST on the device;
        # collect it now. With this and engine.py's data-as-arguments, RSS stays at 1.40 GB over 6 Engines; before,
        # it grew ~190 MB per run (2.17 GB after 6; 11.9 GB peak in a full reproduction).
        gc.collect()


def finished_line(spec: RunSpec, summary: runlog.RunSummary) -> str:
    """One line per finished run for the console."""
    diverged = summary.diverged_at_step
    return (
        f"{spec.key}: val {summary.final_val_accuracy:.4f}, test {summary.final_test_accuracy:.4f}"
        + (f", diverged at step {diverged}" if diverged else "")
        + f" ({summary.train_seconds:.0f} s)"
    )


def run_all(specs: list[RunSpec], out_dir: Path, log: Log, workers: int, data: Mnist | Path | None = None) -> None:
    """Make every run in specs finished in out_dir, training in parallel only those not finished yet. Workers
    train on `data`: MNIST itself, or the directory (None: the cache) they load it from.

    Raises:
        Interrupted: on Ctrl-C, after the running runs stopped; every finished run stays on disk.
    """
    summaries = {spec.key: finished_summary(out_dir / spec.key, spec.config, log) for spec in specs}
    todo = [spec for spec in specs if summaries[spec.key] is None]
    log(f"{len(specs) - len(todo)} of {len(specs)} runs already finished in {out_dir}")
    if not todo:
        return
    workers = min(workers, len(todo))
    log(f"training {len(todo)} runs in {workers} worker process(es); each run's progress is in its {LOG_FILE}")
    context = multiprocessing.get_context("spawn")  # a fresh TensorFlow per worker; fork would copy a live runtime
    stop = context.Event()
    pool = concurrent.futures.ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(data, max(1, default_workers() // workers), stop),
    )
    started = time.perf_counter()
    try:
        futures = {pool.submit(_train_one, spec, out_dir / spec.key): spec for spec in todo}
        for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            spec = futures[future]
            summaries[spec.key] = future.result()
            elapsed = time.perf_counter() - started
            log(f"[{done}/{len(todo)}, {elapsed:,.0f} s] {finished_line(spec, summaries[spec.key])}")
    except BaseException as error:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)  # running runs got the Ctrl-C too and stop at their next chunk
        if isinstance(error, (KeyboardInterrupt, Interrupted)):
            finished = sum(summary is not None for summary in summaries.values())
            raise Interrupted(
                f"interrupted: {finished} of {len(specs)} runs are finished in {out_dir}; "
                "run the same command again to resume"
            ) from None
        raise
    pool.shutdown()
