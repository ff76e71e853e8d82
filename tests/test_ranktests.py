"""The rank tests behind every reproduction verdict (ranktests.py): valid under the null by simulation at the
shipped seed count, every word reachable, power against normal theory, Benjamini-Hochberg and the report-wide
tests against hand computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from bn_mnist.studies.reproduce import ranktests
from bn_mnist.studies.reproduce.experiments import DEFAULT_SEEDS

SHIPPED = min(DEFAULT_SEEDS.values())


def test_the_shipped_seed_count_can_flag_a_value():
    assert ranktests.flag_count(SHIPPED) >= 0 and ranktests.flag_count(18) == -1  # 19 is the fewest


def test_under_the_null_no_test_flags_more_often_than_nominal():
    """Distributions shaped like ours (bounded near 1, skewed, split, tied, never reached): each test's flag
    rate is at most ALPHA within 3 Monte-Carlo SEs."""
    rates = ranktests.simulate_null(SHIPPED, trials=3000, seed=1)
    assert {r.shape for r in rates} == set(ranktests.NULL_SHAPES)
    for rate in rates:
        if rate.applied >= 500:  # where the test ran often enough to say (the split shapes: rarely)
            assert rate.rate <= ranktests.ALPHA + 3 * max(rate.mc_se, 1e-3), rate
    conditional = next(r for r in rates if r.shape == "split 3% fail" and r.test == "value")
    assert conditional.applied > 1000  # the value test given learning, where it applies
    continuous = next(r for r in rates if r.shape == "near 1, skewed" and r.test == "value")
    assert continuous.rate == pytest.approx(2 / (SHIPPED + 1), abs=4 * continuous.mc_se)  # exact for no ties


def test_a_shifted_published_value_is_flagged_as_often_as_the_power_says():
    """A run drawn from a normal like ours and shifted by the detectable shift is flagged about 80% of the time;
    for a normal at n = 20 theory gives a shift near 2.8 SD (beyond the max of 20 with probability 0.8)."""
    rng = np.random.default_rng(2)
    ours = list(np.round(0.97 + 0.005 * rng.standard_normal(SHIPPED), 4))
    shift = ranktests.detectable_shift(ours, +1)
    assert 2.0 < shift < 3.6
    sd = float(np.std(ours, ddof=1))
    flagged = [
        ranktests.value_word(
            0.97 + 0.005 * rng.standard_normal() + shift * sd, 0.97 + 0.005 * rng.standard_normal(SHIPPED)
        )[3]
        == ranktests.HIGH
        for _ in range(2000)
    ]
    assert np.mean(flagged) == pytest.approx(ranktests.POWER, abs=0.08)


@pytest.mark.parametrize(
    ("published", "word"),
    [(0.99, ranktests.HIGH), (0.90, ranktests.LOW), (0.955, ranktests.CONSISTENT), (0.95, ranktests.CONSISTENT)],
)
def test_every_value_word_is_reached(published, word):
    ours = [0.93 + 0.002 * i for i in range(SHIPPED)]  # 0.930 .. 0.968
    assert ranktests.value_test(published, ours).verdict == word


def test_ties_count_against_flagging_and_too_few_seeds_flag_nothing():
    assert (
        ranktests.value_word(0.968, [0.93 + 0.002 * i for i in range(SHIPPED)])[3] == ranktests.CONSISTENT
    )  # ties max
    assert ranktests.value_test(0.99, [0.95] * 18).verdict == ranktests.TOO_FEW
    assert ranktests.value_test(None, [500.0] * SHIPPED).verdict == ranktests.HIGH  # never: after every step


def test_outcome_and_property_words():
    assert ranktests.outcome_test(0, SHIPPED).verdict == ranktests.RARE  # p = 1/21
    assert ranktests.outcome_test(1, SHIPPED).verdict == ranktests.RARE  # p = 2/21 <= 0.10
    assert ranktests.outcome_test(2, SHIPPED).verdict == ranktests.CONSISTENT
    assert ranktests.outcome_test(0, 5).verdict == ranktests.TOO_FEW
    words = {k: ranktests.property_test([True] * k + [False] * (SHIPPED - k)).verdict for k in (0, 1, 5, 11, 20)}
    assert words == {0: "RARE", 1: "RARE", 5: "SOMETIMES", 11: "USUALLY", 20: "ALWAYS"}
    assert set(ranktests.PROPERTY_WORDS) | set(ranktests.VALUE_WORDS) | set(ranktests.OUTCOME_WORDS) == set(
        ranktests.WORDS
    )


def test_how_many_claims_one_discovery_needs():
    # the smallest p at 20 seeds is 1/21; BH's k-th smallest must be <= 0.1 k / m: k >= m / 2.1
    assert ranktests.discoveries_need(226, 20) == 108 and ranktests.discoveries_need(21, 20) == 10
    assert ranktests.benjamini_hochberg([1 / 21] * 107 + [1.0] * 119)[0] > ranktests.FDR
    assert ranktests.benjamini_hochberg([1 / 21] * 108 + [1.0] * 118)[0] <= ranktests.FDR


def test_benjamini_hochberg_by_hand():
    # sorted 0.01, 0.03, 0.04, 0.2 with m = 4: 0.04, 0.06, 0.0533, 0.2 -> step-up minimum 0.04, 0.0533, 0.0533, 0.2
    assert ranktests.benjamini_hochberg([0.01, 0.04, 0.03, 0.2]) == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.2])


def test_the_calibration_test_is_the_poisson_binomial_tail():
    ranks = [(0, 20)] * 7 + [(10, 20)] * 22  # 7 of 29 below all of 20; each has chance 2/21 of a tail
    found = ranktests.tail_count_test(ranks)
    assert found.statistic == 7 and found.expected == pytest.approx(29 * 2 / 21)
    assert found.p == pytest.approx(scipy_stats.binom.sf(6, 29, 2 / 21))


def test_the_shift_test_sees_runs_that_sit_high_and_not_centred_ones():
    high = ranktests.shift_test([(18, 20)] * 12)
    centred = ranktests.shift_test([(10, 20)] * 12)
    assert high.p < 0.001 and high.statistic == pytest.approx(0.4) and centred.p == pytest.approx(1.0)


def test_randomized_ranks_are_uniform_under_ties():
    rng = np.random.default_rng(3)
    ranks = [ranktests.randomized_rank(0.5, [0.5] * 4, rng) for _ in range(5000)]
    assert np.bincount(ranks).tolist() == pytest.approx([1000] * 5, rel=0.1)
