"""Verdicts that can fail: rank (conformal) tests of a published run against our seeds.

If a published run is one more draw from the distribution our seeds sample, its rank among our n values is uniform,
whatever the distribution's shape (bounded, skewed, split between learning and not, tied). Every p-value here uses
only that: it is valid under exchangeability, needs no normal model, and its smallest value is 1/(n+1) per tail,
so a two-sided test at ALPHA = 0.10 needs n >= 19 seeds. `simulate_null` shows the flag rates by simulation;
`detectable_shift` states the power. The words and their definitions are data (`WORDS`) that the report prints.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bn_mnist.core.records import Record, optional

ALPHA = 0.10  # the level of every per-claim test (two-sided for a value: ALPHA / 2 per tail)
FDR = 0.10  # Benjamini-Hochberg's level across the report's p-values
POWER = 0.80  # the detectable shift is the one flagged with this probability
DECIMALS = 4  # the published numbers' precision: every comparison is made after rounding to it
FAILED = 0.15  # a run "does not learn" when its final validation accuracy is at most this
TIE_SEED = 0  # the random tie-breaking of the report-wide tests' ranks starts from this seed
CONSISTENT = "CONSISTENT"
HIGH, LOW = "HIGH", "LOW"
RARE = "RARE"
TOO_FEW = "TOO FEW"
ALWAYS, USUALLY, SOMETIMES = "ALWAYS", "USUALLY", "SOMETIMES"
WORDS: dict[str, str] = {  # every verdict word and what it means, as the report prints it
    CONSISTENT: "the published value's rank among ours is not extreme: two-sided rank p-value > "
    f"{ALPHA:g}. It is a run we would expect; the detectable shift says how far off it could still be.",
    HIGH: f"the published value is above (nearly) all of ours: two-sided rank p-value <= {ALPHA:g}.",
    LOW: f"the published value is below (nearly) all of ours: two-sided rank p-value <= {ALPHA:g}.",
    RARE: "a published outcome or property that (nearly) none of our seeds has: p = (1 + seeds with it) / (n + 1) "
    f"<= {ALPHA:g}.",
    TOO_FEW: f"fewer of our runs than a rank test at {ALPHA:g} needs (19 for a value, 9 for an outcome): "
    "nothing could be flagged.",
    ALWAYS: f"a property every one of our seeds has (p > {ALPHA:g}).",
    USUALLY: f"a property more than half of our seeds have (p > {ALPHA:g}).",
    SOMETIMES: f"a property at most half of our seeds have, but not so few that p <= {ALPHA:g}.",
}
VALUE_WORDS = (CONSISTENT, HIGH, LOW, TOO_FEW)
OUTCOME_WORDS = (CONSISTENT, RARE, TOO_FEW)
PROPERTY_WORDS = (ALWAYS, USUALLY, SOMETIMES, RARE, TOO_FEW)
FLAGS = (HIGH, LOW, RARE)  # the words that say a published run is not like ours


def rounded(value: float | None) -> float:
    """A value as compared: rounded to the published precision; None ("never", e.g. a threshold not reached) is
    +infinity, after every step."""
    return math.inf if value is None else round(float(value), DECIMALS)


@dataclass(frozen=True)
class ValueTest(Record):
    """Where a published value falls among ours: counts at or above / at or below, the two-sided rank p-value,
    the word and the detectable shift (up, down; in our SDs and in the value's units; None: none detectable)."""

    published: float | int | None  # a step stays an int
    n: int
    at_or_above: int
    at_or_below: int
    p: float
    verdict: str
    shift_sd: tuple[float | None, float | None]
    shift: tuple[float | None, float | None]


def flag_count(n: int) -> int:
    """The most of our n values that may lie at or beyond a flagged value on its side: the largest a with
    2 (a + 1) / (n + 1) <= ALPHA; -1 when none (n < 19)."""
    return math.floor(ALPHA * (n + 1) / 2 + 1e-9) - 1


def rank_p(published: float | None, ours: Sequence[float | None]) -> tuple[int, int, float]:
    """(at or above, at or below, two-sided p) for the published value among ours; ties count against flagging."""
    x, ys = rounded(published), [rounded(y) for y in ours]
    above, below = sum(y >= x for y in ys), sum(y <= x for y in ys)
    return above, below, min(1.0, 2 * (1 + min(above, below)) / (len(ys) + 1))


def value_word(published: float | None, ours: Sequence[float | None]) -> tuple[int, int, float, str]:
    """(at or above, at or below, p, word) of the value test."""
    above, below, p = rank_p(published, ours)
    if flag_count(len(ours)) < 0:
        return above, below, p, TOO_FEW
    return above, below, p, (HIGH if above < below else LOW) if p <= ALPHA else CONSISTENT


def value_test(published: float | None, ours: Sequence[float | None]) -> ValueTest:
    """The value test with its power: the shifts up and down it detects (`detectable_shift`)."""
    above, below, p, word = value_word(published, ours)
    up, down = detectable_shift(ours, +1), detectable_shift(ours, -1)
    sd = spread_sd(ours)
    in_units = (None if up is None or sd is None else up * sd, None if down is None or sd is None else down * sd)
    return ValueTest(published, len(ours), above, below, p, word, (up, down), in_units)


def spread_sd(ours: Sequence[float | None]) -> float | None:
    """Our values' sample SD; None when some never happened ("never" has no SD) or all are equal."""
    finite = [rounded(y) for y in ours if y is not None]
    if len(finite) < 2 or len(finite) < len(ours):
        return None
    sd = float(np.std(finite, ddof=1))
    return sd if sd > 0 else None


POWER_DRAWS = 4000  # Monte-Carlo draws of the power computation (common to every shift tried)


def detectable_shift(ours: Sequence[float | None], direction: int) -> float | None:
    """The shift, in our SDs, that the value test flags with probability POWER (direction +1: upwards), for a
    distribution like ours: our values smoothed with a normal kernel (Silverman's bandwidth), so that a shifted run
    can land beyond our extremes as a new run would. None when nothing is detectable (no SD, too few seeds)."""
    sd, n = spread_sd(ours), len(ours)
    if sd is None or flag_count(n) < 0:
        return None
    ys = np.array([rounded(y) for y in ours])
    rng = np.random.default_rng(TIE_SEED)
    bandwidth = 1.06 * sd * n ** (-1 / 5)
    run = ys[rng.integers(0, n, POWER_DRAWS)] + bandwidth * rng.standard_normal(POWER_DRAWS)
    seeds = ys[rng.integers(0, n, (POWER_DRAWS, n))] + bandwidth * rng.standard_normal((POWER_DRAWS, n))

    def flagged(shift: float) -> float:
        x = run + direction * shift * sd
        beyond = (seeds >= x[:, None]) if direction > 0 else (seeds <= x[:, None])
        return float(np.mean(beyond.sum(axis=1) <= flag_count(n)))

    low, high = 0.0, 1.0
    while flagged(high) < POWER:
        low, high = high, 2 * high
    for _ in range(20):
        mid = (low + high) / 2
        low, high = (low, mid) if flagged(mid) >= POWER else (mid, high)
    return round(high, 2)


@dataclass(frozen=True)
class OutcomeTest(Record):
    """A published outcome (learned or not; a property held or not) against how often our seeds have it."""

    k: int  # our seeds with the published outcome
    n: int
    p: float  # (1 + k) / (n + 1)
    verdict: str


def outcome_test(k: int, n: int) -> OutcomeTest:
    """A published outcome that k of our n seeds share: RARE when p = (1 + k) / (n + 1) <= ALPHA."""
    p = (1 + k) / (n + 1)
    word = TOO_FEW if 1 / (n + 1) > ALPHA else RARE if p <= ALPHA else CONSISTENT
    return OutcomeTest(k, n, p, word)


def property_test(holds: Sequence[bool]) -> OutcomeTest:
    """A property of the tutorial's run (a remark of its text), held by k of our n seeds."""
    k, n = sum(holds), len(holds)
    found = outcome_test(k, n)
    if found.verdict in (RARE, TOO_FEW):
        return found
    word = ALWAYS if k == n else USUALLY if 2 * k > n else SOMETIMES
    return OutcomeTest(k, n, found.p, word)


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (a claim is a discovery at FDR when its adjusted p is <= FDR)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        adjusted[i] = min(1.0, running)
    return adjusted


def on_outcome_scale(value: float | None) -> float:
    """A final accuracy as the report-wide tests rank it: every run that did not learn ties at FAILED (which class
    a dead net predicts, 0.0958 or 0.1135, is no luck of training but how the net happened to die)."""
    x = rounded(value)
    return FAILED if x <= FAILED else x


def randomized_rank(published: float | None, ours: Sequence[float | None], rng: np.random.Generator) -> int:
    """How many of ours lie below the published final accuracy (failures tied: `on_outcome_scale`), ties broken at
    random: uniform on 0..n under the null."""
    x, ys = on_outcome_scale(published), [on_outcome_scale(y) for y in ours]
    return sum(y < x for y in ys) + int(rng.integers(0, sum(y == x for y in ys) + 1))


def discoveries_need(claims: int, seeds: int) -> int:
    """How many claims at the smallest p any claim can have at `seeds` seeds, 1 / (n + 1), Benjamini-Hochberg needs
    before it makes one discovery among `claims` p-values: the smallest k with 1 / (n + 1) <= FDR k / claims."""
    return math.ceil(claims / ((seeds + 1) * FDR) - 1e-9)


@dataclass(frozen=True)
class AcrossTest(Record):
    """A test over the independent published runs (one rank each): what it counts, what the null expects, p."""

    name: str
    statistic: float
    expected: float
    p: float
    runs: int
    word: str | None = optional()  # its verdict (`family_word`); results from before it was kept: filled when read


EXTREME, NOT_EXTREME = "more often than chance", "no more often than chance allows"  # calibration: extreme ranks
SITS_HIGH, SITS_LOW, NEITHER = "high", "low", "neither"  # shift: where the published runs' ranks sit among ours


def family_word(test: AcrossTest) -> str:
    """A report-wide test's verdict at ALPHA: calibration, whether extreme ranks come more often than chance;
    shift, whether the published runs sit high or low among ours."""
    if test.name == "calibration":
        return EXTREME if test.p <= ALPHA else NOT_EXTREME
    return (SITS_HIGH if test.statistic > 0 else SITS_LOW) if test.p <= ALPHA else NEITHER


def judged(test: AcrossTest) -> AcrossTest:
    return dataclasses.replace(test, word=family_word(test))


def tail_count_test(ranks: Sequence[tuple[int, int]]) -> AcrossTest:
    """Calibration: how many runs' ranks lie in the flagged tails (rank <= a or >= n - a, a = flag_count(n)),
    against the Poisson-binomial count the null gives; one-sided p = P(count >= observed)."""
    pmf = np.array([1.0])
    observed, expected = 0, 0.0
    for rank, n in ranks:
        a = flag_count(n)
        chance = 0.0 if a < 0 else 2 * (a + 1) / (n + 1)
        observed += a >= 0 and (rank <= a or rank >= n - a)
        expected += chance
        pmf = np.convolve(pmf, [1 - chance, chance])
    return judged(AcrossTest("calibration", observed, expected, float(min(1.0, pmf[observed:].sum())), len(ranks)))


def shift_test(ranks: Sequence[tuple[int, int]], draws: int = 200_000) -> AcrossTest:
    """Shift: the mean of rank / n - 1/2 over runs (0 under the null; > 0: published runs sit high among ours);
    two-sided p from the exact null (independent uniform ranks), by Monte Carlo with `draws` draws."""
    if not ranks:
        return judged(AcrossTest("shift", 0.0, 0.0, 1.0, 0))
    observed = float(np.mean([rank / n - 0.5 for rank, n in ranks]))
    rng = np.random.default_rng(TIE_SEED)
    null = np.mean([rng.integers(0, n + 1, draws) / n - 0.5 for _, n in ranks], axis=0)
    p = (1 + np.sum(np.abs(null) >= abs(observed) - 1e-12)) / (draws + 1)
    return judged(AcrossTest("shift", observed, 0.0, float(min(1.0, p)), len(ranks)))


@dataclass(frozen=True)
class NullRate(Record):
    """How often a test flags a published run that is one more draw of our distribution, by simulation."""

    shape: str
    test: str
    seeds: int
    trials: int
    applied: int  # trials where the test applied (a value given learning: the published run and >= 19 of ours learned)
    rate: float  # flagged / applied
    mc_se: float  # the Monte-Carlo standard error of `rate`


Sampler = Callable[[np.random.Generator, int], np.ndarray]


def failures(rng: np.random.Generator, size: int) -> np.ndarray:
    """A net that does not learn predicts one class: MNIST validation class shares, tied exactly."""
    return rng.choice([0.0958, 0.0986, 0.1010, 0.1126, 0.1135], size)


def split(fail: float, learned: Sampler) -> Sampler:
    def draw(rng: np.random.Generator, size: int) -> np.ndarray:
        return np.where(rng.random(size) < fail, failures(rng, size), learned(rng, size))

    return draw


NULL_SHAPES: dict[str, Sampler] = {  # shaped like our distributions
    "near 1, skewed": lambda rng, size: np.clip(0.985 - rng.gamma(2, 0.003, size), 0, 1),
    "mid-range, skewed": lambda rng, size: rng.beta(20, 3, size),
    "split 3% fail": split(0.03, lambda rng, size: np.clip(0.95 - rng.gamma(2, 0.01, size), 0, 1)),
    "split 30% fail": split(0.3, lambda rng, size: np.clip(0.95 - rng.gamma(2, 0.01, size), 0, 1)),
    "split 90% fail": split(0.9, lambda rng, size: rng.uniform(0.2, 0.95, size)),
    "steps to 90%, 20% never": lambda rng, size: np.where(
        rng.random(size) < 0.2, math.inf, 500.0 * rng.poisson(4, size)
    ),
}


def simulate_null(seeds: int, trials: int, seed: int = 0) -> list[NullRate]:
    """Each shape's flag rates under the null (our n seeds and the published run drawn from one distribution): of
    the outcome test, and of the value test given the outcome where it applies, as `judging` applies them."""
    rates = []
    for shape, draw in NULL_SHAPES.items():
        rng = np.random.default_rng(seed)
        flagged, applied = {"outcome": 0, "value": 0}, {"outcome": 0, "value": 0}
        for _ in range(trials):
            values = np.round(draw(rng, seeds + 1), DECIMALS)
            published = float(values[0])
            ours = [None if math.isinf(v) else float(v) for v in values[1:]]  # infinity ("never") is None, as in claims
            if shape.startswith("steps"):
                applied["value"] += 1
                flagged["value"] += value_word(None if math.isinf(published) else published, ours)[3] in FLAGS
                continue
            learned = [y is not None and y > FAILED for y in ours]
            outcome = published > FAILED
            applied["outcome"] += 1
            flagged["outcome"] += outcome_test(sum(ok == outcome for ok in learned), seeds).verdict in FLAGS
            if outcome and flag_count(sum(learned)) >= 0:
                applied["value"] += 1  # among our runs that learned, as `judging` sets a value of a run that learned
                learned_ours = [y for y, ok in zip(ours, learned) if ok]
                flagged["value"] += value_word(published, learned_ours)[3] in FLAGS
        for test in ("outcome", "value"):
            if applied[test]:
                rate = flagged[test] / applied[test]
                se = math.sqrt(rate * (1 - rate) / applied[test])
                rates.append(NullRate(shape, test, seeds, trials, applied[test], rate, se))
    return rates
