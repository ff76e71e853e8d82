"""Published claims as rules: verdicts over seeds, tolerances, and rules that fail when the numbers are wrong."""

from __future__ import annotations

import pytest

from bn_mnist.reproduction import claims
from bn_mnist.reproduction.experiments import LESSON


@pytest.mark.parametrize(
    ("holds", "expected"),
    [([True, True, True], "PASS"), ([False, False], "FAIL"), ([True, False, True], "MIXED (2/3)"), ([True], "PASS")],
)
def test_verdict(holds, expected):
    assert claims.verdict(holds) == expected


def test_final_rule_for_a_run_that_failed_and_for_one_that_learned():
    failed = claims.final_rule("s", "src", "no_bn", "val", 0.0986, "validation accuracy")
    assert failed.holds({"no_bn.val": 0.1135}) and not failed.holds({"no_bn.val": 0.2})
    learned = claims.final_rule("s", "src", "bn", "val", 0.9832, "validation accuracy")
    assert learned.holds({"bn.val": 0.9650}) and not learned.holds({"bn.val": 0.9600})
    slow = claims.final_rule("s", "src", "bn", "val", 0.7946, "validation accuracy")  # below 0.9: 0.05 either way
    assert slow.holds({"bn.val": 0.8400}) and not slow.holds({"bn.val": 0.8500})
    assert not learned.holds({"bn.val": None})


def lesson_record(bn_val, no_bn_val, bn_reach90=500, no_bn_reach90=None, diverged=None):
    record = {"seed": 0}
    for net, val, reach90 in (("bn", bn_val, bn_reach90), ("no_bn", no_bn_val, no_bn_reach90)):
        record.update(
            {
                f"{net}.val": val,
                f"{net}.test": val,
                f"{net}.reach80": reach90,
                f"{net}.reach90": reach90,
                f"{net}.diverged_at_step": None,
                f"{net}.max_val": val,
                f"{net}.single": None,
            }
        )
    record["no_bn.diverged_at_step"] = diverged
    return record


def verdicts_of(judged, scope):
    return {v["rule"]: v["verdict"] for v in judged if v["scope"] == scope}


def test_judge_reads_each_rows_records_and_counts_seeds():
    good = {**lesson_record(0.98, 0.0958, diverged=1234), "no_bn.max_val": 0.96}
    collapsed = lesson_record(0.0986, 0.0958, bn_reach90=None, diverged=800)  # no BN never learned
    judged = claims.judge({"lesson-4": [good, good, collapsed], "lesson-17": [good, good, collapsed]})
    row4, row17 = verdicts_of(judged, "lesson-4"), verdicts_of(judged, "lesson-17")
    assert row4 == {
        "no BN: final validation accuracy <= 0.15": "PASS",
        "BN: final validation accuracy within 0.02 of 0.9844": "MIXED (2/3)",
        "no BN learns (validation >= 0.5 at some evaluation), then collapses to <= 0.15": "MIXED (2/3)",
    }
    assert row17 == {
        "no BN: final validation accuracy <= 0.15": "PASS",  # both published <= 0.15 in row 17
        "BN: final validation accuracy <= 0.15": "MIXED (1/3)",
    }
    numbers = next(v["numbers"] for v in judged if v["scope"] == "lesson-4" and "collapses" in v["rule"])
    assert numbers == {
        "no_bn.max_val": [0.96, 0.96, 0.0958],
        "no_bn.val": [0.0958] * 3,
        "no_bn.diverged_at_step": [1234, 1234, 800],
    }


def test_every_rule_is_judged_only_where_its_scope_has_records():
    judged = claims.judge({"lesson-1": [lesson_record(0.98, 0.97, bn_reach90=500, no_bn_reach90=3000)]})
    assert {v["scope"] for v in judged} == {"lesson-1"} and all(v["verdict"] == "PASS" for v in judged)
    late = claims.judge({"lesson-1": [lesson_record(0.98, 0.97, bn_reach90=1500, no_bn_reach90=3000)]})
    assert [v["verdict"] for v in late] == ["PASS", "PASS", "FAIL"]  # BN must pass 90% by step 1,000
    scopes = {rule.scope for rule in claims.all_rules()}
    assert scopes == {"conv", "pitfall", "paper", *(f"lesson-{row.row}" for row in LESSON)}
