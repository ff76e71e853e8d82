"""The FC runs that the landscape and covariate-shift studies measure (their probe measures both): BN, no BN and
noisy BN at SGD 0.1, and what both studies read of them: a measure's median over training per seed, and its curve."""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING

from bn_mnist.core import runfiles
from bn_mnist.lab import stats
from bn_mnist.lab.arms import BN, NO_BN, NOISY_BN
from bn_mnist.lab.plan import Plan, RunId
from bn_mnist.studies.explain.common import FC_AT_RATE, PAIRED_ARMS, Budget, Runs, config_of
from bn_mnist.studies.explain.results import MeasureArm, SpreadCurve

if TYPE_CHECKING:
    from bn_mnist.core.training.measurement import Measurement

# The landscape probe's steps along the gradient: ‖Δθ‖, the same for both nets (the earlier full run's medians imply
# training steps of the FC net at SGD 0.1 of about 0.12 with BN and 0.33 without), and for the scale-invariant variant
# each kernel's step as a fraction of its own norm.
LANDSCAPE_DISTANCES = (0.05, 0.1, 0.2, 0.4)
KERNEL_FRACTIONS = (0.005, 0.01, 0.02, 0.04)
SMOOTHNESS_ARMS = (*PAIRED_ARMS, NOISY_BN)  # and BN with noise after it: does BN need a steady distribution?


def smoothness_probe() -> Measurement:
    """The landscape and covariate-shift probe (imported here, when a worker builds it: planning needs no
    TensorFlow)."""
    from bn_mnist.studies.explain.probes import SmoothnessProbe

    return SmoothnessProbe()


def plan_smoothness(study: str, plan: Plan, budget: Budget) -> None:
    """The FC runs the landscape and covariate-shift probe measures (studies landscape and ics share them)."""
    for arm in SMOOTHNESS_ARMS:
        for seed in range(budget.seeds["fc"]):
            config = config_of("explain-smoothness", FC_AT_RATE, arm, seed, budget.steps["fc"], budget)
            plan.add(RunId(study, arm.key, seed), "smoothness", config, probe=smoothness_probe)


def series_over_seeds(runs: Runs, keys: list[str], name: str) -> SpreadCurve:
    """One measurement at every evaluation step, the spread over seeds at each."""
    steps = runfiles.series(runs[keys[0]].metrics, name)[0]
    by_seed = [runfiles.series(runs[key].metrics, name)[1] for key in keys]
    return SpreadCurve(steps, [stats.spread(list(values)) for values in zip(*by_seed)])


def seed_level(runs: Runs, key: str, name: str) -> float | None:
    """A run's measurement summarised over training: the median over the evaluation points after step 0."""
    values = stats.numbers(runfiles.series(runs[key].metrics, name)[1][1:])
    return statistics.median(values) if values else None


def seed_levels(runs: Runs, keys: list[str], name: str) -> list[float | None]:
    return [seed_level(runs, key, name) for key in keys]


def paired(bn: list[float | None], no_bn: list[float | None], bn_smaller: bool = True) -> stats.FractionVerdict:
    """Per seed's seed-level values, BN's and no BN's: whether BN's is the smaller (bn_smaller=False: the larger)."""
    return stats.judge_fraction(
        [b is not None and n is not None and (b < n if bn_smaller else b > n) for b, n in zip(bn, no_bn)]
    )


def smoothness_runs(plan: Plan, study: str) -> tuple[list[str], list[str]]:
    """The BN and the non-BN smoothness runs, in seed order."""
    return plan.seeds(study, BN.key), plan.seeds(study, NO_BN.key)


def measure_arm(runs: Runs, keys: list[str], name: str) -> MeasureArm:
    return MeasureArm(series_over_seeds(runs, keys, name), stats.spread(seed_levels(runs, keys, name)))


def in_decades(levels: list[float | None]) -> list[float | None]:
    """log10 of each seed's level (None where it is None or not positive)."""
    return [None if value is None or value <= 0 else math.log10(value) for value in levels]
