"""Statistics over seeds, because one run is a sample.

`spread`: mean, sample SD (ddof=1), min..max and n. `judge_fraction`: how often a property holds (k of n, with a
95% Wilson interval). A published run against ours is judged by lab/verdicts.py's rank tests.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from scipy import stats as scipy_stats

from bn_mnist.records import Record

WILSON_LEVEL = 0.95
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


def wilson_interval(k: int, n: int, level: float = WILSON_LEVEL) -> tuple[float, float]:
    """The Wilson score interval for a proportion k/n."""
    result = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return float(result.low), float(result.high)


def judge_fraction(holds: list[bool]) -> FractionVerdict:
    """How often a property holds over seeds: ALWAYS (all), USUALLY (more than half), SOMETIMES, NEVER."""
    k, n = sum(holds), len(holds)
    word = ALWAYS if k == n else NEVER if k == 0 else USUALLY if 2 * k > n else SOMETIMES
    return FractionVerdict(k, n, k / n, wilson_interval(k, n), word)
