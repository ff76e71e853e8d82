"""`reproduce.run` end to end on a small plan this test passes in: short runs on synthetic data, trained by a real
worker process, then records, verdicts, figures and report.md made from them; a rerun reuses every run."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bn_mnist.reproduction import claims, reproduce
from bn_mnist.reproduction.experiments import plan
from bn_mnist.training import runlog

SHORT = {"steps": 40, "eval_every": 2, "log_every": 2}  # 20 evaluations after step 0: the paper's drift windows


def short_plan():
    return [
        dataclasses.replace(
            spec, config=dataclasses.replace(spec.config, train=dataclasses.replace(spec.config.train, **SHORT))
        )
        for spec in plan(("pitfall", "paper"), range(1), quick=True)
    ]


@pytest.mark.slow  # a spawned worker process imports TensorFlow
def test_reproduce_run_on_a_small_plan(tiny_mnist, tmp_path):
    lines = []
    results = reproduce.run(
        ("pitfall", "paper"), 1, tmp_path, workers=1, log=lines.append, specs=short_plan(), mnist=tiny_mnist
    )
    assert "0 of 3 runs already finished" in lines[0]
    on_disk = json.loads((tmp_path / reproduce.RESULTS_FILE).read_text())
    assert on_disk["verdicts"] == json.loads(json.dumps(results["verdicts"]))
    assert {v["scope"] for v in results["verdicts"]} == {"pitfall", "paper"}
    assert len(results["verdicts"]) == len(claims.pitfall_rules()) + len(claims.paper_rules())
    assert results["meta"]["runs"] == 3 and set(results["figures"]) == {"paper"}
    for spec in short_plan():
        summary = runlog.RunSummary.read(tmp_path / spec.key)
        assert summary.steps == SHORT["steps"] and not summary.interrupted
    paper = results["records"]["paper"][0]
    bn_run = runlog.RunSummary.read(tmp_path / "lesson" / "good-lr0.01-sigmoid" / "bn-seed0")
    assert paper["bn.test"] == bn_run.final_test_accuracy and paper["bn.drift"] is not None
    report = (tmp_path / reproduce.REPORT_FILE).read_text()
    assert "## Lesson: the inference pitfall" in report and "](paper.png)" in report
    assert (tmp_path / "paper.png").read_bytes()[:4] == b"\x89PNG"

    again = []
    reproduce.run(("pitfall", "paper"), 1, tmp_path, workers=1, log=again.append, specs=short_plan(), mnist=tiny_mnist)
    assert "3 of 3 runs already finished" in again[0]
