"""From finished runs to `pitfalls`' numbers: each arm's measures per seed (its summary and what its probe measured at
the last step), their spreads, and the paired effects and shares its rule's parts name, judged by `claims`."""

from __future__ import annotations

import math
import statistics
from typing import Any, NamedTuple

from bn_mnist.core.tensorboard import tags
from bn_mnist.lab import stats
from bn_mnist.lab.plan import Plan
from bn_mnist.lab.runs import RunFiles
from bn_mnist.lab.stats import PairedEffect
from bn_mnist.lab.study import Finished
from bn_mnist.lab.verdicts import Share, Verdict
from bn_mnist.studies.pitfalls import claims
from bn_mnist.studies.pitfalls.experiments import BY_NAME, RECOMPUTE_BATCHES, REGIMES, Budget
from bn_mnist.studies.pitfalls.results import ArmResult

Runs = dict[str, RunFiles]
PROBE_PREFIX = "pitfall/"
PER_LAYER = (f"{tags.VARIANCE_SHIFT}/", "statistics_gap_")
ENOUGH = 0.005  # recomputed statistics suffice when their accuracy is within this of the most batches' accuracy


def per_layer(last: dict[str, Any], kind: str) -> dict[str, float | None]:
    """A per-layer measurement (`kind`/<layer>) at the last logging point, in the network's order."""
    return {tag: last[tag] for tag in sorted(last) if tag.startswith(f"{kind}/")}


def mean_of(values: list[float | None]) -> float | None:
    found = stats.numbers(values)
    return statistics.fmean(found) if found else None


def decades(ratio: float | None) -> float | None:
    return math.log10(ratio) if ratio is not None and ratio > 0 else None


def batches_enough(found: dict[str, float | None]) -> float | None:
    """The fewest recomputing batches whose accuracy is within ENOUGH of the most batches'."""
    accuracies = {count: found.get(f"recomputed_accuracy_{count}") for count in RECOMPUTE_BATCHES}
    best = accuracies[RECOMPUTE_BATCHES[-1]]
    if best is None:
        return None
    return float(next(n for n, accuracy in accuracies.items() if accuracy is not None and accuracy >= best - ENOUGH))


def derived(found: dict[str, float | None], last: dict[str, Any]) -> dict[str, float | None]:
    """The measures the rules and figures read that a run does not log itself."""
    more: dict[str, float | None] = {}
    training, inference = found.get("class_batch_training_accuracy"), found.get("class_batch_inference_accuracy")
    if training is not None and inference is not None:
        more["overstatement"] = training - inference
    shifts = list(per_layer(last, tags.VARIANCE_SHIFT).values())[1:]  # the first BN layer has no dropout before it
    if shifts:
        more["variance_shift_decades"] = mean_of([decades(ratio) for ratio in shifts])
    gaps = {regime: per_layer(last, tags.statistics_gap(regime)) for regime in ("before", *REGIMES)}
    more |= {f"gap_{regime}": mean_of(list(layers.values())) for regime, layers in gaps.items() if layers}
    if gaps["frozen"]:
        kept = list(gaps["frozen"].values()) == list(gaps["before"].values())  # to the bit: not one statistic moved
        more["frozen_statistics_kept"] = float(kept)
    if f"recomputed_accuracy_{RECOMPUTE_BATCHES[-1]}" in found:
        more["batches_enough"] = batches_enough(found)
    return more


def run_measures(run: RunFiles) -> dict[str, float | None]:
    """A run's measures: its outcome, what its probe measured at its last logging point, and `derived` ones."""
    summary, last = run.summary, run.metrics[-1]
    found: dict[str, float | None] = {
        "val_accuracy": summary.final_val_accuracy,
        "train_accuracy": summary.final_train_accuracy,
        "single_sample_accuracy": summary.single_sample_accuracy,
        "diverged": float(summary.diverged_at_step is not None),
    }
    found |= {tag.removeprefix(PROBE_PREFIX): value for tag, value in last.items() if tag.startswith(PROBE_PREFIX)}
    found |= {tag: value for tag, value in last.items() if tag.startswith(PER_LAYER)}  # e.g. variance_shift/dense02
    return found | derived(found, last)


def arm_result(label: str, colour: str, per_seed: list[dict[str, float | None]]) -> ArmResult:
    names = sorted({name for found in per_seed for name in found})
    seeds = {name: [found.get(name) for found in per_seed] for name in names}
    return ArmResult(label, colour, seeds, {name: stats.spread(values) for name, values in seeds.items()})


class Measured(NamedTuple):
    """A pitfall's numbers: each arm's measures, and the paired effects and shares its rule's parts name."""

    arms: dict[str, ArmResult]
    effects: dict[str, PairedEffect]  # a paired part of the rule -> its effect
    shares: dict[str, list[bool | None]]  # an invariant of the rule -> per seed, whether it holds (None: unmeasured)


def measured(name: str, plan: Plan, runs: Runs) -> Measured:
    pitfall, rule = BY_NAME[name], claims.RULES[name]
    arms = {
        arm.key: arm_result(arm.label, arm.colour, [run_measures(runs[key]) for key in plan.seeds(name, arm.key)])
        for arm in pitfall.arms
    }

    def seeds(arm: str, measure: str) -> list[float | None]:
        return arms[arm].seeds.get(measure, [None] * len(next(iter(arms[arm].seeds.values()))))

    effects = {
        part.name: stats.paired_effect(seeds(*part.first), seeds(*part.second))
        for part in rule.parts
        if isinstance(part, claims.Difference)
    }
    shares = {
        part.name: [None if value is None else value == part.value for value in seeds(part.arm, part.measure)]
        for part in rule.parts
        if isinstance(part, Share)
    }
    return Measured(arms, effects, shares)


def analyse(done: Finished[Budget]) -> dict[str, Measured]:
    return {name: measured(name, done.plan, done.runs) for name in done.chosen}


def judge(found: dict[str, Measured]) -> dict[str, Verdict]:
    """Each pitfall's verdict, by the rule declared for it (`claims.RULES`)."""
    return {name: claims.RULES[name].judge(numbers.effects | numbers.shares) for name, numbers in found.items()}
