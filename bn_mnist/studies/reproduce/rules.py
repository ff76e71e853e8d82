"""The reproduction's rules, declared before its runs: what the text's words mean as measurements, and the method
(ranktests.py). `Rules` is what results.json records of them; the rules changed after seeing the results they
judge are `study.STUDY.rules_changed` (the report prints them, empty or not).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bn_mnist.core.records import Record
from bn_mnist.studies.reproduce import ranktests

NEAR_MAX = 0.005  # "nears its best accuracy": the first evaluation within this of the run's best
BOUNCE = 0.02  # a bounce: a drop of at least this between consecutive evaluations, once the run reached LEARNING
WILD_BOUNCE = 0.10  # a wild bounce: a drop of at least this
LEARNING = 0.5  # bounces are counted from the first evaluation at or above this (a net at 10% has no level to drop)
BOUNCES = 3  # "bounces around (a lot)", "bounces around wildly": at least this many (wild) bounces
STUCK_FROM, STUCK_TO = 0.88, 0.92  # "stuck at 90%": from first reaching STUCK_FROM to first reaching STUCK_TO ...
STUCK_STEPS = 10_000  # ... at least this many steps (or to the end of the run); never reaching STUCK_FROM is not
# Where the rules were before results recorded it (the rules and seed counts: lab/verdicts.py, rules.py, claims.py and
# experiments.py); today's results record `Names.rules`
RULES_BEFORE = (
    "bn_mnist/lab/verdicts.py",
    "bn_mnist/reproduction/rules.py",
    "bn_mnist/reproduction/claims.py",
    "bn_mnist/reproduction/experiments.py",
)
HISTORY = (  # how these rules came about, as the report says it
    "They replace the previous reproduction's (5 to 10 seeds, t-based prediction intervals that called all 72 "
    "published numbers TYPICAL). A first start of the 20-seed run, at commit 27e7006, was stopped after 70 of its "
    "723 runs, before any verdict was computed, when a review of the rules found flaws: failed runs ranked by which "
    "class a dead net predicts, points before learning judged as values, figure steps that one pixel moves, a null "
    "simulation that averaged over trials where the test did not apply; they were mended, and the run started "
    "again from an empty directory."
)


@dataclass(frozen=True)
class Rules(Record):
    """The rules a reproduction was judged by, as results.json records them."""

    alpha: float = ranktests.ALPHA
    fdr: float = ranktests.FDR
    power: float = ranktests.POWER
    decimals: int = ranktests.DECIMALS
    failed: float = ranktests.FAILED
    tie_seed: int = ranktests.TIE_SEED
    about: str = "about N steps: reached within [N/2, 2N]; N or more: at or after N/2; over N: after N, or never"
    near_max: float = NEAR_MAX
    bounce: float = BOUNCE
    wild_bounce: float = WILD_BOUNCE
    learning: float = LEARNING
    bounces: int = BOUNCES
    stuck: tuple[float, float, int] = (STUCK_FROM, STUCK_TO, STUCK_STEPS)
    changes_after_results: list[str] = field(default_factory=list)  # older results; today's: meta.rules_changed


def definitions() -> list[str]:
    """The measured meaning of the text's words, one line each, as the report prints them."""
    return [
        f"- **Did not learn**: final validation accuracy <= {ranktests.FAILED}.",
        '- **About N steps**: reached within [N/2, 2N]; "N or more": at or after N/2; "over N": after N, or never.',
        f"- **Nears its best**: the first evaluation within {NEAR_MAX} of the run's best validation accuracy.",
        f"- **A bounce**: a drop of >= {BOUNCE} in validation accuracy between consecutive evaluations, counted once "
        f"the run first reached {LEARNING}; **bounces around (a lot)**: >= {BOUNCES} bounces; **bounces around "
        f"wildly**: >= {BOUNCES} drops of >= {WILD_BOUNCE}; **more stable**: fewer bounces than the other network.",
        f"- **Stuck at 90%** / **trouble getting past 90%**: >= {STUCK_STEPS:,} steps from first reaching "
        f"{STUCK_FROM} to first reaching {STUCK_TO} (or to the end of the run).",
    ]


def about(step: int | None, steps: int) -> bool:
    """'About N steps': reached within [N/2, 2N]."""
    return step is not None and steps / 2 <= step <= 2 * steps


def or_more(step: int | None, steps: int) -> bool:
    """'N or more steps': reached at or after N/2 (the lower end of 'about N'), or never."""
    return step is None or step >= steps / 2


def reached(step: int | None, by: int) -> bool:
    return step is not None and step <= by


def sooner(step: int | None, other: int | None) -> bool:
    """`step` reached a threshold strictly before `other` (which may never have)."""
    return step is not None and (other is None or step < other)


def after_or_never(step: int | None, steps: int) -> bool:
    return step is None or step > steps


def drops(values: list[float], size: float) -> int:
    """How many drops of at least `size` between consecutive evaluations, from the first one >= LEARNING."""
    start = next((i for i, v in enumerate(values) if v >= LEARNING), len(values))
    return sum(a - b >= size - 1e-9 for a, b in zip(values[start:], values[start + 1 :]))


def near_max_step(steps: list[int], values: list[float]) -> int:
    """The first evaluation within NEAR_MAX of the run's best."""
    best = max(values)
    return next(s for s, v in zip(steps, values) if v >= best - NEAR_MAX)


def stuck_steps(steps: list[int], values: list[float]) -> int:
    """Steps from first reaching STUCK_FROM to first reaching STUCK_TO (or to the last evaluation); 0 if never."""
    start = next((s for s, v in zip(steps, values) if v >= STUCK_FROM), None)
    if start is None:
        return 0
    end = next((s for s, v in zip(steps, values) if s >= start and v >= STUCK_TO), steps[-1])
    return end - start
