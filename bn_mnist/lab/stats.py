"""Statistics over seeds, because one run is a sample.

`spread`: mean, sample SD (ddof=1), min..max and n. `judge_number`: where a published number falls among ours
(percentile rank, a 90% prediction interval for one new run, a verdict word). `judge_fraction`: how often a
property holds (k of n, with a 95% Wilson interval). Published numbers carry four decimals, so every comparison
with one is made after rounding to four decimals.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from scipy import stats as scipy_stats

from bn_mnist.records import Record

PREDICTION_LEVEL = 0.90
WILSON_LEVEL = 0.95
DECIMALS = 4  # the published numbers' precision

# Verdicts on a published number, against our runs of the same setting.
TYPICAL = "TYPICAL"  # inside our 90% prediction interval for one new run
LUCKY = "LUCKY"  # above that interval (a better run than we expect), but within our min..max
UNLUCKY = "UNLUCKY"  # below that interval, but within our min..max
NOT_REPRODUCED = "NOT REPRODUCED"  # outside everything our runs gave
ONE_SAMPLE = "ONE SAMPLE"  # fewer than two of our runs: no interval to judge with
# Verdicts on a property over seeds.
ALWAYS, USUALLY, SOMETIMES, NEVER = "ALWAYS", "USUALLY", "SOMETIMES", "NEVER"


@dataclass(frozen=True)
class Spread(Record):
    """Numbers over seeds."""

    n: int
    mean: float
    sd: float | None  # sample standard deviation (ddof=1); None for one value
    min: float
    max: float


@dataclass(frozen=True)
class NumberVerdict(Record):
    """A published number against the distribution of ours."""

    published: float
    n: int
    mean: float
    sd: float | None
    min: float
    max: float
    percentile: float  # the published number's percentile rank among ours (ties count half)
    interval: tuple[float, float] | None  # 90% prediction interval for one new run (t-based); None for n < 2
    verdict: str


@dataclass(frozen=True)
class FractionVerdict(Record):
    """How many of our seeds have a property."""

    k: int
    n: int
    fraction: float
    wilson_95: tuple[float, float]
    verdict: str


def numbers(values: Iterable[object]) -> list[float]:
    """The finite numbers among values (a diverged run's None and a flag's bool are not numbers)."""
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)]


def spread(values: Iterable[object]) -> Spread | None:
    found = numbers(values)
    if not found:
        return None
    sd = statistics.stdev(found) if len(found) > 1 else None
    return Spread(len(found), statistics.fmean(found), sd, min(found), max(found))


def prediction_interval(found: Spread, level: float = PREDICTION_LEVEL) -> tuple[float, float] | None:
    """Where one new run lands with probability `level`, assuming our runs are a normal sample:
    mean ± t((1 + level) / 2, n - 1) · sd · sqrt(1 + 1/n). None for fewer than two runs."""
    if found.n < 2 or found.sd is None:
        return None
    half = scipy_stats.t.ppf((1 + level) / 2, found.n - 1) * found.sd * math.sqrt(1 + 1 / found.n)
    return found.mean - half, found.mean + half


def percentile_rank(value: float, ours: list[float]) -> float:
    """Percent of our values below `value`, ties counting half (0: below all of ours, 100: above all)."""
    below = sum(v < value for v in ours)
    ties = sum(v == value for v in ours)
    return 100.0 * (below + 0.5 * ties) / len(ours)


def judge_number(published: float, values: Iterable[object]) -> NumberVerdict | None:
    """Typical, lucky, unlucky or not reproduced: the published number against ours (all rounded to 4 decimals)."""
    ours = [round(v, DECIMALS) for v in numbers(values)]
    found = spread(ours)
    if found is None:
        return None
    published = round(published, DECIMALS)
    interval = prediction_interval(found)
    rounded = None if interval is None else (round(interval[0], DECIMALS), round(interval[1], DECIMALS))
    return NumberVerdict(
        published,
        found.n,
        found.mean,
        found.sd,
        found.min,
        found.max,
        percentile_rank(published, ours),
        rounded,
        verdict_word(published, found, rounded),
    )


def verdict_word(published: float, found: Spread, interval: tuple[float, float] | None) -> str:
    if interval is None:
        return ONE_SAMPLE
    if interval[0] <= published <= interval[1]:
        return TYPICAL
    if not found.min <= published <= found.max:
        return NOT_REPRODUCED
    return LUCKY if published > interval[1] else UNLUCKY


def wilson_interval(k: int, n: int, level: float = WILSON_LEVEL) -> tuple[float, float]:
    """The Wilson score interval for a proportion k/n."""
    result = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return float(result.low), float(result.high)


def judge_fraction(holds: list[bool]) -> FractionVerdict:
    """How often a property holds over seeds: ALWAYS (all), USUALLY (more than half), SOMETIMES, NEVER."""
    k, n = sum(holds), len(holds)
    word = ALWAYS if k == n else NEVER if k == 0 else USUALLY if 2 * k > n else SOMETIMES
    return FractionVerdict(k, n, k / n, wilson_interval(k, n), word)
