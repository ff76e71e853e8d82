"""The study contract (`lab.study`) end to end, on the worked example of docs/development.md: a toy study of about 40
lines that the one pipeline plans, trains in a real worker process, reads, analyses, judges by a rule declared as
data, writes, draws and rebuilds, exactly as it does reproduce, explain and pitfalls."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import pytest
from matplotlib.figure import Figure

from bn_mnist.core.config import load_config
from bn_mnist.core.plots import subplots
from bn_mnist.core.records import Record
from bn_mnist.lab import pipeline
from bn_mnist.lab.names import Names
from bn_mnist.lab.plan import Plan, RunId
from bn_mnist.lab.stats import judge_fraction
from bn_mnist.lab.study import Budget, Finished, Making, Study, rules_changed_lines
from bn_mnist.lab.verdicts import SUPPORTED, Fraction, Rule, Verdict, every, verdict_policy

# --- the toy study: everything a new study writes (its results record, rule, steps and Study) ---
LEARNS, FAILS = "learns", "does not learn"
RULE = Rule(
    "The FC net learns the synthetic digits in 40 steps",
    (Fraction("learns", "the final validation accuracy is above 0.5", LEARNS, FAILS),),
    verdict_policy(supported=every(LEARNS), not_supported=every(FAILS)),
)


@dataclass(frozen=True)
class ToyResults(Record):
    meta: Making
    accuracy: list[float | None]  # final validation accuracy per seed
    verdict: Verdict
    figures: dict[str, str]
    kind: str = "toy"


def plan(chosen: tuple[str, ...], budget: Budget) -> Plan:
    planned = Plan()
    for seed in range(budget.seeds["fc"]):
        config = load_config(
            "fc",
            ("train.steps=40", "train.eval_every=20", "train.learning_rate=0.1", "log.histograms=false"),
            {"seed": seed},
        )
        planned.add(RunId("fc", "bn", seed), "fc", config)
    return planned


def analyse(done: Finished[Budget]) -> list[float | None]:
    return [done.runs[key].summary.final_val_accuracy for key in done.plan.seeds("fc", "bn")]


def judge(accuracy: list[float | None]) -> Verdict:
    return RULE.judge({"learns": judge_fraction([a is not None and a > 0.5 for a in accuracy])})


def markdown(results: ToyResults) -> str:
    verdict = results.verdict
    return "\n".join([f"# Toy: {verdict.word}", "", verdict.rule, "", *rules_changed_lines(results.meta.rules_changed)])


def bars(accuracy: list[float | None]) -> Figure:
    figure, axis = subplots(figsize=(4, 3))
    axis.bar(range(len(accuracy)), [a or 0.0 for a in accuracy])
    return figure


TOY = Study(
    Names("toy", "net", ("fc",), "A toy study.", "Seeds 0..N-1.", "The same, here."),
    (Budget(seeds={"fc": 4}), Budget(seeds={"fc": 4}, quick=True)),
    plan,
    analyse,
    judge,
    lambda making, done, accuracy, verdict: ToyResults(making, accuracy, verdict, {}),
    ToyResults.from_dict,
    markdown,
    lambda results: {"accuracy": functools.partial(bars, results.accuracy)},
    lambda results, out_dir: f"toy: {results.verdict.word}",
)
# --- end of the toy study ---


@pytest.mark.slow  # a spawned worker process imports TensorFlow
def test_a_toy_study_goes_through_the_whole_pipeline(tiny_mnist, tmp_path):
    lines: list[str] = []
    results = pipeline.run(TOY, ("fc",), TOY.budget(None, quick=False), tmp_path, log=lines.append, mnist=tiny_mnist)
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert ToyResults.from_dict(on_disk) == results and on_disk["kind"] == "toy"
    assert results.verdict.word == SUPPORTED and results.verdict.parts == {"learns": LEARNS}
    assert results.meta.runs == 4 and results.meta.command == f"bn-mnist toy --out {tmp_path}"
    assert results.figures == {"accuracy": "accuracy.png"} and (tmp_path / "accuracy.png").stat().st_size > 1000
    report = (tmp_path / "report.md").read_text()
    assert report.startswith("# Toy: supported") and "## Rules changed after seeing results\n\nNone." in report
    assert TOY.console(results, tmp_path) == "toy: supported"

    (tmp_path / "report.md").unlink()
    (tmp_path / "accuracy.png").unlink()
    written = pipeline.rebuild(TOY, tmp_path, on_disk)
    assert (tmp_path / "report.md").read_text() == report and {path.name for path in written} == {
        "report.md",
        "accuracy.png",
    }
