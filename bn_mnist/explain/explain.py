"""`explain.run(...)`: train (or reuse) every run the chosen studies need, then write results.json, report.md and
one figure per study. Runs are planned in `studies.py`, trained by `runner.py` (in parallel here, or on a Ray
cluster; a rerun reuses finished runs), turned into numbers by `analysis.py`, figures by `figures.py` and prose by
`report.py`, both from results.json's numbers alone."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from bn_mnist import outdir
from bn_mnist.console import Log, stderr_log
from bn_mnist.data import Mnist, load_mnist
from bn_mnist.explain import STUDIES, analysis, figures, report, studies
from bn_mnist.reproduction.reproduce import command_line, read_runs, software
from bn_mnist.tensorboard import images
from bn_mnist.training import runlog, runner
from bn_mnist.training.runner import RunSpec

RESULTS_FILE = "results.json"
REPORT_FILE = "report.md"


def run(
    chosen: tuple[str, ...],
    seeds: int | None,
    out_dir: Path,
    quick: bool = False,
    backend: runner.Backend | None = None,
    data_dir: Path | None = None,
    log: Log = stderr_log,
    mnist: Mnist | None = None,
) -> dict[str, Any]:
    """Train (or reuse) the studies' runs in out_dir and write results.json, report.md and <study>.png there.

    Raises:
        Interrupted: on Ctrl-C; finished runs stay and the same command resumes.
    """
    started = time.perf_counter()
    outdir.refuse_in_use(out_dir)
    mnist = mnist or load_mnist(data_dir, log)
    counts = studies.seed_counts(seeds, quick)
    specs = studies.plan(chosen, counts, quick)
    with outdir.locked(out_dir):
        reused = sum(runner.saved_summary(out_dir / spec.key, spec.config) is not None for spec in specs)
        runner.run_all(specs, out_dir, mnist, log, backend)
        return write_results(chosen, seeds, counts, out_dir, quick, specs, started, reused)


def write_results(
    chosen: tuple[str, ...],
    seeds: int | None,
    counts: dict[str, int],
    out_dir: Path,
    quick: bool,
    specs: list[RunSpec],
    started: float,
    reused: int,
) -> dict[str, Any]:
    """The studies' numbers, figures and report from the finished runs (see `run`)."""
    runs = read_runs(out_dir, specs)
    ordered = tuple(study for study in STUDIES if study in chosen)
    summaries = [run.summary for run in runs.values()]
    execution = summaries[0].execution  # the runner gives every run the same settings
    results: dict[str, Any] = {
        "meta": {
            "studies": list(ordered),
            "seeds": counts,
            "quick": quick,
            "runs": len(specs),
            "runs_reused": reused,  # finished in out_dir before this command: its wall time did not train them
            "train_seconds": sum(summary.train_seconds for summary in summaries),
            "command": command_line("explain", "" if ordered == STUDIES else " ".join(ordered), seeds, out_dir, quick),
            "software": software(),
            "execution": dataclasses.asdict(execution) if execution else None,
            "steps": {arch: studies.steps_for(arch, quick) for arch in studies.DEFAULT_SEEDS},
            "evaluations": studies.evaluations(quick),
            "wall_seconds": None,
        },
        "studies": {study: analysis.ANALYSES[study](runs, counts, quick) for study in ordered},
    }
    drawn = {study: figures.figure(study, results["studies"][study], out_dir) for study in ordered}
    results["figures"] = {study: path.name for study, path in drawn.items()}
    images.write_plots(out_dir, drawn)
    results["meta"]["wall_seconds"] = time.perf_counter() - started
    runlog.write_json(out_dir / RESULTS_FILE, results)
    (out_dir / REPORT_FILE).write_text(report.markdown(results), encoding="utf-8")
    return results
