"""Training a plan's runs into an output directory (one writer at a time; finished runs are reused) and reading
the finished runs back, each once."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from bn_mnist.core import outdir, runfiles
from bn_mnist.core.console import Log
from bn_mnist.core.data import Mnist, load_mnist
from bn_mnist.core.errors import WriteError
from bn_mnist.core.training import runner
from bn_mnist.core.training.runspec import RunSpec


class RunFiles(NamedTuple):
    """One finished run's summary.json and metrics.jsonl, read once for every record, curve and figure."""

    summary: runfiles.RunSummary
    metrics: list[dict[str, Any]]


def read_runs(out_dir: Path, specs: list[RunSpec]) -> dict[str, RunFiles]:
    return {
        spec.key: RunFiles(runfiles.RunSummary.read(out_dir / spec.key), runfiles.read_metrics(out_dir / spec.key))
        for spec in specs
    }


def other_code_runs(summaries: dict[str, runfiles.RunSummary]) -> list[str]:
    """The keys of the runs that other code trained: what a results file lists when they were reused."""
    return [key for key, summary in summaries.items() if runner.by_other_code(summary)]


class Trained(NamedTuple):
    """A plan's runs, finished in its directory."""

    mnist: Mnist  # the verified data the runs trained on
    reused: int  # runs finished in the directory before this command: its wall time did not train them
    summaries: dict[str, runfiles.RunSummary]  # every run's, by its key


@contextlib.contextmanager
def trained(
    specs: list[RunSpec],
    out_dir: Path,
    log: Log,
    backend: runner.Backend | None = None,
    data_dir: str | Path | None = None,
    mnist: Mnist | None = None,
    reuse_other_code: bool = False,
) -> Iterator[Trained]:
    """Train (or reuse) every run of `specs` in out_dir; the caller writes its results inside the block, while the
    directory is still locked. A finished run that other code trained is trained again, unless `reuse_other_code`.

    Raises:
        OutputError: another command writes into out_dir, or it holds a run of another config.
        Interrupted: on Ctrl-C; finished runs stay and the same command resumes.
        WriteError: a file could not be written (the disk is full); finished runs stay and the same command resumes.
    """
    outdir.refuse_in_use(out_dir)  # before the inputs load; `locked` below makes sure
    mnist = mnist or load_mnist(data_dir, log)  # verified once; the workers get it from here
    with outdir.locked(out_dir):
        done = runner.run_all(specs, out_dir, mnist, log, backend, reuse_other_code)
        try:
            yield Trained(mnist, done.reused, done.summaries)
        except WriteError as error:
            raise WriteError(
                f"{error}; all {len(specs)} runs are finished in {out_dir} and stay: free space, then "
                f"{runner.resume_hint(out_dir)} (it reuses them and writes the results)"
            ) from None
