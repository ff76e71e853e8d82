"""Statistics over seeds (spread, fractions with Wilson intervals), on synthetic numbers with answers known by hand."""

from __future__ import annotations

import math

import pytest

from bn_mnist.lab import stats


def test_spread_uses_the_sample_sd_and_skips_what_is_not_a_number():
    found = stats.spread([0.9, None, 0.8, float("nan"), True, 0.7])
    assert (found.n, found.min, found.max) == (3, 0.7, 0.9)
    assert found.mean == pytest.approx(0.8) and found.sd == pytest.approx(0.1)  # ddof=1: sqrt(0.02 / 2)
    assert stats.spread([None]) is None and stats.spread([0.5]).sd is None


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


def test_paired_effect_against_the_t_formula_by_hand():
    """Differences 0.1, 0.2, 0.3 (the seed with a None drops out): mean 0.2, SD 0.1, t(2) quantile 4.3027."""
    a, b = [0.6, 0.7, None, 0.8], [0.5, 0.5, 0.4, 0.5]
    found = stats.paired_effect(a, b)
    half = 4.302652729911275 * 0.1 / math.sqrt(3)
    assert found.n == 3 and found.mean == pytest.approx(0.2)
    assert found.interval == pytest.approx((0.2 - half, 0.2 + half))
    t = 0.2 / (0.1 / math.sqrt(3))  # 3.4641: two-sided p of Student's t with 2 degrees of freedom, 1 - t / sqrt(t^2+2)
    assert found.p == pytest.approx(1 - t / math.sqrt(t * t + 2))


def test_paired_effect_of_too_few_or_equal_differences():
    assert stats.paired_effect([0.75], [0.5]) == stats.PairedEffect(1, 0.25, None, None)
    assert stats.paired_effect([None], [0.5]) == stats.PairedEffect(0, None, None, None)
    same = stats.paired_effect([0.75, 0.5], [0.5, 0.25])  # both differences exactly 0.25: two tied seeds decide nothing
    assert (same.n, same.mean, same.interval, same.p) == (2, 0.25, None, None)
    with pytest.raises(ValueError):  # seeds are paired by position: lists of other lengths are a bug
        stats.paired_effect([0.5, 0.5], [0.5])
