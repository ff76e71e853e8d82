"""The tutorial's claims over synthetic records: which become numbers and which properties, how repeated rows are
counted once, and checks that fail when the numbers are wrong."""

from __future__ import annotations

from bn_mnist.lab import stats
from bn_mnist.reproduction import claims
from bn_mnist.reproduction.experiments import LESSON


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
            }
        )
    if no_bn_max is not None:
        record["no_bn.max_val"] = no_bn_max
    return record


def test_a_published_failure_is_a_property_and_a_learned_run_a_number():
    assert isinstance(claims.published("s", "src", "no BN: final", "no_bn.val", 0.0986), claims.Remark)
    assert isinstance(claims.published("s", "src", "BN: final", "bn.val", 0.9832), claims.Number)


def test_about_means_half_to_twice():
    assert claims.about(250, 500) and claims.about(1000, 500)
    assert not claims.about(249, 500) and not claims.about(1001, 500) and not claims.about(None, 500)


def test_rows_4_and_5_crash_remark_over_seeds():
    """Rows 4/5 share runs: their repeated remarks and failed numbers are one claim each."""
    crashed = lesson_record(0, 0.985, 0.0958, no_bn_max=0.96)
    never = lesson_record(1, 0.984, 0.0958, no_bn_max=0.0958)
    judged = claims.judge({"lesson/good-lr1-relu": [crashed, crashed, never]})
    crash = next(r for r in judged.remarks if r.rule == "no BN reaches >= 0.5, then ends <= 0.15")
    assert (crash.k, crash.n, crash.verdict, crash.source) == (2, 3, stats.USUALLY, "Lesson rows 4 and 5")
    failed = [r for r in judged.remarks if r.rule == "no BN: final validation accuracy <= 0.15"]
    assert len(failed) == 1 and failed[0].verdict == stats.ALWAYS and failed[0].source == "Lesson rows 4, 5"
    bn_finals = [n for n in judged.numbers if n.what == "BN: final validation accuracy"]
    assert [n.published for n in bn_finals] == [0.9844, 0.9840]  # two published draws, one distribution each


def test_rows_13_and_17_are_one_experiment_with_two_published_outcomes():
    seeds = [
        lesson_record(s, v, 0.1135, bn_reach90=30_000 if v > 0.9 else None)
        for s, v in enumerate((0.93, 0.10, 0.80, 0.10, 0.92))
    ]
    judged = claims.judge({"lesson/bad-lr1-relu": seeds})
    learns = next(r for r in judged.remarks if r.source == "Lesson rows 13 and 17")
    assert (learns.k, learns.n, learns.verdict) == (3, 5, stats.USUALLY)
    assert not [n for n in judged.numbers if n.source == "Lesson row 17" and n.what.startswith("BN")]
    late = next(r for r in judged.remarks if "30,000" in r.rule)
    assert late.holds == [True, False, False, False, True]


def test_a_published_number_is_judged_against_our_seeds():
    seeds = [lesson_record(s, v, 0.97) for s, v in enumerate((0.980, 0.982, 0.984, 0.979, 0.983))]
    judged = claims.judge({"lesson/good-lr0.01-relu": seeds})
    bn_val = next(n for n in judged.numbers if n.what == "BN: final validation accuracy")
    assert bn_val.published == 0.9832 and bn_val.verdict == stats.TYPICAL and bn_val.n == 5
    assert bn_val.values == {
        "bn.val": [0.980, 0.982, 0.984, 0.979, 0.983],
        "bn.val_last3": [0.980, 0.982, 0.984, 0.979, 0.983],
    }
    far = claims.judge({"lesson/good-lr0.01-relu": [lesson_record(s, 0.90 + s / 1000, 0.97) for s in range(5)]})
    assert next(n for n in far.numbers if n.what == "BN: final validation accuracy").verdict == stats.NOT_REPRODUCED


def test_claims_cover_every_lesson_setting_and_only_scopes_with_records_are_judged():
    scopes = {claim.scope for claim in claims.all_claims()}
    assert scopes == {"conv", "pitfall", "paper", *(f"lesson/{row.setting}" for row in LESSON)}
    judged = claims.judge({"lesson/good-lr0.01-relu": [lesson_record(0, 0.98, 0.97, 500, 3000)]})
    assert {c.scope for c in judged.numbers + judged.remarks} == {"lesson/good-lr0.01-relu"}
