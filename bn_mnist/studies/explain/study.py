"""`bn-mnist explain` on the pipeline (`lab.study`): budgets, plan, analysis, rules, results, report, figures."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from bn_mnist.lab.meta import REPORT_FILE
from bn_mnist.lab.study import Finished, Making, Study
from bn_mnist.studies.explain import NAMES, analysis, claims, figures, report, studies
from bn_mnist.studies.explain.results import Meta, Results, Studies, Verdicts
from bn_mnist.studies.explain.studies import BUDGETS, Budget


def assemble(making: Making, done: Finished, found: Studies, verdicts: Verdicts) -> Results:
    budget = done.budget
    meta = Meta(**vars(making), studies=list(done.chosen), steps=budget.steps, evaluations=budget.evaluations)
    return Results(meta, found, {}, verdicts)


def results_of(raw: dict[str, Any]) -> Results:
    """results.json's records; the verdicts of results from before they were stored are judged from its numbers by
    today's rules (`claims`), marked as judged later."""
    results = Results.from_dict(raw)
    return results if "verdicts" in raw else dataclasses.replace(results, verdicts=claims.judge_later(results.studies))


def console(results: Results, out_dir: Path) -> str:
    drawn = ", ".join(str(out_dir / name) for name in results.figures.values())
    return f"report: {out_dir / REPORT_FILE}; figures: {drawn}"


STUDY: Study[Budget, Studies, Verdicts, Results] = Study(
    names=NAMES,
    budgets=BUDGETS,
    plan=studies.plan,
    analyse=lambda done: analysis.analyse(done.chosen, done.plan, done.runs, done.budget),
    judge=claims.judge,
    assemble=assemble,
    read=results_of,
    markdown=report.markdown,
    drawings=figures.drawings,
    console=console,
)
