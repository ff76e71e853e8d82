"""`explain.run(...)`: train (or reuse) every run the chosen studies need, then write results.json, report.md and
one figure per study. Runs are planned in `studies.py`, trained through `lab.runs` (in parallel here, or on a Ray
cluster; a rerun reuses finished runs), turned into numbers by `analysis.py` and judged by `claims.py`; `figures.py`
and `report.py` render the typed results, and `rebuild` does so again from results.json alone."""

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
from bn_mnist.studies.explain import STUDIES, analysis, claims, figures, report, studies
from bn_mnist.studies.explain.results import Meta, Results
from bn_mnist.studies.explain.studies import Budget


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
    """Train (or reuse) the studies' runs in out_dir and write results.json, report.md and <study>.png there;
    `reuse_other_code` reuses finished runs that another version of the package trained (results.json lists them).

    Raises:
        Interrupted: on Ctrl-C; finished runs stay and the same command resumes.
    """
    started = time.perf_counter()
    ordered = tuple(study for study in STUDIES if study in chosen)
    plan = studies.plan(ordered, budget)
    with trained(plan.specs(), out_dir, log, backend, data_dir, mnist, reuse_other_code) as done:
        runs = read_runs(out_dir, plan.specs())
        selected = "" if ordered == STUDIES else " ".join(ordered)
        meta = Meta(
            studies=list(ordered),
            seeds=budget.seeds,
            quick=budget.quick,
            runs=len(plan),
            runs_reused=done.reused,
            command=command_line("explain", selected, budget.seeds_option, out_dir, budget.quick),
            steps=budget.steps,
            evaluations=budget.evaluations,
            wall_seconds=0.0,
            **making_of(runs),
        )
        found = analysis.analyse(ordered, plan, runs, budget)
        results = Results(meta, found, {}, claims.judge(found))
        drawn = figures.figures(list(ordered), found, out_dir)
        images.write_plots(out_dir, drawn)
        wall = time.perf_counter() - started
        results = dataclasses.replace(
            results,
            figures={study: path.name for study, path in drawn.items()},
            meta=dataclasses.replace(meta, wall_seconds=wall),
        )
        records.write_json(out_dir / RESULTS_FILE, results.to_dict())
        files.write_text(out_dir / REPORT_FILE, report.markdown(results))
        return results


def results_of(raw: dict[str, Any]) -> Results:
    """results.json's records; the verdicts of results from before they were stored are judged from its numbers by
    today's rules (`claims`), marked as judged later."""
    results = Results.from_dict(raw)
    return results if "verdicts" in raw else dataclasses.replace(results, verdicts=claims.judge_later(results.studies))


def rebuild(out_dir: Path, raw: dict[str, Any]) -> list[Path]:
    """report.md and every figure again, from results.json's content alone; returns the files written."""
    results = results_of(raw)
    drawn = figures.figures(results.meta.studies, results.studies, out_dir)
    files.write_text(out_dir / REPORT_FILE, report.markdown(results))
    return [out_dir / REPORT_FILE, *drawn.values()]
