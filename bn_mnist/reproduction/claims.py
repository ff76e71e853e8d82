"""The tutorial's published claims as checkable rules, and their verdicts over seeds.

A rule reads one seed's record of its scope (a flat dict such as {"bn.val": 0.98, "no_bn.reach90": None}, built
by `reproduce.py`) and says whether the claim holds for that seed. Over all seeds: PASS (every seed), FAIL (none)
or MIXED (some, with the count).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bn_mnist.reproduction.experiments import CONV, LESSON, NETWORK_LABELS, LessonRow
from bn_mnist.reproduction.records import (
    DIVERGED,
    DRIFT,
    FULL_BATCH_STATS,
    FULL_POPULATION,
    MAX_VAL,
    REACH80,
    REACH90,
    REACH90_TEST,
    SINGLE,
    SINGLE_BATCH_STATS,
    SINGLE_BATCH_STATS_CLASSES,
    SINGLE_POPULATION,
    TEST,
    VAL,
    Record,
    key,
    val_at,
)

bn, no_bn = functools.partial(key, "bn"), functools.partial(key, "no_bn")  # bn(VAL) == "bn.val"
FAILED = 0.15  # "does not learn": at most 15% (the Solutions' "most likely less than 15%")
SHORT_NAMES = {"bn": "BN", "no_bn": "no BN", "bn_keras": "BN (keras)", "bn_nn": "BN (nn)"}


@dataclass(frozen=True)
class Rule:
    """A published claim, the rule that checks it (tolerance included) and the record keys it reads."""

    scope: str  # which records it reads: "conv", "lesson-8", "pitfall", "paper"
    source: str  # where the tutorial (or paper) says it
    claim: str
    rule: str
    holds: Callable[[Record], bool]
    keys: tuple[str, ...]  # shown as our numbers, one value per seed


def reached(step: int | None, by: int) -> bool:
    return step is not None and step <= by


def between(step: int | None, first: int, last: int) -> bool:
    """A threshold was reached, at a step in [first, last]."""
    return step is not None and first <= step <= last


def sooner(step: int | None, other: int | None) -> bool:
    """`step` reached a threshold strictly before `other` (which may never have)."""
    return step is not None and (other is None or step < other)


def final_rule(scope: str, source: str, network: str, field: str, published: float, what: str) -> Rule:
    """Ours against a published final accuracy: <= 15% when it failed, else within 0.02 (>= 0.9) or 0.05."""
    name, short = key(network, field), SHORT_NAMES[network]
    label = NETWORK_LABELS.get(network, short)
    if published <= FAILED:
        return Rule(
            scope,
            source,
            f"{label}: final {what} {published:.4f} (did not learn)",
            f"{short}: final {what} <= {FAILED}",
            lambda r: r[name] is not None and r[name] <= FAILED,
            (name,),
        )
    tolerance = 0.02 if published >= 0.9 else 0.05
    return Rule(
        scope,
        source,
        f"{label}: final {what} {published:.4f}",
        f"{short}: final {what} within {tolerance} of {published:.4f}",
        lambda r: r[name] is not None and abs(r[name] - published) <= tolerance,
        (name,),
    )


def lesson_said(row: LessonRow) -> list[tuple[str, Callable[[Record], bool], tuple[str, ...]]]:
    """The row's qualitative remark as (rule, check, keys); rows whose remark is only about final accuracy have none."""
    said = {
        1: [
            (
                "BN >= 90% by step 1,000; no BN reaches 90% between steps 1,000 and 10,000",
                lambda r: reached(r[bn(REACH90)], 1000) and between(r[no_bn(REACH90)], 1000, 10_000),
                (bn(REACH90), no_bn(REACH90)),
            )
        ],
        2: [
            (
                "BN >= 90% by step 1,000; no BN reaches 80% between steps 1,000 and 2,000",
                lambda r: reached(r[bn(REACH90)], 1000) and between(r[no_bn(REACH80)], 1000, 2000),
                (bn(REACH90), no_bn(REACH80)),
            )
        ],
        3: [
            (
                "no BN reaches 80% only after step 30,000 (or never); BN >= 90% by step 3,000",
                lambda r: not reached(r[no_bn(REACH80)], 30_000) and reached(r[bn(REACH90)], 3000),
                (no_bn(REACH80), bn(REACH90)),
            )
        ],
        4: [
            (
                "no BN learns (validation >= 0.5 at some evaluation), then collapses to <= 0.15",
                lambda r: r[no_bn(MAX_VAL)] >= 0.5 and r[no_bn(VAL)] <= FAILED,
                (no_bn(MAX_VAL), no_bn(VAL), no_bn(DIVERGED)),
            )
        ],
        7: [
            (
                "BN reaches 90% before no BN",
                lambda r: sooner(r[bn(REACH90)], r[no_bn(REACH90)]),
                (bn(REACH90), no_bn(REACH90)),
            )
        ],
        10: [
            (
                "BN ahead after 2,000 steps",
                lambda r: r[bn(VAL)] > r[no_bn(VAL)],
                (bn(VAL), no_bn(VAL)),
            )
        ],
        13: [
            (
                "BN passes 90% only late: between steps 10,000 and 50,000",
                lambda r: between(r[bn(REACH90)], 10_000, 50_000),
                (bn(REACH90),),
            )
        ],
        16: [
            (
                "BN reaches 90% first and ends higher",
                lambda r: sooner(r[bn(REACH90)], r[no_bn(REACH90)]) and r[bn(VAL)] > r[no_bn(VAL)],
                (bn(REACH90), no_bn(REACH90), bn(VAL), no_bn(VAL)),
            )
        ],
    }
    said[5] = said[4]
    return said.get(row.row, [])


def lesson_rules(row: LessonRow) -> list[Rule]:
    scope, source = f"lesson-{row.row}", f"Lesson row {row.row}"
    rules = [
        final_rule(scope, source, network, VAL, published[0], "validation accuracy")
        for network, published in (("no_bn", row.no_bn), ("bn", row.bn))
    ]
    rules += [Rule(scope, source, f'"{row.said}"', text, check, keys) for text, check, keys in lesson_said(row)]
    return rules


def conv_rules() -> list[Rule]:
    text = "Solutions text"
    rules = [
        Rule(
            "conv",
            text,
            '"probably won\'t be much better than 10% (most likely less than 15%)"',
            "no BN: every logged validation accuracy < 0.15",
            lambda r: r[no_bn(MAX_VAL)] < FAILED,
            (no_bn(MAX_VAL),),
        ),
        Rule(
            "conv",
            text,
            '"over 90% in the same number of batches"',
            "BN (keras): final validation >= 0.90",
            lambda r: r[key("bn_keras", VAL)] >= 0.9,
            (key("bn_keras", VAL),),
        ),
        Rule(
            "conv",
            text,
            '"almost 94% after only 500 batches"',
            "BN (keras): validation at batch 500 >= 0.90",
            lambda r: r[key("bn_keras", val_at(500))] is not None and r[key("bn_keras", val_at(500))] >= 0.9,
            (key("bn_keras", val_at(500)),),
        ),
    ]
    for row in CONV:
        source = f"Solutions table, {row.label}"
        rules += [
            final_rule("conv", source, row.key, VAL, row.val, "validation accuracy"),
            final_rule("conv", source, row.key, TEST, row.test, "test accuracy"),
        ]
        if row.single > FAILED:
            rules.append(
                Rule(
                    "conv",
                    source,
                    f"accuracy on 100 single samples {row.single:.2f}",
                    "100-sample accuracy >= 0.90",
                    lambda r, k=row.key: r[key(k, SINGLE)] >= 0.9,
                    (key(row.key, SINGLE),),
                )
            )
    return rules


def pitfall_rules() -> list[Rule]:
    source = "Lesson, inference demonstration"
    return [
        Rule(
            "pitfall",
            source,
            "single examples with batch statistics: 0.05 on 200 images (all predicted '8')",
            "<= 0.15 and a single predicted class",
            lambda r: r[SINGLE_BATCH_STATS] <= FAILED and r[SINGLE_BATCH_STATS_CLASSES] == 1,
            (SINGLE_BATCH_STATS, SINGLE_BATCH_STATS_CLASSES),
        ),
        Rule(
            "pitfall",
            source,
            "single examples with population statistics: 0.97 on the same 200 images",
            "within 0.02 of 0.97",
            lambda r: abs(r[SINGLE_POPULATION] - 0.97) <= 0.02,
            (SINGLE_POPULATION,),
        ),
        Rule(
            "pitfall",
            source,
            "on the full 10k test batch both modes score about 0.95",
            "both within 0.02 of 0.95",
            lambda r: abs(r[FULL_BATCH_STATS] - 0.95) <= 0.02 and abs(r[FULL_POPULATION] - 0.95) <= 0.02,
            (FULL_BATCH_STATS, FULL_POPULATION),
        ),
    ]


def paper_rules() -> list[Rule]:
    source = "Ioffe & Szegedy 2015, Fig. 1"
    return [
        Rule(
            "paper",
            source,
            "(a) with BN the net trains faster and reaches higher test accuracy",
            "BN reaches 90% test accuracy first and ends with higher test accuracy",
            lambda r: sooner(r[bn(REACH90_TEST)], r[no_bn(REACH90_TEST)]) and r[bn(TEST)] > r[no_bn(TEST)],
            (bn(REACH90_TEST), no_bn(REACH90_TEST), bn(TEST), no_bn(TEST)),
        ),
        Rule(
            "paper",
            source,
            "(b, c) with BN the distribution of a sigmoid's input is much more stable",
            "drift of the 15/50/85th percentiles (mean |last 10 evaluations - first 10|) smaller with BN",
            lambda r: r[bn(DRIFT)] is not None and (r[no_bn(DRIFT)] is None or r[bn(DRIFT)] < r[no_bn(DRIFT)]),
            (bn(DRIFT), no_bn(DRIFT)),
        ),  # None: the run diverged, its distribution did not stay anywhere
    ]


def all_rules() -> list[Rule]:
    return [*conv_rules(), *(rule for row in LESSON for rule in lesson_rules(row)), *pitfall_rules(), *paper_rules()]


def count_verdicts(judged: list[dict[str, Any]]) -> dict[str, int]:
    """How many rules PASS, are MIXED and FAIL (the console line and the report both say it)."""
    return {word: sum(v["verdict"].startswith(word) for v in judged) for word in ("PASS", "MIXED", "FAIL")}


def verdict(holds: list[bool]) -> str:
    if all(holds):
        return "PASS"
    if not any(holds):
        return "FAIL"
    return f"MIXED ({sum(holds)}/{len(holds)})"


def judge(records: dict[str, list[Record]]) -> list[dict[str, Any]]:
    """Every rule whose scope has records, with per-seed outcomes, the verdict and the numbers it read."""
    judged = []
    for rule in all_rules():
        seeds = records.get(rule.scope)
        if not seeds:
            continue
        holds = [bool(rule.holds(record)) for record in seeds]
        judged.append(
            {
                "scope": rule.scope,
                "source": rule.source,
                "claim": rule.claim,
                "rule": rule.rule,
                "verdict": verdict(holds),
                "holds": holds,
                "numbers": {key: [record[key] for record in seeds] for key in rule.keys},
            }
        )
    return judged
