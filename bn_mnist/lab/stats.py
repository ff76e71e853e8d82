"""Statistics over seeds, because one run is a sample.

`spread`: mean, sample SD (ddof=1), min..max and n. `judge_fraction`: how often a property holds (k of n, with a
95% Wilson interval). `paired_effect`: the mean of per-seed differences between two arms that share a seed's start
and batches, with its 95% t interval and paired t-test p-value. A published run against ours is judged by
ranktests.py's rank tests.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bn_mnist.core.records import Record

WILSON_LEVEL = 0.95
PAIRED_LEVEL = 0.95  # a paired effect's interval; it excludes 0 exactly when the two-sided p-value is below 0.05
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


@dataclass(frozen=True)
class PairedEffect(Record):
    """The mean over seeds of a - b (the same seed's two runs), its 95% t interval and the two-sided paired t-test's
    p-value (None where they cannot be computed: `paired_effect`)."""

    n: int
    mean: float | None
    interval: tuple[float, float] | None
    p: float | None


def scipy_stats() -> Any:
    """scipy.stats, imported when first needed: the import takes about a second, and `spread` (all that `compare`
    uses) needs none of it."""
    from scipy import stats

    return stats


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
    result = scipy_stats().binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return float(result.low), float(result.high)


def judge_fraction(holds: list[bool]) -> FractionVerdict:
    """How often a property holds over seeds: ALWAYS (all), USUALLY (more than half), SOMETIMES, NEVER."""
    k, n = sum(holds), len(holds)
    word = ALWAYS if k == n else NEVER if k == 0 else USUALLY if 2 * k > n else SOMETIMES
    return FractionVerdict(k, n, k / n, wilson_interval(k, n), word)


def paired_effect(a: Sequence[object], b: Sequence[object]) -> PairedEffect:
    """Per seed a - b over the seeds where both are numbers (a missing run's None drops its seed's pair). With fewer
    than two pairs, or differences all equal (accuracies move in steps of 1/5,000: two seeds can tie), there is no
    interval and no p-value: a rule built on them cannot decide."""
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if numbers([x]) and numbers([y])]
    differences = [float(x) - float(y) for x, y in pairs]  # type: ignore[arg-type]
    n = len(differences)
    mean = statistics.fmean(differences) if differences else None
    sd = statistics.stdev(differences) if n > 1 else 0.0
    if mean is None or sd == 0:
        return PairedEffect(n, mean, None, None)
    t = scipy_stats().t
    half = t.ppf(0.5 + PAIRED_LEVEL / 2, n - 1) * sd / math.sqrt(n)
    p = 2 * t.sf(abs(mean) / (sd / math.sqrt(n)), n - 1)
    return PairedEffect(n, mean, (mean - half, mean + half), float(p))
