"""One pipeline for every study (`lab.study`): plan, train (local processes or a Ray cluster; finished runs are
reused), read the runs once, analyse, judge, write results.json, then the figures and report.md; and `rebuild`, the
same from results.json alone."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bn_mnist.core import files, provenance, records
from bn_mnist.core.console import Log, stderr_log
from bn_mnist.core.tensorboard import images
from bn_mnist.lab.meta import REPORT_FILE, RESULTS_FILE, command_line, software
from bn_mnist.lab.plan import Plan
from bn_mnist.lab.runs import RunFiles, other_code_runs, read_runs, trained
from bn_mnist.lab.study import A, B, Finished, Making, R, Study, V

if TYPE_CHECKING:
    from bn_mnist.core.data import Mnist
    from bn_mnist.core.training.runner import Backend


def run(
    study: Study[B, A, V, R],
    chosen: tuple[str, ...],
    budget: B,
    out_dir: Path,
    backend: Backend | None = None,
    data_dir: Path | None = None,
    log: Log = stderr_log,
    mnist: Mnist | None = None,
    reuse_other_code: bool = False,
    plan: Plan | None = None,
) -> R:
    """Train (or reuse) every run the chosen parts need in out_dir, then write results.json, report.md and the
    figures there. `plan` replaces the planned runs (the same runs, other configs: a test's short runs); `mnist` the
    data of data_dir or the cache; `reuse_other_code` reuses finished runs another version trained (listed).

    Raises:
        Interrupted: on Ctrl-C; finished runs stay and the same command resumes.
    """
    started = time.perf_counter()
    ordered = study.ordered(chosen)
    planned = plan or study.plan(ordered, budget)
    with trained(planned.specs(), out_dir, log, backend, data_dir, mnist, reuse_other_code) as done:
        reported = ordered if plan else reported_parts(study, ordered, budget, out_dir, reuse_other_code)
        reported_plan = planned if reported == ordered else study.plan(reported, budget)
        runs = read_runs(out_dir, reported_plan.specs())
        finished = Finished(reported, reported_plan, runs, budget, out_dir, done.mnist)
        analysis = study.analyse(finished)
        making = making_of(study, ordered, budget, out_dir, runs, done.reused)
        results = study.assemble(making, finished, analysis, study.judge(analysis))
        drawn = draw(study, results, out_dir)
        images.write_plots(out_dir, drawn)
        wall = time.perf_counter() - started
        meta = dataclasses.replace(results.meta, wall_seconds=wall)
        results = dataclasses.replace(results, figures={name: path.name for name, path in drawn.items()}, meta=meta)
        write(study, results, out_dir)
        return results


def reported_parts(
    study: Study[B, A, V, R], chosen: tuple[str, ...], budget: B, out_dir: Path, reuse_other_code: bool
) -> tuple[str, ...]:
    """The parts asked for and, for a study that reports every finished part, each other part whose runs are all
    finished in out_dir (by this code, unless `reuse_other_code`): `reproduce conv` after `reproduce lesson`
    reports both."""
    if not study.reports_finished:
        return chosen
    from bn_mnist.core.training import runner

    def finished(part: str) -> bool:
        return runner.all_finished(study.plan((part,), budget).specs(), out_dir, reuse_other_code)

    return tuple(part for part in study.names.parts if part in chosen or finished(part))


def selected(study: Study[B, A, V, R], chosen: tuple[str, ...]) -> str:
    """The command's argument that chose these parts: none (or "all", for a one-part argument) when it chose all."""
    if chosen == study.names.parts:
        return "" if study.names.many else "all"
    return " ".join(chosen)


def making_of(
    study: Study[B, A, V, R], chosen: tuple[str, ...], budget: B, out_dir: Path, runs: dict[str, RunFiles], reused: int
) -> Making:
    """What the results record of their making; the wall time is filled in last."""
    summaries = {key: run.summary for key, run in runs.items()}
    return Making(
        seeds=budget.seeds,
        quick=budget.quick,
        runs=len(runs),
        runs_reused=reused,
        train_seconds=sum(summary.train_seconds for summary in summaries.values()),
        command=command_line(study.names.command, selected(study, chosen), budget.seeds_option, out_dir, budget.quick),
        software=software(),
        execution=next(iter(summaries.values())).execution if summaries else None,
        wall_seconds=0.0,
        code=provenance.current(),
        other_code_runs=other_code_runs(summaries),
        rules=list(study.names.rules),
        rules_changed=list(study.rules_changed),
    )


def draw(study: Study[B, A, V, R], results: R, out_dir: Path) -> dict[str, Path]:
    """Every figure of the results in out_dir as <name>.png."""
    from bn_mnist.core.plots import save

    return {name: save(drawing(), out_dir / f"{name}.png") for name, drawing in study.drawings(results).items()}


def write(study: Study[B, A, V, R], results: R, out_dir: Path) -> None:
    records.write_json(out_dir / RESULTS_FILE, results.to_dict())
    files.write_text(out_dir / REPORT_FILE, study.markdown(results))


def rebuild(study: Study[B, A, V, R], out_dir: Path, raw: dict[str, Any]) -> list[Path]:
    """report.md and every figure again, from results.json's content alone; returns the files written."""
    results = study.read(raw)
    drawn = draw(study, results, out_dir)
    files.write_text(out_dir / REPORT_FILE, study.markdown(results))
    return [out_dir / REPORT_FILE, *drawn.values()]
