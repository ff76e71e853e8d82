"""From finished runs to `pitfalls`' numbers: each arm's measures per seed (its summary and what its probe measured at
the last step), their spreads, and the paired effects and shares its rule's parts name, judged by `claims`."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from typing import Any

from bn_mnist.lab import stats
from bn_mnist.lab.plan import Plan
from bn_mnist.lab.runs import RunFiles
from bn_mnist.pitfalls import claims
from bn_mnist.pitfalls.experiments import BY_NAME, REGIMES
from bn_mnist.pitfalls.results import ArmResult, PitfallResult, Verdict
from bn_mnist.tensorboard import tags

Runs = dict[str, RunFiles]
PROBE_PREFIX = "pitfall/"


def layer_mean(last: dict[str, Any], kind: str, transform: Callable[[float], float] = float) -> float | None:
    """The mean over BN layers of a per-layer measurement (`kind`/<layer>), or None if it was not taken."""
    values = stats.numbers(value for tag, value in last.items() if tag.startswith(f"{kind}/"))
    return statistics.fmean(transform(value) for value in values) if values else None


def run_measures(run: RunFiles) -> dict[str, float | None]:
    """A run's measures: its outcome, and what its probe measured at its last logging point."""
    summary, last = run.summary, run.metrics[-1]
    found: dict[str, float | None] = {
        "val_accuracy": summary.final_val_accuracy,
        "train_accuracy": summary.final_train_accuracy,
        "single_sample_accuracy": summary.single_sample_accuracy,
        "diverged": float(summary.diverged_at_step is not None),
    }
    found |= {tag.removeprefix(PROBE_PREFIX): value for tag, value in last.items() if tag.startswith(PROBE_PREFIX)}
    if summary.final_train_accuracy is not None and summary.final_val_accuracy is not None:
        found["overstatement"] = summary.final_train_accuracy - summary.final_val_accuracy
    shift = layer_mean(last, tags.VARIANCE_SHIFT, lambda ratio: math.log10(ratio) if ratio > 0 else math.nan)
    if shift is not None:
        found["variance_shift_decades"] = shift
    for regime in ("before", *REGIMES):
        gap = layer_mean(last, tags.statistics_gap(regime))
        if gap is not None:
            found[f"gap_{regime}"] = gap
    return found


def arm_result(label: str, colour: str, per_seed: list[dict[str, float | None]]) -> ArmResult:
    names = sorted({name for found in per_seed for name in found})
    seeds = {name: [found.get(name) for found in per_seed] for name in names}
    return ArmResult(label, colour, seeds, {name: stats.spread(values) for name, values in seeds.items()})


def pitfall_result(name: str, plan: Plan, runs: Runs) -> PitfallResult:
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
        if isinstance(part, claims.Paired)
    }
    shares = {
        part.name: stats.judge_fraction([value == part.value for value in seeds(part.arm, part.measure)])
        for part in rule.parts
        if isinstance(part, claims.Share)
    }
    words = claims.part_words(rule, effects, shares)
    verdict = Verdict(rule.claim, rule.text(), claims.verdict_word(list(words.values())), words)
    return PitfallResult(pitfall.title, arms, effects, shares, verdict)


def analyse(chosen: tuple[str, ...], plan: Plan, runs: Runs) -> dict[str, PitfallResult]:
    return {name: pitfall_result(name, plan, runs) for name in chosen}
