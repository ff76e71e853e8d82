"""Every claim (claims.py) judged on our per-seed records by the rank tests of ranktests.py; then
Benjamini-Hochberg across all their p-values and the two report-wide tests over the independent published runs
(one rank each: a run's final validation accuracy; its other numbers are correlated with it)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from bn_mnist.lab import stats
from bn_mnist.studies.reproduce import ranktests
from bn_mnist.studies.reproduce.claims import Claim, Number, Outcome, Remark, all_claims
from bn_mnist.studies.reproduce.fields import SeedRecord
from bn_mnist.studies.reproduce.results import Across, JudgedNumber, JudgedOutcome, JudgedRemark

NULL_TRIALS = 20_000  # the simulation of the method's null flag rates, at each shipped seed count


@dataclass(frozen=True)
class Judged:
    """Every judged claim, and the report-wide tests."""

    outcomes: list[JudgedOutcome]
    numbers: list[JudgedNumber]
    remarks: list[JudgedRemark]
    across: Across | None


def learned(record: SeedRecord, final: str) -> bool:
    value = record[final]
    return value is not None and value > ranktests.FAILED


def copied(claim: Claim, *names: str) -> dict[str, Any]:
    """The claim's fields that its judged record repeats."""
    return {name: getattr(claim, name) for name in ("scope", "source", *names)}


def judge_number(claim: Number, seeds: list[SeedRecord]) -> JudgedNumber:
    values = [r[claim.key] for r in seeds]
    judged_on = values if claim.given is None else [r[claim.key] for r in seeds if learned(r, claim.given)]
    test = ranktests.value_test(claim.published, judged_on)
    fields = copied(claim, "what", "note", "key", "given")
    return JudgedNumber(**fields, test=test, ours=stats.spread(judged_on), values=values, adjusted_p=1.0)


def judge_outcome(claim: Outcome, seeds: list[SeedRecord], rng: np.random.Generator) -> JudgedOutcome:
    values = [r[claim.key] for r in seeds]
    shared = sum(learned(r, claim.key) == claim.learned for r in seeds)
    return JudgedOutcome(
        **copied(claim, "what", "key", "published", "learned", "final"),
        unjudged=list(claim.unjudged),
        test=ranktests.outcome_test(shared, len(seeds)),
        rank=ranktests.randomized_rank(claim.published, values, rng) if claim.final else 0,
        values=values,
        adjusted_p=1.0,
    )


def judge_remark(claim: Remark, seeds: list[SeedRecord]) -> JudgedRemark:
    holds = [bool(claim.holds(record)) for record in seeds]
    return JudgedRemark(
        **copied(claim, "said", "verbatim", "rule", "note"),
        test=ranktests.property_test(holds),
        holds=holds,
        values={k: [r.get(k) for r in seeds] for k in claim.keys},
        adjusted_p=1.0,
    )


def judged_claims(
    records: dict[str, list[SeedRecord]], claims: list[Claim]
) -> list[JudgedOutcome | JudgedNumber | JudgedRemark]:
    """Every claim whose scope has records, in the claims' order (outcomes' tie-breaks drawn in that order)."""
    rng = np.random.default_rng(ranktests.TIE_SEED)
    judged: list[JudgedOutcome | JudgedNumber | JudgedRemark] = []
    for claim in claims:
        seeds = records.get(claim.scope)
        if not seeds:
            continue
        if isinstance(claim, Outcome):
            judged.append(judge_outcome(claim, seeds, rng))
        elif isinstance(claim, Number):
            judged.append(judge_number(claim, seeds))
        else:
            judged.append(judge_remark(claim, seeds))
    return judged


def judge(records: dict[str, list[SeedRecord]], claims: list[Claim] | None = None) -> Judged:
    """Judge the claims (default: all of the tutorial's), adjust their p-values together, and test the published
    runs as a whole."""
    judged = judged_claims(records, all_claims() if claims is None else claims)
    adjusted = ranktests.benjamini_hochberg([j.test.p for j in judged])
    judged = [dataclasses.replace(j, adjusted_p=a) for j, a in zip(judged, adjusted)]
    outcomes = [j for j in judged if isinstance(j, JudgedOutcome)]
    return Judged(
        outcomes,
        [j for j in judged if isinstance(j, JudgedNumber)],
        [j for j in judged if isinstance(j, JudgedRemark)],
        across(outcomes, adjusted) if any(o.final for o in outcomes) else None,
    )


def across(outcomes: list[JudgedOutcome], adjusted: list[float]) -> Across:
    """The report-wide tests on the published runs' final accuracies, and what BH found and could find."""
    ranks = [(o.rank, len(o.values)) for o in outcomes if o.final]
    seeds = min(n for _, n in ranks)
    return Across(
        ranktests.tail_count_test(ranks),
        ranktests.shift_test(ranks),
        sum(a <= ranktests.FDR for a in adjusted),
        ranktests.discoveries_need(len(adjusted), seeds),
    )


def null_rates(records: dict[str, list[SeedRecord]]) -> list[ranktests.NullRate]:
    """The method's flag rates under the null, simulated at every seed count the records have."""
    seed_counts = sorted({len(seeds) for seeds in records.values()})
    return [rate for n in seed_counts for rate in ranktests.simulate_null(n, NULL_TRIALS)]


def count_verdicts(judged: Judged) -> dict[str, dict[str, int]]:
    """How many outcomes, numbers and remarks got each verdict (the console line and the report both say it)."""
    found = {
        "outcomes": ([j.verdict for j in judged.outcomes], ranktests.OUTCOME_WORDS),
        "numbers": ([j.verdict for j in judged.numbers], ranktests.VALUE_WORDS),
        "remarks": ([j.verdict for j in judged.remarks], ranktests.PROPERTY_WORDS),
    }
    return {kind: {word: verdicts.count(word) for word in words} for kind, (verdicts, words) in found.items()}
