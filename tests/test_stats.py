"""The statistics behind every verdict, on synthetic numbers with answers known by hand."""

from __future__ import annotations

import math

import pytest

from bn_mnist.lab import stats


def test_spread_uses_the_sample_sd_and_skips_what_is_not_a_number():
    found = stats.spread([0.9, None, 0.8, float("nan"), True, 0.7])
    assert (found.n, found.min, found.max) == (3, 0.7, 0.9)
    assert found.mean == pytest.approx(0.8) and found.sd == pytest.approx(0.1)  # ddof=1: sqrt(0.02 / 2)
    assert stats.spread([None]) is None and stats.spread([0.5]).sd is None


def test_prediction_interval_against_a_hand_computation():
    """Ten values 0.90, 0.91, ..., 0.99: mean 0.945, SD 0.0302765, t(0.95, 9) = 1.833113 (from a t table)."""
    found = stats.spread([0.90 + i / 100 for i in range(10)])
    half = 1.833113 * 0.0302765 * math.sqrt(1 + 1 / 10)
    low, high = stats.prediction_interval(found)
    assert low == pytest.approx(0.945 - half, abs=1e-6) and high == pytest.approx(0.945 + half, abs=1e-6)
    assert stats.prediction_interval(stats.spread([0.5])) is None


@pytest.mark.parametrize(("value", "expected"), [(0.85, 0.0), (0.905, 10.0), (0.93, 35.0), (0.99, 95.0), (1.0, 100.0)])
def test_percentile_rank(value, expected):
    ours = [0.90 + i / 100 for i in range(10)]  # ties count half: 0.93 has 3 below and 1 equal
    assert stats.percentile_rank(value, ours) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("published", "verdict"),
    [(0.945, stats.TYPICAL), (0.889, stats.TYPICAL), (0.88, stats.NOT_REPRODUCED), (1.0, stats.TYPICAL)],
)
def test_verdict_words_on_a_known_distribution(published, verdict):
    """The interval (0.8868..1.0032) is wider than our range (0.90..0.99): inside it is typical, even outside our
    range, since ten runs rarely show their distribution's tails."""
    ours = [0.90 + i / 100 for i in range(10)]
    assert stats.judge_number(published, ours).verdict == verdict


def test_lucky_and_unlucky_lie_between_the_interval_and_our_range():
    ours = [0.5] * 8 + [0.9, 0.1]  # a tight bulk with one seed at each extreme: mean 0.5, SD 0.2108
    judged = stats.judge_number(0.9, ours)
    assert judged.interval[1] < 0.9 and judged.verdict == stats.LUCKY
    assert stats.judge_number(0.1, ours).verdict == stats.UNLUCKY
    assert stats.judge_number(0.5, [0.5]).verdict == stats.ONE_SAMPLE


def test_numbers_are_compared_at_four_decimals():
    """0.99 against a published 0.97 within 0.02 is 0.020000000000000018 in floating point: rounding decides."""
    judged = stats.judge_number(0.97, [0.95, 0.99, 0.97])
    assert judged.interval is not None and judged.min == 0.95 and judged.max == 0.99
    assert stats.judge_number(0.12344, [0.1234, 0.1234]).verdict == stats.TYPICAL  # equal at 4 decimals


def test_wilson_interval_against_the_formula_by_hand():
    k, n, z = 9, 10, 1.959964
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low, high = stats.wilson_interval(k, n)
    assert low == pytest.approx(centre - half, abs=1e-6) and high == pytest.approx(centre + half, abs=1e-6)
    assert stats.wilson_interval(0, 5)[0] == 0.0 and stats.wilson_interval(5, 5)[1] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("holds", "word"),
    [
        ([True] * 10, stats.ALWAYS),
        ([True] * 9 + [False], stats.USUALLY),
        ([True] * 5 + [False] * 5, stats.SOMETIMES),
        ([False] * 4, stats.NEVER),
    ],
)
def test_fraction_words_never_round_nine_of_ten_to_always(holds, word):
    judged = stats.judge_fraction(holds)
    assert judged.verdict == word and (judged.k, judged.n) == (sum(holds), len(holds))
