"""`pitfalls.run(...)`: train (or reuse) every run the chosen pitfalls need, then write results.json, report.md and
one figure per pitfall. Runs are planned in `experiments.py`, trained through `lab.runs` (in parallel here, or on a
Ray cluster; a rerun reuses finished runs), turned into numbers and judged by `analysis.py` with `claims.py`'s rules;
`figures.py` and `report.py` render the typed results, and `rebuild` does so again from results.json alone."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from bn_mnist.core import files, records
from bn_mnist.core.console import Log, stderr_log
from bn_mnist.core.data import Mnist
from bn_mnist.core.tensorboard import images
from bn_mnist.core.training import runner
from bn_mnist.lab.meta import REPORT_FILE, RESULTS_FILE, command_line
from bn_mnist.lab.runs import making_of, read_runs, trained
from bn_mnist.studies.pitfalls import PITFALLS, analysis, experiments, figures, report
from bn_mnist.studies.pitfalls.experiments import Budget
from bn_mnist.studies.pitfalls.results import Meta, Results


def run(
    chosen: tuple[str, ...],
    budget: Budget,
    out_dir: Path,
    backend: runner.Backend | None = None,
    data_dir: Path | None = None,
    log: Log = stderr_log,
    mnist: Mnist | None = None,
    reuse_other_code: bool = False,
) -> Results:
    """Train (or reuse) the pitfalls' runs in out_dir and write results.json, report.md and <pitfall>.png there.

    Raises:
        Interrupted: on Ctrl-C; finished runs stay and the same command resumes.
    """
    started = time.perf_counter()
    ordered = tuple(name for name in PITFALLS if name in chosen)
    plan = experiments.plan(ordered, budget)
    with trained(plan.specs(), out_dir, log, backend, data_dir, mnist, reuse_other_code) as done:
        runs = read_runs(out_dir, plan.specs())
        selected = "" if ordered == PITFALLS else " ".join(ordered)
        meta = Meta(
            pitfalls=list(ordered),
            seeds=budget.seeds,
            quick=budget.quick,
            runs=len(plan),
            runs_reused=done.reused,
            command=command_line("pitfalls", selected, budget.seeds_option, out_dir, budget.quick),
            steps=budget.steps,
            evaluations=budget.evaluations,
            wall_seconds=0.0,
            **making_of(runs),
        )
        found = analysis.analyse(ordered, plan, runs)
        drawn = figures.figures(found, out_dir)
        images.write_plots(out_dir, drawn)
        meta = dataclasses.replace(meta, wall_seconds=time.perf_counter() - started)
        results = Results(meta, found, {name: path.name for name, path in drawn.items()})
        records.write_json(out_dir / RESULTS_FILE, results.to_dict())
        files.write_text(out_dir / REPORT_FILE, report.markdown(results))
        return results


def rebuild(out_dir: Path, raw: dict[str, Any]) -> list[Path]:
    """report.md and every figure again, from results.json's content alone; returns the files written."""
    results = Results.from_dict(raw)
    drawn = figures.figures(results.pitfalls, out_dir)
    files.write_text(out_dir / REPORT_FILE, report.markdown(results))
    return [out_dir / REPORT_FILE, *drawn.values()]
