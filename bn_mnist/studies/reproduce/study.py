"""`bn-mnist reproduce` on the pipeline (`lab.study`): budgets, plan, records, judged claims, results, report,
figures. It reports every experiment already finished in its directory, not only the ones asked for."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, NamedTuple

from bn_mnist.lab.meta import REPORT_FILE
from bn_mnist.lab.study import Drawings, Finished, Making, Study
from bn_mnist.studies.reproduce import NAMES, analysis, experiments, figures, judging, ranktests, report
from bn_mnist.studies.reproduce.analysis import Analysis
from bn_mnist.studies.reproduce.experiments import BUDGETS, Budget
from bn_mnist.studies.reproduce.judging import Judged
from bn_mnist.studies.reproduce.ranktests import NullRate
from bn_mnist.studies.reproduce.results import Meta, Results
from bn_mnist.studies.reproduce.rules import Rules


class Judgement(NamedTuple):
    judged: Judged
    null_rates: list[NullRate]  # the method's flag rates under the null, at our seed counts
    counts: dict[str, dict[str, int]]


def judge(found: Analysis) -> Judgement:
    judged = judging.judge(found.records)
    return Judgement(judged, judging.null_rates(found.records), judging.count_verdicts(judged))


def assemble(making: Making, done: Finished[Budget], found: Analysis, judgement: Judgement) -> Results:
    budget = done.budget
    steps = budget.lesson_steps if budget.quick else None
    meta = Meta(**vars(making), experiments=list(done.chosen), quick_lesson_steps=steps)
    judged, rates, counts = judgement
    claims = judged.outcomes, judged.numbers, judged.remarks, judged.across
    return Results(meta, found.records, found.statistics, Rules(), *claims, rates, counts, found.curves, {})


def read(raw: dict[str, Any]) -> Results:
    """results.json's records; the report-wide tests of results from before their words were stored get them from
    today's rule (`ranktests.family_word`, unchanged since those tests were declared)."""
    results = Results.from_dict(raw)
    across = results.across
    if across is None or across.shift.word is not None:
        return results
    calibration, shift = ranktests.judged(across.calibration), ranktests.judged(across.shift)
    return dataclasses.replace(results, across=dataclasses.replace(across, calibration=calibration, shift=shift))


def drawings(results: Results) -> Drawings:
    """Every figure of the reported experiments (their runs' keys come from the plan that made them)."""
    return figures.drawings(results, experiments.plan(tuple(results.meta.experiments), results.meta.budget()))


def console(results: Results, out_dir: Path) -> str:
    line = f"{report.counts_text(results.counts, published=True)}{' (--quick run)' if results.meta.quick else ''}"
    return f"{line}; report: {out_dir / REPORT_FILE}"


STUDY: Study[Budget, Analysis, Judgement, Results] = Study(
    NAMES,
    BUDGETS,
    experiments.plan,
    analysis.analyse,
    judge,
    assemble,
    read,
    report.markdown,
    drawings,
    console,
    reports_finished=True,
)
