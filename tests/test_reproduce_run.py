"""`reproduce.run` end to end on a small plan this test passes in: short runs on synthetic data, trained by a real
worker process, then records, verdicts, figures and report.md made from them; a rerun reuses every run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.stats
from conftest import SHORT_BUDGET

from bn_mnist import provenance, runfiles
from bn_mnist.reproduction import claims, reproduce
from bn_mnist.reproduction.results import Results


@pytest.mark.slow  # a spawned worker process imports TensorFlow
def test_reproduce_run_on_a_small_plan(tiny_mnist, short_plan, tmp_path):
    lines = []
    results = reproduce.run(
        ("pitfall", "paper"), SHORT_BUDGET, tmp_path, log=lines.append, plan=short_plan, mnist=tiny_mnist
    )
    assert "0 of 6 runs already finished" in lines[0]
    on_disk = json.loads((tmp_path / reproduce.RESULTS_FILE).read_text())
    assert Results.from_dict(on_disk) == results and on_disk["kind"] == "reproduce" and on_disk["schema"] >= 1
    assert {c.scope for c in [*results.numbers, *results.remarks]} == {"pitfall", "paper"}
    assert len(results.numbers) == 3 and len(results.remarks) == 2 + len(claims.paper_claims())
    for number in results.numbers:  # the verdict from the report's definition, worked out here with NumPy and SciPy
        ours = np.round(next(iter(number.values.values())), 4)
        half = scipy.stats.t.ppf(0.95, 1) * np.std(ours, ddof=1) * np.sqrt(1 + 1 / 2)
        low, high = ours.mean() - half, ours.mean() + half
        inside, seen = low <= number.published <= high, ours.min() <= number.published <= ours.max()
        expected = (
            "TYPICAL" if inside else "NOT REPRODUCED" if not seen else "LUCKY" if number.published > high else "UNLUCKY"
        )
        assert number.n == 2 and number.verdict == expected, number
    for remark in results.remarks:
        assert remark.n == 2 and remark.k == sum(remark.holds)
    assert results.meta.runs == 6 and set(results.figures) == {"paper"}
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
    report = (tmp_path / reproduce.REPORT_FILE).read_text()
    assert "## Lesson: the inference pitfall" in report and "](paper.png)" in report
    assert (tmp_path / "paper.png").read_bytes()[:4] == b"\x89PNG"

    again = []
    reproduce.run(("pitfall", "paper"), SHORT_BUDGET, tmp_path, log=again.append, plan=short_plan, mnist=tiny_mnist)
    assert "6 of 6 runs already finished" in again[0]
