"""`reproduce.run` end to end on a small plan this test passes in: short runs on synthetic data, trained by a real
worker process, then records, verdicts, figures and report.md made from them; a rerun reuses every run."""

from __future__ import annotations

import json

import pytest

from bn_mnist import runfiles
from bn_mnist.reproduction import claims, reproduce


@pytest.mark.slow  # a spawned worker process imports TensorFlow
def test_reproduce_run_on_a_small_plan(tiny_mnist, short_plan, tmp_path):
    lines = []
    results = reproduce.run(("pitfall", "paper"), 2, tmp_path, log=lines.append, specs=short_plan, mnist=tiny_mnist)
    assert "0 of 6 runs already finished" in lines[0]
    on_disk = json.loads((tmp_path / reproduce.RESULTS_FILE).read_text())
    assert on_disk["numbers"] == json.loads(json.dumps(results["numbers"]))
    assert {c["scope"] for c in results["numbers"] + results["remarks"]} == {"pitfall", "paper"}
    assert len(results["numbers"]) == 3 and len(results["remarks"]) == 2 + len(claims.paper_claims())
    for number in on_disk["numbers"]:
        assert {"published", "percentile", "interval", "mean", "sd", "n", "verdict"} <= set(number)
        assert number["n"] == 2 and number["verdict"] in claims.NUMBER_VERDICTS
    for remark in on_disk["remarks"]:
        assert {"fraction", "wilson_95", "verdict"} <= set(remark) and remark["n"] == 2
    assert results["meta"]["runs"] == 6 and set(results["figures"]) == {"paper"}
    for spec in short_plan:
        summary = runfiles.RunSummary.read(tmp_path / spec.key)
        assert (
            summary.steps == spec.config.train.steps == 40
            and not summary.interrupted
            and summary.execution.intra_op_threads == 1
        )
    paper = results["records"]["paper"][1]
    bn_run = runfiles.RunSummary.read(tmp_path / "paper" / "bn-seed1")
    assert paper["bn.test"] == bn_run.final_test_accuracy and paper["bn.drift"] is not None
    report = (tmp_path / reproduce.REPORT_FILE).read_text()
    assert "## Lesson: the inference pitfall" in report and "](paper.png)" in report
    assert (tmp_path / "paper.png").read_bytes()[:4] == b"\x89PNG"

    again = []
    reproduce.run(("pitfall", "paper"), 2, tmp_path, log=again.append, specs=short_plan, mnist=tiny_mnist)
    assert "6 of 6 runs already finished" in again[0]
