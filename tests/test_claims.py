"""The tutorial's claims judged over synthetic records: a published run's outcome apart from its values, values of
a run that learned among our runs that learned, repeated rows as separate draws, and the measured meaning of the
text's words (rules.py) on hand-made curves."""

from __future__ import annotations

import numpy as np

from bn_mnist.studies.reproduce import claims, judging, ranktests, rules
from bn_mnist.studies.reproduce.experiments import LESSON

SEEDS = 20


def lesson_record(seed, bn_val, no_bn_val, bn_reach90=500, no_bn_reach90=None, no_bn_max=None):
    record = {"seed": seed}
    for net, val, reach90 in (("bn", bn_val, bn_reach90), ("no_bn", no_bn_val, no_bn_reach90)):
        record.update(
            {
                f"{net}.val": val,
                f"{net}.test": val,
                f"{net}.reach80": reach90,
                f"{net}.reach90": reach90,
                f"{net}.reach95": reach90,
                f"{net}.diverged_at_step": None,
                f"{net}.max_val": val,
                f"{net}.val_last3": val,
                f"{net}.single": None,
                f"{net}.near_max_step": 10_000,
                f"{net}.bounces": 0,
                f"{net}.wild_bounces": 0,
                f"{net}.stuck_steps": 0,
            }
        )
    if no_bn_max is not None:
        record["no_bn.max_val"] = no_bn_max
    return record


def judged_row(setting, seeds):
    return judging.judge({f"lesson/{setting}": seeds})


def test_a_published_failure_is_an_outcome_and_a_learned_run_also_its_values():
    failed = claims.run_claims("s", "src", "no BN", "no_bn", {"val": 0.0986, "test": 0.1010})
    learned = claims.run_claims("s", "src", "BN", "bn", {"val": 0.9832, "test": 0.9803, "val@100": 0.1126})
    assert [type(c) for c in failed] == [claims.Outcome] and not failed[0].learned
    assert failed[0].unjudged == ("final test accuracy 0.101",)  # listed, not judged
    assert [type(c) for c in learned] == [claims.Outcome, claims.Number, claims.Number, claims.Outcome]
    assert all(c.given == "bn.val" for c in learned[1:3])
    point = learned[3]  # a point before the run learned: which class a net that has not learned predicts
    assert (point.key, point.final, point.learned) == ("bn.val@100", False, False)


def test_failed_runs_tie_in_the_report_wide_ranks():
    """Which class a dead net predicts (0.0958 or 0.1135) is no luck: every failure ranks as one value."""
    assert ranktests.on_outcome_scale(0.0958) == ranktests.on_outcome_scale(0.1135) == ranktests.FAILED
    rng = np.random.default_rng(0)
    spread = [ranktests.randomized_rank(0.0958, [0.1135] * 10 + [0.98] * 10, rng) for _ in range(2000)]
    assert min(spread) == 0 and max(spread) == 10  # anywhere among the tied failures, not below all of them


def test_rows_13_and_17_are_two_published_draws_of_one_setting():
    """Row 13's BN learned and row 17's did not: each outcome against how many of ours share it; row 13's values
    among our runs that learned, too few of them to flag anything."""
    fails = {3, 8, 15}
    seeds = [
        lesson_record(s, 0.10 if s in fails else 0.93, 0.1135, None if s in fails else 30_000) for s in range(SEEDS)
    ]
    judged = judged_row("bad-lr1-relu", seeds)
    bn = {o.source: o for o in judged.outcomes if o.what.startswith("BN")}
    assert (bn["Lesson row 13"].test.k, bn["Lesson row 17"].test.k) == (17, 3)
    assert bn["Lesson row 13"].verdict == bn["Lesson row 17"].verdict == ranktests.CONSISTENT
    value = next(n for n in judged.numbers if n.source == "Lesson row 13" and n.what == "BN: final validation accuracy")
    assert value.test.n == 17 and value.verdict == ranktests.TOO_FEW and value.given == "bn.val"
    never = judged_row("bad-lr1-relu", [lesson_record(s, 0.93, 0.1135, 30_000) for s in range(SEEDS)])
    row17 = next(o for o in never.outcomes if o.source == "Lesson row 17" and o.what.startswith("BN"))
    assert (row17.test.k, row17.verdict) == (0, ranktests.RARE)


def test_a_published_number_above_all_of_ours_is_high_and_inside_them_consistent():
    seeds = [lesson_record(s, 0.975 + s / 2000, 0.97) for s in range(SEEDS)]  # 0.9750 .. 0.9845
    judged = judged_row("good-lr0.01-relu", seeds)
    bn_val = next(n for n in judged.numbers if n.what == "BN: final validation accuracy")
    assert bn_val.test.published == 0.9832 and bn_val.verdict == ranktests.CONSISTENT and bn_val.test.n == SEEDS
    low = judged_row("good-lr0.01-relu", [lesson_record(s, 0.95 + s / 2000, 0.97) for s in range(SEEDS)])
    assert next(n for n in low.numbers if n.what == "BN: final validation accuracy").verdict == ranktests.HIGH


def test_every_p_value_is_adjusted_together():
    judged = judged_row("good-lr0.01-relu", [lesson_record(s, 0.95 + s / 2000, 0.97) for s in range(SEEDS)])
    tests = [*judged.outcomes, *judged.numbers, *judged.remarks]
    adjusted = ranktests.benjamini_hochberg([t.test.p for t in tests])
    assert [t.adjusted_p for t in tests] == adjusted


def test_the_words_of_the_text_as_measured():
    steps = list(range(0, 10_000, 500))
    bouncing = [0.1, 0.6, 0.9, 0.85, 0.9, 0.87, 0.95, 0.7, 0.96, 0.95] + [0.96] * 10
    assert rules.drops(bouncing, rules.BOUNCE) == 3 and rules.drops(bouncing, rules.WILD_BOUNCE) == 1
    assert rules.drops([0.1, 0.05, 0.12, 0.02] + [0.1] * 16, rules.BOUNCE) == 0  # before learning: no level to drop
    assert rules.near_max_step(steps, bouncing) == 4000  # 0.95 within 0.005 of the best 0.96
    slow = [0.5, 0.88, 0.89, 0.9] + [0.91] * 16
    assert rules.stuck_steps(steps, slow) == 9000  # from 500 to the end at 9,500
    assert rules.stuck_steps(steps, [0.5, 0.88, 0.93] + [0.95] * 17) == 500
    assert rules.stuck_steps(steps, [0.5] * 20) == 0
    assert rules.about(250, 500) and rules.about(1000, 500) and not rules.about(249, 500) and not rules.about(None, 5)
    assert rules.or_more(15_000, 30_000) and rules.or_more(None, 30_000) and not rules.or_more(14_500, 30_000)


def test_row_3_says_its_text_disagrees_with_its_own_figure():
    remark = next(r for r in claims.lesson_remarks() if r.source == "Lesson row 3" and "one thousand" in r.said)
    assert "disagrees with its figure" in remark.note
    assert claims.lesson_figures()[3]["reach"]["bn"]["0.9"] > 2 * 1000  # outside "about 1,000" by the rule


def test_claims_cover_every_lesson_setting_and_only_scopes_with_records_are_judged():
    scopes = {claim.scope for claim in claims.all_claims()}
    assert scopes == {"conv", "pitfall", "paper", *(f"lesson/{row.setting}" for row in LESSON)}
    judged = judged_row("good-lr0.01-relu", [lesson_record(0, 0.98, 0.97, 500, 3000)])
    assert {c.scope for c in [*judged.outcomes, *judged.numbers, *judged.remarks]} == {"lesson/good-lr0.01-relu"}
    assert all(c.verdict == ranktests.TOO_FEW for c in [*judged.outcomes, *judged.numbers])  # one seed
