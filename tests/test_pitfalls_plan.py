"""`pitfalls`' plan, rules and read-outs, without training: what each arm changes, every verdict each rule can give,
and a run's measures as the analysis reads them."""

from __future__ import annotations

import itertools

import pytest
from click.testing import CliRunner

from bn_mnist.cli import main
from bn_mnist.core import runfiles
from bn_mnist.core.config import to_dict
from bn_mnist.lab.runs import RunFiles
from bn_mnist.lab.stats import PairedEffect
from bn_mnist.lab.study import choose
from bn_mnist.lab.verdicts import FAILS, HOLDS, INCONCLUSIVE, NOT_SUPPORTED, PARTLY, SUPPORTED, UNDECIDED, WORDS, Share
from bn_mnist.studies.pitfalls import PITFALLS, analysis, claims, experiments
from bn_mnist.studies.pitfalls.experiments import BUDGETS


def flat(raw: dict, prefix: str = "") -> dict:
    found = {}
    for key, value in raw.items():
        found |= flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value}
    return found


CHANGES = {  # pitfall -> the config keys its arms may change against its first arm
    "frozen": set(),
    "lag": {"bn.momentum", "train.steps", "train.eval_every", "train.log_every", "train.lr_drop_at"},
    "batch": set(),
    "non_iid": {"data.classes_per_batch", "bn.renorm", "bn.renorm_clipping.rmax", "bn.renorm_clipping.rmin"}
    | {"bn.renorm_clipping.dmax", "bn.kind"},
    "dropout": {"model.dropout", "model.dropout_at"},
    "precision": {"model.precision", "bn.impl", "bn.statistics_dtype", "bn.epsilon", "data.pixel_max"},
}


@pytest.mark.parametrize("quick", [True, False])
def test_each_pitfalls_arms_differ_only_in_what_they_are_about(quick):
    plan = experiments.plan(PITFALLS, choose(BUDGETS, None, quick))
    seeds = 2 if quick else 10
    assert len(plan) == seeds * sum(len(experiments.BY_NAME[name].arms) for name in PITFALLS)
    specs = {spec.key: spec for spec in plan.specs()}
    for name in PITFALLS:
        arms = experiments.BY_NAME[name].arms
        for seed in range(seeds):
            first = flat(to_dict(specs[plan.key(name, arms[0].key, seed)].config))
            assert first["seed"] == seed and first["model.arch"] == "fc" and first["train.learning_rate"] == 0.1
            for arm in arms[1:]:
                other = flat(to_dict(specs[plan.key(name, arm.key, seed)].config))
                assert {key for key in first if first[key] != other[key]} <= CHANGES[name], (name, arm.key)


def test_the_lag_pitfalls_short_runs_are_a_twentieth_and_its_drop_half_way():
    plan = experiments.plan(("lag",), choose(BUDGETS, 1, quick=False))
    configs = {spec.key.split("/")[1].rsplit("-", 1)[0]: spec.config for spec in plan.specs()}
    assert configs["m0.99_short"].train.steps == 100 and configs["m0.99"].train.steps == 2000
    assert configs["m0.99_short"].train.eval_every == 10  # evaluated as often: ten times
    assert configs["m0.99_drop"].train.lr_drop_at == 1900 and configs["m0.99_drop"].train.lr_drop_factor == 0.1
    assert [configs[key].bn.momentum for key in ("m0.9_short", "m0.99_short", "m0.999_short")] == [0.9, 0.99, 0.999]
    assert [configs[key].bn.momentum for key in ("m0.9", "m0.99", "m0.999", "m0.99_drop")] == [0.9, 0.99, 0.999, 0.99]


def effect(low: float, high: float) -> PairedEffect:
    return PairedEffect(10, (low + high) / 2, (low, high), 0.01)


def part_found(part, word: str):
    """Numbers that give `part` the word: an interval on the side that makes it hold or fail, or across; an
    invariant in every seed, missing in one, or measured in one seed only."""
    if isinstance(part, Share):
        return {HOLDS: [True] * 10, FAILS: [True] * 9 + [False], UNDECIDED: [True, None]}[word]
    m = part.high
    if part.within == HOLDS:
        return {HOLDS: effect(-m / 2, m / 2), FAILS: effect(2 * m, 3 * m)}.get(word, effect(0, 2 * m))
    return {HOLDS: effect(2 * m, 3 * m), FAILS: effect(-m, m / 2)}.get(word, effect(0, 2 * m))


PART_WORDS = (HOLDS, FAILS, UNDECIDED)


@pytest.mark.parametrize("name", PITFALLS)
def test_every_verdict_of_every_rule_is_reachable(name):
    rule, reached = claims.RULES[name], set()
    for words in itertools.product(PART_WORDS, repeat=len(rule.parts)):
        found = {part.name: part_found(part, word) for part, word in zip(rule.parts, words)}
        verdict = rule.judge(found)
        assert list(verdict.parts.values()) == list(words)
        reached.add(verdict.word)
    assert reached == set(WORDS)


def test_the_verdict_policy():
    rule = claims.RULES["batch"]

    def word(*words: str) -> str:
        return rule.policy.word(dict(zip((part.name for part in rule.parts), words)))

    H, F, U = HOLDS, FAILS, UNDECIDED
    assert word(H, H, H) == SUPPORTED
    assert word(F, H, H) == NOT_SUPPORTED  # the failure is not there
    assert word(H, F, H) == PARTLY  # a fix fails
    assert word(H, F, U) == INCONCLUSIVE  # a part the seeds cannot decide
    assert word(U, H, H) == INCONCLUSIVE
    missing = PairedEffect(10, 0.5, None, None)  # tied differences: no interval
    assert claims.RULES["lag"].parts[0].word(missing) == UNDECIDED


def test_every_rule_names_arms_and_measures_its_pitfall_has():
    measured = {"val_accuracy", "train_accuracy", "overstatement", "variance_shift_decades", "batch_change"}
    measured |= {
        "training_mode_accuracy",
        "alone_inference_accuracy",
        "batch_of_one_accuracy",
        "inference_batch_change",
    }
    measured |= {f"recomputed_accuracy_{n}" for n in experiments.RECOMPUTE_BATCHES}
    measured |= {"class_batch_training_accuracy", "class_batch_inference_accuracy", "frozen_statistics_kept"}
    measured |= {"recomputed_without_dropout_accuracy"}
    measured |= {f"finetune_{r}_accuracy" for r in experiments.REGIMES} | {f"gap_{r}" for r in experiments.REGIMES}
    for name, rule in claims.RULES.items():
        arms = {arm.key for arm in experiments.BY_NAME[name].arms}
        for part in rule.parts:
            pairs = [part.first, part.second] if isinstance(part, claims.Difference) else [(part.arm, part.measure)]
            assert all(arm in arms and measure in measured for arm, measure in pairs), (name, part.name)
    assert set(claims.RULES) == set(PITFALLS)


def test_a_runs_measures_are_its_outcome_and_its_probes_last_values():
    summary = runfiles.RunSummary.from_dict(
        {
            "bn": True,
            "bn_impl": "keras",
            "moving_stats_updated": True,
            "arch": "fc",
            "seed": 0,
            "jit": True,
            "steps": 40,
            "train_seconds": 1.0,
            "steps_per_second": 40.0,
            "diverged_at_step": None,
            "interrupted": False,
            "final_train_accuracy": 0.99,
            "compile_seconds": 1.0,
            "final_val_accuracy": 0.25,
            "final_test_accuracy": 0.25,
            "single_sample_accuracy": 0.3,
        }
    )
    last = {"step": 40, "pitfall/training_mode_accuracy": 0.9, "pitfall/class_batch_training_accuracy": 0.9}
    last |= {"pitfall/class_batch_inference_accuracy": 0.6, "variance_shift/dense01": 5.0}
    last |= {"variance_shift/dense02": 10.0, "variance_shift/dense03": 1000.0}
    last |= {"statistics_gap_before/dense01": 1.0, "statistics_gap_before/dense02": 2.0}
    last |= {"statistics_gap_frozen/dense01": 1.0, "statistics_gap_frozen/dense02": 2.0}
    last |= {"pitfall/recomputed_accuracy_1": 0.5, "pitfall/recomputed_accuracy_3": 0.896}
    last |= {"pitfall/recomputed_accuracy_10": 0.8, "pitfall/recomputed_accuracy_30": 0.91}
    last |= {"pitfall/recomputed_accuracy_100": 0.9}
    metrics = [{"step": 20, "pitfall/training_mode_accuracy": 0.5}, last]
    found = analysis.run_measures(RunFiles(summary, metrics))
    assert found["training_mode_accuracy"] == 0.9 and found["val_accuracy"] == 0.25 and found["diverged"] == 0.0
    assert found["overstatement"] == pytest.approx(0.3)  # training mode minus inference on the class batches
    assert found["variance_shift_decades"] == pytest.approx(2.0)  # log10 10 and 1000: the first layer left out
    assert found["gap_frozen"] == pytest.approx(1.5) and "gap_adabn" not in found
    assert found["frozen_statistics_kept"] == 1.0 and found["variance_shift/dense02"] == 10.0
    assert found["batches_enough"] == 3.0  # the first within 0.005 of the 100 batches' accuracy
    last["statistics_gap_frozen/dense02"] = 2.0000001
    assert analysis.run_measures(RunFiles(summary, metrics))["frozen_statistics_kept"] == 0.0


def test_pitfalls_help_names_them_and_an_unknown_one_is_one_line():
    result = CliRunner().invoke(main, ["pitfalls", "--help"])
    assert result.exit_code == 0 and all(name in result.output for name in PITFALLS)
    wrong = CliRunner().invoke(main, ["pitfalls", "frozn"])
    assert wrong.exit_code == 2 and "'frozn' is not one of" in wrong.output
