"""The reproduction on the pipeline, end to end on a small plan this test passes in: short runs on synthetic data,
trained by a real worker process, then records, verdicts, figures and report.md made from them; a rerun reuses
every run."""

from __future__ import annotations

import json

import pytest
from conftest import SHORT_BUDGET

from bn_mnist.core import provenance, runfiles
from bn_mnist.lab import pipeline
from bn_mnist.lab.meta import REPORT_FILE, RESULTS_FILE
from bn_mnist.studies.reproduce import claims
from bn_mnist.studies.reproduce.results import Results
from bn_mnist.studies.reproduce.study import STUDY


@pytest.mark.slow  # a spawned worker process imports TensorFlow
def test_reproduce_run_on_a_small_plan(tiny_mnist, short_plan, tmp_path):
    lines = []
    results = pipeline.run(
        STUDY, ("pitfall", "paper"), SHORT_BUDGET, tmp_path, log=lines.append, plan=short_plan, mnist=tiny_mnist
    )
    assert "0 of 8 runs already finished" in lines[0]  # pitfall: 2 seeds x 2 trainings; paper: 2 seeds x 2 nets
    on_disk = json.loads((tmp_path / RESULTS_FILE).read_text())
    assert Results.from_dict(on_disk) == results and on_disk["kind"] == "reproduce" and on_disk["schema"] >= 1
    judged = [*results.outcomes, *results.numbers, *results.remarks]
    assert {c.scope for c in judged} == {"pitfall", "paper"}
    assert len(results.outcomes) == 3 and len(results.remarks) == 1 + len(claims.paper_claims())  # 2 trainings, 1 point
    assert [o.final for o in results.outcomes] == [True, False, True]
    pitfall = results.records["pitfall"]
    for number in results.numbers:  # the rank test's counts, worked out here from the per-seed records
        ours = [r[number.key] for r in pitfall if number.given is None or r[number.given] > 0.15]
        published = round(number.test.published, 4)
        assert number.test.at_or_above == sum(round(v, 4) >= published for v in ours)
        assert number.test.n == len(ours) <= 2 and number.verdict == "TOO FEW", number
    for remark in results.remarks:
        assert remark.test.n == 2 and remark.test.k == sum(remark.holds)
    assert results.meta.runs == 8 and set(results.figures) == {"paper"}
    assert results.meta.code == provenance.current() and results.meta.other_code_runs == []
    for spec in short_plan.specs():
        summary = runfiles.RunSummary.read(tmp_path / spec.key)
        assert (
            summary.steps == spec.config.train.steps == 40
            and not summary.interrupted
            and summary.execution.intra_op_threads == 1
        )
    paper = results.records["paper"][1]
    bn_run = runfiles.RunSummary.read(tmp_path / "paper" / "bn-seed1")
    assert paper["bn.test"] == bn_run.final_test_accuracy and paper["bn.drift"] is not None
    report = (tmp_path / REPORT_FILE).read_text()
    assert "## Lesson: the inference pitfall" in report and "](paper.png)" in report
    assert (tmp_path / "paper.png").read_bytes()[:4] == b"\x89PNG"

    again = []
    pipeline.run(
        STUDY, ("pitfall", "paper"), SHORT_BUDGET, tmp_path, log=again.append, plan=short_plan, mnist=tiny_mnist
    )
    assert "8 of 8 runs already finished" in again[0]
