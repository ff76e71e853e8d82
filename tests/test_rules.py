"""Rules as data (lab/verdicts.py): each part's word from hand-set intervals and seed counts, policies that take
their first clause that holds, rules judged per panel, and rule texts that name every word a rule can give."""

from __future__ import annotations

import pytest

from bn_mnist.lab.stats import PairedEffect, judge_fraction
from bn_mnist.lab.verdicts import (
    AGREE,
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    NOT_SUPPORTED,
    PARTLY,
    SUPPORTED,
    UNDECIDED,
    Fraction,
    Paired,
    Rule,
    Share,
    every,
    no,
    some,
    verdict_policy,
)


def effect(low: float, high: float) -> PairedEffect:
    return PairedEffect(10, (low + high) / 2, (low, high), 0.01)


@pytest.mark.parametrize(
    ("interval", "word"),
    [
        ((0.02, 0.05), "above"),  # wholly above +0.01
        ((-0.005, 0.008), "within"),  # inside +-0.01
        ((-0.05, -0.02), "below"),  # wholly below -0.01
        ((0.0, 0.02), UNDECIDED),  # across +0.01
        ((-0.02, 0.02), UNDECIDED),  # across both bounds
        ((0.01, 0.03), UNDECIDED),  # on the bound: strictly above is needed
        (None, UNDECIDED),  # tied differences: no interval
    ],
)
def test_a_paired_part_places_its_interval_against_the_band(interval, word):
    part = Paired("p", "a minus b", "above", "within", "below")
    found = None if interval is None else effect(*interval)
    assert part.word(PairedEffect(10, 0.0, None, None) if found is None else found) == word
    assert part.word(None) == UNDECIDED


def test_a_one_bound_part_has_no_within_and_a_missing_word_is_undecided():
    one_bound = Paired("p", "a minus b", HOLDS, None, FAILS, 0.01, 0.01)  # above +0.01 / below +0.01
    assert [one_bound.word(effect(*bounds)) for bounds in ((0.02, 0.03), (-0.5, 0.005), (0.0, 0.02))] == [
        HOLDS,
        FAILS,
        UNDECIDED,
    ]
    only_above = Paired("p", "a minus b", above="up")
    assert only_above.word(effect(-0.05, -0.02)) == UNDECIDED


def test_a_fraction_decides_only_when_its_wilson_interval_clears_one_half():
    part = Fraction("f", "it learns", "yes", "no")
    words = [part.word(judge_fraction([True] * k + [False] * (10 - k))) for k in range(11)]
    assert words == ["no"] * 2 + [UNDECIDED] * 7 + ["yes"] * 2  # Wilson: 1/10 is 0.02..0.40, 9/10 0.60..0.98
    assert part.word(None) == UNDECIDED


def test_an_invariant_holds_in_every_seed_measured_and_needs_two():
    part = Share("s", "arm", "measure", 1.0)
    assert part.word([True, True, None]) == HOLDS
    assert part.word([True, False]) == FAILS
    assert part.word([True, None]) == UNDECIDED and part.word(None) == UNDECIDED


def test_a_policy_gives_its_first_clause_that_holds():
    policy = verdict_policy(
        supported=every("good"),
        partly=(some("good"), no("bad")),
        not_supported=[(every("bad", of=("x",)),), (every("bad", of=("y",)),)],  # either part bad
    )
    assert policy.word({"x": "good", "y": "good"}) == SUPPORTED
    assert policy.word({"x": "good", "y": UNDECIDED}) == PARTLY
    assert policy.word({"x": "good", "y": "bad"}) == NOT_SUPPORTED  # some good, but y is bad: the last clause
    assert policy.word({"x": UNDECIDED, "y": UNDECIDED}) == INCONCLUSIVE  # no clause holds
    assert policy.word({"y": "good"}) == SUPPORTED  # every part judged (x had no number, so it has no word)
    named = verdict_policy(supported=every("good", of=("x", "y")))
    assert named.word({"y": "good"}) == INCONCLUSIVE  # a part named but not judged is undecided, never good
    assert policy.word({}) == SUPPORTED  # every one of no parts (a study with none is judged so by design)


def test_a_rule_per_panel_words_each_panel_and_agrees_across():
    rule = Rule(
        "claim",
        (Paired("gap", "a minus b", "above", "within", "below"),),
        verdict_policy(supported=every("above"), not_supported=every("below")),
        per="panel",
        across=AGREE,
    )
    verdict = rule.judge({"one": {"gap": effect(0.02, 0.03)}, "two": {"gap": effect(-0.03, -0.02)}})
    assert verdict.parts == {"one": SUPPORTED, "one: gap": "above", "two": NOT_SUPPORTED, "two: gap": "below"}
    assert verdict.word == PARTLY  # they disagree, and one panel supports it
    same = rule.judge({"one": {"gap": effect(0.02, 0.03)}, "two": {"gap": effect(0.05, 0.06)}})
    assert same.word == SUPPORTED and same.claim == "claim" and same.rule == rule.text()


def test_agreement_across_panels():
    words = {("s", "s"): SUPPORTED, ("n", "n"): NOT_SUPPORTED, ("s", "n"): PARTLY, ("p", "i"): PARTLY}
    names = {"s": SUPPORTED, "n": NOT_SUPPORTED, "p": PARTLY, "i": INCONCLUSIVE}
    for (a, b), word in words.items():
        assert AGREE.word({"1": names[a], "2": names[b]}) == word
    assert AGREE.word({"1": NOT_SUPPORTED, "2": INCONCLUSIVE}) == INCONCLUSIVE


def rule_words(rule: Rule) -> set[str]:
    """Every word a rule's parts and policies can give."""
    found = {UNDECIDED, rule.policy.otherwise, *(clause.word for clause in rule.policy.clauses)}
    for part in rule.parts:
        found |= {getattr(part, name, None) for name in ("above", "within", "below")} - {None}
    if rule.across is not None:
        found |= {rule.across.otherwise, *(clause.word for clause in rule.across.clauses)}
    return {word for word in found if word}


def every_rule() -> list[Rule]:
    from bn_mnist.studies.explain.study import PARTS
    from bn_mnist.studies.pitfalls.claims import RULES

    return [rule for part in PARTS.values() for rule in part.rules] + list(RULES.values())


@pytest.mark.parametrize("rule", every_rule(), ids=lambda rule: rule.claim[:40])
def test_every_rule_text_names_the_words_it_can_give(rule):
    text = rule.text()
    assert all(word in text for word in rule_words(rule)), [w for w in rule_words(rule) if w not in text]
    assert all(part.name in text for part in rule.parts)
