"""Many training runs in parallel, resumable (a finished run in the output directory is reused), on a back-end:
worker processes on this machine, or a Ray cluster (`ray_backend.py`).

Two single-threaded processes train ~1.9x (FC) and ~1.7x (conv) as many steps per second as one process using both
cores (measured before this module was written), because one small network cannot keep two cores busy.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from bn_mnist.core import files, provenance, runfiles, tf_startup
from bn_mnist.core.config import Config, load_saved_config, to_dict
from bn_mnist.core.console import Log
from bn_mnist.core.data import Mnist
from bn_mnist.core.data.sources import first_line
from bn_mnist.core.errors import (
    BnMnistError,
    ConfigError,
    Interrupted,
    OutputError,
    ResultsError,
    RunFailed,
    WriteError,
)
from bn_mnist.core.interrupts import ctrl_c_requests_stop
from bn_mnist.core.tensorboard import hparams
from bn_mnist.core.training import worker
from bn_mnist.core.training.dispatch import RunQueue
from bn_mnist.core.training.runspec import RunSpec

POLL_SECONDS = 0.25  # how often a back-end's wait for runs looks at the Ctrl-C flag
# XLA keeps the machine code of every function it compiles for the life of its process: ~300 runs in one worker
# ran out of memory for more (LLVM "Cannot allocate memory", 7.4 GB peak RSS; the 20-seed reproduction, 2026-12-02).
# Fresh workers every 40 runs each (a new pool: max_tasks_per_child hangs on Python 3.11, cpython#115634)
# cost one TensorFlow start-up (a few seconds) per 40 runs.
RUNS_PER_WORKER = 40


def cores() -> int:
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


def saved_summary(run_dir: Path, config: Config) -> runfiles.RunSummary | None:
    """The summary of a finished run of exactly `config` in run_dir, or None; reads only. A run is finished when
    its summary.json (written last) says so, and its files are whole (`runfiles.check_finished`).

    Raises:
        OutputError: run_dir holds a run of another config: results are never mixed.
        ResultsError: a file of the run is damaged (its message names it).
    """
    saved = run_dir / runfiles.CONFIG_FILE
    if not saved.exists():
        return None
    try:
        found = load_saved_config(saved)
    except ConfigError as error:
        raise ResultsError(str(error)) from None
    if found != config:
        raise OutputError(
            f"{run_dir} holds a run of another config ({first_difference(to_dict(config), to_dict(found))}): use "
            "another --out, or remove that directory"
        )
    if not (run_dir / runfiles.SUMMARY_FILE).exists():
        return None
    summary = runfiles.RunSummary.read(run_dir)
    if summary.interrupted:
        return None
    runfiles.check_finished(run_dir, summary)
    return summary


def by_other_code(summary: runfiles.RunSummary) -> bool:
    """Whether another version of the package trained the run (or one from before versions were kept)."""
    return summary.code is None or summary.code.source != provenance.current().source


def finished_summary(
    run_dir: Path, config: Config, log: Log, reuse_other_code: bool = False
) -> runfiles.RunSummary | None:
    """`saved_summary`, after clearing run_dir when it holds an unfinished run, or setting it aside (renamed,
    never deleted) when a file is damaged or, unless `reuse_other_code`, when other code trained it; each is then
    trained again."""
    try:
        summary = saved_summary(run_dir, config)
    except ResultsError as damage:
        aside = files.set_aside(run_dir)
        log(f"{run_dir}: damaged ({damage}); set aside as {aside.name}, training it again")
        return None
    if summary is not None and by_other_code(summary) and not reuse_other_code:
        aside = files.set_aside(run_dir, "other-code")
        trained_by = summary.code or "a version that kept no code version"
        log(
            f"{run_dir}: trained by other code ({trained_by}; this is {provenance.current()}); set aside as "
            f"{aside.name}, training it again (--reuse-other-code would reuse it)"
        )
        return None
    if summary is None and run_dir.exists():
        log(f"{run_dir}: unfinished, training it again")
        shutil.rmtree(run_dir)
    return summary


def all_finished(specs: list[RunSpec], out_dir: Path, reuse_other_code: bool = False) -> bool:
    """Whether every run in specs is finished in out_dir with its config, by this code unless `reuse_other_code`
    (a run of another config, or a damaged one: no)."""
    try:
        summaries = [saved_summary(out_dir / spec.key, spec.config) for spec in specs]
    except (OutputError, ResultsError):
        return False
    return all(s is not None and (reuse_other_code or not by_other_code(s)) for s in summaries)


def finished_line(spec: RunSpec, summary: runfiles.RunSummary) -> str:
    """One line per finished run for the console."""
    diverged = summary.diverged_at_step
    return (
        f"{spec.key}: val {summary.final_val_accuracy:.4f}, test {summary.final_test_accuracy:.4f}"
        + (f", diverged at step {diverged}" if diverged else "")
        + f" ({summary.train_seconds:.0f} s)"
    )


def progress(done: int, total: int, elapsed: float) -> str:
    """'3/10, 42 s, about 98 s left': runs done, time so far, and the time left at the rate so far."""
    left = elapsed / done * (total - done)
    return f"{done}/{total}, {elapsed:,.0f} s" + (f", about {left:,.0f} s left" if done < total else "")


class Finished(Protocol):
    """Called by a back-end for each run it finished (and wrote into the output directory)."""

    def __call__(self, spec: RunSpec, summary: runfiles.RunSummary) -> None: ...


class Backend(Protocol):
    """Where runs train: `LocalBackend` (worker processes here) or `ray_backend.RayBackend` (a Ray cluster)."""

    def train(self, todo: list[RunSpec], out_dir: Path, mnist: Mnist, log: Log, finished: Finished) -> None:
        """Train every run of todo into out_dir / spec.key, calling `finished` as each one is on disk.

        Raises:
            KeyboardInterrupt or Interrupted: on Ctrl-C, after the running runs stopped; finished runs are on disk.
        """


def backend(ray_address: str | None, workers: int | None) -> Backend:
    """The local back-end, or a Ray cluster's when an address is given (connected now: a bad address fails here,
    before anything is written)."""
    if ray_address is None:
        return LocalBackend(workers)
    from bn_mnist.core.training import ray_backend

    return ray_backend.RayBackend(ray_address)


def refuse_multi_worker(specs: list[RunSpec]) -> None:
    """A runner's worker trains a run alone; a multi-worker run needs one process per TF_CONFIG task."""
    for spec in specs:
        if spec.config.distribute.strategy == "multi_worker":
            raise ConfigError(
                f"{spec.key}: distribute.strategy multi_worker trains one run across processes the cluster starts "
                "(`bn-mnist train` in each, with its TF_CONFIG); use mirrored for many runs"
            )


class Done(NamedTuple):
    """What `run_all` made: every run finished, and how many of them were already."""

    summaries: dict[str, runfiles.RunSummary]  # every run's, by its key
    reused: int  # runs finished in the directory before: this command did not train them


def run_all(
    specs: list[RunSpec],
    out_dir: Path,
    mnist: Mnist,
    log: Log,
    on: Backend | None = None,
    reuse_other_code: bool = False,
) -> Done:
    """Make every run in specs finished in out_dir, training on `on` (default: local worker processes) only those
    not finished yet (a damaged run is set aside and trained again); returns every run's summary.

    Raises:
        Interrupted: on Ctrl-C, after the running runs stopped; every finished run stays on disk.
        WriteError: a file could not be written (the disk is full); every finished run stays on disk.
        OutputError: out_dir holds a run of another config under a planned run's key.
        ConfigError: a multi-worker run in specs (it spans processes the user starts: `bn-mnist train`).
    """
    refuse_multi_worker(specs)
    summaries = {spec.key: finished_summary(out_dir / spec.key, spec.config, log, reuse_other_code) for spec in specs}
    hparams.write_experiment(out_dir, {spec.key: spec.config for spec in specs})
    todo = [spec for spec in specs if summaries[spec.key] is None]
    reused = len(specs) - len(todo)
    log(f"{reused} of {len(specs)} runs already finished in {out_dir}")
    started = time.perf_counter()

    def finished(spec: RunSpec, summary: runfiles.RunSummary) -> None:
        summaries[spec.key] = summary
        done = sum(summaries[spec.key] is not None for spec in todo)
        log(f"[{progress(done, len(todo), time.perf_counter() - started)}] {finished_line(spec, summary)}")

    try:
        if todo:
            (on or LocalBackend()).train(todo, out_dir, mnist, log, finished)
    except (KeyboardInterrupt, Interrupted):
        raise Interrupted(f"interrupted: {finished_on_disk(specs, out_dir)}; {resume_hint(out_dir)}") from None
    except RunFailed as error:
        raise RunFailed(f"{error}; {finished_on_disk(specs, out_dir)} and stay: {resume_hint(out_dir)}") from None
    except WriteError as error:
        raise WriteError(
            f"{error}; {finished_on_disk(specs, out_dir)} and stay: free space, then {resume_hint(out_dir)}"
        ) from None
    return Done({key: summary for key, summary in summaries.items() if summary is not None}, reused)


def result_of(future: concurrent.futures.Future, run_dir: Path) -> runfiles.RunSummary:
    """A worker's summary of its run; a failure the tool did not foresee becomes one line naming the run."""
    try:
        return future.result()
    except (BnMnistError, KeyboardInterrupt):
        raise
    except Exception as error:
        raise RunFailed(
            f"{run_dir}: training failed in its worker ({type(error).__name__}: {first_line(error)})"
        ) from error


def finished_on_disk(specs: list[RunSpec], out_dir: Path) -> str:
    """'3 of 10 runs are finished in DIR', counted on disk once the back-end stopped (runs that were running when
    a write failed elsewhere train to their end)."""
    count = sum(all_finished([spec], out_dir) for spec in specs)
    return f"{count} of {len(specs)} runs are finished in {out_dir}"


def resume_hint(out_dir: Path) -> str:
    return f"run the same command with --out {out_dir} to resume"


MakeExecutor = Callable[[int, int, int], concurrent.futures.Executor]  # (workers, threads, devices) -> processes


class Pool:
    """Worker processes of one thread count and logical CPU count (TensorFlow fixes both when it starts), handed one
    run per free worker from the pool's queue (`dispatch.RunQueue`); renewed (fresh processes) after
    RUNS_PER_WORKER runs each, and closed as soon as no run waits for it."""

    def __init__(self, todo: list[RunSpec], threads: int, devices: int, workers: int, make: MakeExecutor) -> None:
        self.queue, self.make = RunQueue(todo), make
        self.threads, self.devices, self.workers = threads, devices, workers
        self.executor: concurrent.futures.Executor | None = None
        self.handed = self.running = 0  # runs handed to the current processes, and running now

    def take(self, warm: RunSpec | None = None) -> RunSpec | None:
        """The next run for a free worker of this pool (`warm`: the run it just finished), or None when every
        worker is busy, the processes are due for renewal, or no run waits."""
        if self.running >= self.workers or self.due_for_renewal:
            return None
        return self.queue.take(warm)

    @property
    def due_for_renewal(self) -> bool:
        return self.handed >= self.workers * RUNS_PER_WORKER

    def submit(self, spec: RunSpec, out_dir: Path) -> concurrent.futures.Future:
        if self.executor is None:
            self.executor = self.make(self.workers, self.threads, self.devices)
        self.handed, self.running = self.handed + 1, self.running + 1
        return self.executor.submit(worker.train_one, spec.config, spec.probe, out_dir / spec.key)

    def finished(self, spec: RunSpec) -> None:
        """`spec` ended; with none running, processes due for renewal or left with nothing to do end."""
        self.running -= 1
        self.queue.done(spec)
        if not self.running and (self.due_for_renewal or not self.queue):
            self.close()

    def close(self, cancel: bool = False) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=cancel)  # running runs stop at their next chunk
            self.executor, self.handed = None, 0


@dataclass(frozen=True)
class LocalBackend:
    """Worker processes on this machine: one pool per thread count at a time, each of as many workers as the cores
    hold runs of its thread count, unless `workers`."""

    workers: int | None = None

    def pools(self, todo: list[RunSpec], make: MakeExecutor) -> list[Pool]:
        """One pool per thread count and logical CPU count, in the order they first come."""
        groups: dict[tuple[int, int], list[RunSpec]] = {}
        for spec in todo:
            key = (spec.config.train.threads, tf_startup.logical_cpus(spec.config.distribute))
            groups.setdefault(key, []).append(spec)
        return [
            Pool(group, threads, devices, min(self.workers or max(1, cores() // threads), len(group)), make)
            for (threads, devices), group in groups.items()  # default workers: the cores, fully used
        ]

    def train(self, todo: list[RunSpec], out_dir: Path, mnist: Mnist, log: Log, finished: Finished) -> None:
        context = multiprocessing.get_context("spawn")  # a fresh TensorFlow per worker; fork copies a live runtime
        stop = context.Event()

        def make(workers: int, threads: int, devices: int) -> concurrent.futures.Executor:
            return concurrent.futures.ProcessPoolExecutor(
                workers,
                mp_context=context,
                initializer=worker.start,
                initargs=(mnist, threads, stop, devices, provenance.current()),
            )

        for pool in self.pools(todo, make):
            log(
                f"training {len(pool.queue)} runs in {pool.workers} worker process(es) of {pool.threads} thread(s); "
                f"each run's progress is in its {worker.LOG_FILE}"
            )
            train_in(pool, out_dir, finished, stop)


def train_in(pool: Pool, out_dir: Path, finished: Finished, stop: Any) -> None:
    """Train every run of `pool`, each free worker handed the run that reuses its kept network if one waits."""
    futures: dict[concurrent.futures.Future, RunSpec] = {}

    def hand_out(warm: RunSpec | None = None) -> bool:
        spec = pool.take(warm)
        if spec is not None:  # to the pool's free worker: the others are busy
            futures[pool.submit(spec, out_dir)] = spec
        return spec is not None

    with ctrl_c_requests_stop() as request:
        try:
            while hand_out():
                pass
            while futures:
                if request["stop"]:
                    raise KeyboardInterrupt
                done, _ = concurrent.futures.wait(futures, POLL_SECONDS, FIRST_COMPLETED)
                for future in done:
                    spec = futures.pop(future)
                    pool.finished(spec)
                    finished(spec, result_of(future, out_dir / spec.key))
                    hand_out(spec)
                while hand_out():  # fresh processes after a renewal
                    pass
        except BaseException:
            stop.set()
            pool.close(cancel=True)
            raise
