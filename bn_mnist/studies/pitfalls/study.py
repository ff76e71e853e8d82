"""`bn-mnist pitfalls` on the pipeline (`lab.study`): budgets, plan, analysis, rules, results, report, figures."""

from __future__ import annotations

from pathlib import Path

from bn_mnist.lab.meta import REPORT_FILE
from bn_mnist.lab.study import Finished, Making, Study
from bn_mnist.lab.verdicts import Verdict
from bn_mnist.studies.pitfalls import NAMES
from bn_mnist.studies.pitfalls.analysis import Measured, analyse, judge
from bn_mnist.studies.pitfalls.experiments import BUDGETS, BY_NAME, Budget, plan
from bn_mnist.studies.pitfalls.figures import drawings
from bn_mnist.studies.pitfalls.report import markdown
from bn_mnist.studies.pitfalls.results import Meta, PitfallResult, Results


def assemble(
    making: Making, done: Finished[Budget], measured: dict[str, Measured], verdicts: dict[str, Verdict]
) -> Results:
    budget = done.budget
    meta = Meta(**vars(making), pitfalls=list(done.chosen), steps=budget.steps, evaluations=budget.evaluations)
    found = {
        name: PitfallResult(BY_NAME[name].title, m.arms, m.effects, m.shares, verdicts[name])
        for name, m in measured.items()
    }
    return Results(meta, found, {})


def console(results: Results, out_dir: Path) -> str:
    verdicts = ", ".join(f"{name} {result.verdict.word}" for name, result in results.pitfalls.items())
    return f"{verdicts}; report: {out_dir / REPORT_FILE}"


STUDY: Study[Budget, dict[str, Measured], dict[str, Verdict], Results] = Study(
    NAMES, BUDGETS, plan, analyse, judge, assemble, Results.from_dict, markdown, drawings, console
)
