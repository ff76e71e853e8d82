"""`bn-mnist explain` on the pipeline (`lab.study`): each of its studies is a module that fills an `ExplainStudy`
(`common`), listed here in report order; this module plans, analyses and judges the chosen ones, and writes the
report's header and settings around their sections."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

from bn_mnist.core.config import Config, from_dict
from bn_mnist.lab.meta import REPORT_FILE
from bn_mnist.lab.plan import Plan
from bn_mnist.lab.study import Drawings, Finished, Making, Study, rules_changed_lines
from bn_mnist.lab.text import code_lines, seeds_text
from bn_mnist.lab.verdicts import Verdict
from bn_mnist.studies.explain import NAMES, batch, ics, init, inside, landscape, lr, plain
from bn_mnist.studies.explain.common import BUDGETS, CONV_BASE, FC_BASE, Budget, ExplainStudy
from bn_mnist.studies.explain.results import Meta, Results, Studies, Verdicts

PARTS: dict[str, ExplainStudy] = {
    part.name: part
    for part in (lr.STUDY, init.STUDY, inside.STUDY, landscape.STUDY, ics.STUDY, batch.STUDY, plain.STUDY)
}


def plan(chosen: tuple[str, ...], budget: Budget) -> Plan:
    """Every run the chosen studies need, each once (landscape and ics share theirs)."""
    planned = Plan()
    for name in chosen:
        PARTS[name].plan(planned, budget)
    return planned


def analyse(done: Finished[Budget]) -> Studies:
    """The chosen studies' numbers from their finished runs."""
    return Studies(**{name: PARTS[name].analyse(done.plan, done.runs, done.budget) for name in done.chosen})


def judge(studies: Studies) -> Verdicts:
    """Every claim the chosen studies test (and, for the inside study, its answers), by their declared rules."""
    found: dict[str, Any] = {}
    for name, part in PARTS.items():
        if getattr(studies, name) is not None:
            found |= part.judge(getattr(studies, name))
    return Verdicts(**found)


def judge_later(studies: Studies) -> Verdicts:
    """`judge` for results made before their verdicts were stored: the words are today's rules', and say so."""
    judged = judge(studies)
    later: dict[str, Any] = {
        name: dataclasses.replace(found, judged_later=True)
        for name, found in vars(judged).items()
        if isinstance(found, Verdict)
    }
    return dataclasses.replace(judged, **later)


def results_of(raw: dict[str, Any]) -> Results:
    """results.json's records; the verdicts of results from before they were stored are judged from its numbers by
    today's rules, marked as judged later."""
    results = Results.from_dict(raw)
    return results if "verdicts" in raw else dataclasses.replace(results, verdicts=judge_later(results.studies))


BATCH_SIZES = {"fc": from_dict(Config, FC_BASE).train.batch_size, "conv": from_dict(Config, CONV_BASE).train.batch_size}


def assemble(making: Making, done: Finished[Budget], found: Studies, verdicts: Verdicts) -> Results:
    budget = done.budget
    meta = Meta(
        **vars(making),
        studies=list(done.chosen),
        steps=budget.steps,
        evaluations=budget.evaluations,
        batch_sizes=BATCH_SIZES,
    )
    return Results(meta, found, {}, verdicts)


def drawings(results: Results) -> Drawings:
    """Each study's figure, by its name."""
    return {
        name: functools.partial(PARTS[name].figure, getattr(results.studies, name)) for name in results.meta.studies
    }


def console(results: Results, out_dir: Path) -> str:
    drawn = ", ".join(str(out_dir / name) for name in results.figures.values())
    return f"report: {out_dir / REPORT_FILE}; figures: {drawn}"


def markdown(results: Results) -> str:
    meta = results.meta
    seeds = ", ".join(f"{n} for the {kind} runs" for kind, n in meta.seeds.items())
    steps = ", ".join(f"{count:,} steps a {kind} run" for kind, count in meta.steps.items())
    quick = f"{seeds_text(meta.seeds)}, thin grids, {steps}"
    lines = [
        f"# Why does BN help?{' (quick run)' if meta.quick else ''}",
        "",
        *([f"> **--quick run**: {quick}: a smoke test, not evidence.", ""] if meta.quick else []),
        f"Made by `{meta.command}`: {meta.runs} runs (seeds: {seeds}); {meta.train_seconds / 60:.0f} min of "
        f"training summed over runs; {meta.wall_seconds / 60:.1f} min of wall time ({meta.runs_reused} of the "
        "runs were already in its directory and were reused). Every number is over seeds "
        "(mean ± SD (min..max), n; or k/n seeds with a property and the 95% Wilson interval of that fraction); the "
        "BN and the non-BN run of a seed start from the same weights and see the same batches. Software: "
        + ", ".join(f"{k} {v}" for k, v in meta.software.items())
        + ".",
        "",
    ]
    for name in meta.studies:
        study = PARTS[name]
        lines += study.section(getattr(results.studies, name), results.verdicts, results.figures[name])
    return "\n".join(lines + rules_changed_lines(meta.rules_changed) + settings(meta)) + "\n"


def settings(meta: Meta) -> list[str]:
    execution: dict[str, Any] = dataclasses.asdict(meta.execution) if meta.execution else {}
    fc, conv = meta.batch_sizes["fc"], meta.batch_sizes["conv"]
    return [
        "## Settings",
        "",
        f"- FC runs: the Lesson's 784-100-100-100-10 net, batches of {fc} (except in the batch study), "
        f"softmax cross-entropy, SGD, weights normal with SD 0.05 unless swept, {meta.steps['fc']:,} steps. Conv "
        f"runs: the Solutions' 19 conv layers + dense 100 + 10, batches of {conv}, sigmoid "
        f"cross-entropy, Adam, {meta.steps['conv']:,} steps. Validation accuracy on all 5,000 validation images "
        f"{meta.evaluations} times per run and at step 0, in inference mode (population statistics).",
        "- Held fixed within a seed: the initial weights and the order of the batches, for every arm; across seeds "
        "only the seed changes. A run that diverges (non-finite loss) stops there and is scored as it stands.",
        "- Execution (each run's summary.json): XLA for the FC runs, not for the conv ones (train.jit auto); "
        + ", ".join(f"{k} {v}" for k, v in execution.items() if k != "xla")
        + ".",
        "- Every run's config.yaml, TensorBoard events, metrics.jsonl, summary.json and model.keras are under the "
        "output directory (`tensorboard --logdir <out>`; the figures are in its IMAGES tab).",
        *code_lines(meta.code, meta.other_code_runs),
        "",
    ]


STUDY: Study[Budget, Studies, Verdicts, Results] = Study(
    NAMES, BUDGETS, plan, analyse, judge, assemble, results_of, markdown, drawings, console
)
