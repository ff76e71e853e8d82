"""The tutorial's published results as claims, judged over seeds.

Two kinds. A published number (a final accuracy, a point of a curve) is set against the distribution of ours and
called TYPICAL, LUCKY, UNLUCKY or NOT REPRODUCED (`stats.judge_number`). A published run that did not learn
(<= 0.15) and every remark of the text ("BN 90% in ~400 batches") is a property of one run: we give the fraction
of our seeds that have it, with a 95% Wilson interval, and call it ALWAYS, USUALLY, SOMETIMES or NEVER
(`stats.judge_fraction`). "About N steps" means within [N/2, 2N], everywhere; a claim about speed is judged on
steps to a threshold, never on a final value. A remark that several rows make about the same runs is judged once.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass

from bn_mnist.lab import stats
from bn_mnist.lab.arms import BN, BN_KERAS, BN_NN, NO_BN
from bn_mnist.reproduction.experiments import (
    CONV,
    CONV_STEPS,
    LESSON,
    LESSON_ARMS,
    PITFALL_IMAGES,
    LessonRow,
    lesson_scope,
)
from bn_mnist.reproduction.fields import (
    DIVERGED,
    DRIFT,
    FULL_BATCH_STATS,
    FULL_POPULATION,
    MAX_VAL,
    REACH80,
    REACH90,
    REACH90_TEST,
    REACH95,
    SINGLE,
    SINGLE_BATCH_STATS,
    SINGLE_BATCH_STATS_CLASSES,
    SINGLE_POPULATION,
    TEST,
    VAL,
    VAL_LAST,
    SeedRecord,
    key,
    val_at,
)
from bn_mnist.reproduction.results import JudgedNumber, JudgedRemark

PAIRED_ROWS = (17, 18)  # their BN numbers are the second draw of rows 13 and 15: judged in the pair's remark
FAILED = 0.15  # "does not learn": at most 15% (the Solutions' "most likely less than 15%")
SHORT_NAMES = {arm.key: arm.short for arm in (BN, NO_BN, BN_KERAS, BN_NN)}
bn, no_bn = functools.partial(key, BN.key), functools.partial(key, NO_BN.key)  # bn(VAL) == "bn.val"
Check = Callable[[SeedRecord], bool]


@dataclass(frozen=True)
class Number:
    """A published number and the record key of ours it is set against."""

    scope: str  # the records it reads: "conv", "lesson/<setting>", "pitfall", "paper"
    source: str  # where the tutorial says it
    what: str
    key: str
    published: float
    note: str = ""


@dataclass(frozen=True)
class Remark:
    """A property the tutorial's run had, as a check on one seed's record."""

    scope: str
    source: str
    said: str  # what the tutorial says (or printed)
    rule: str  # the check, in words
    holds: Check
    keys: tuple[str, ...]  # the record keys it reads, shown per seed


def reached(step: int | None, by: int) -> bool:
    return step is not None and step <= by


def about(step: int | None, steps: int) -> bool:
    """'About N steps': reached within [N/2, 2N]."""
    return step is not None and steps / 2 <= step <= 2 * steps


def sooner(step: int | None, other: int | None) -> bool:
    """`step` reached a threshold strictly before `other` (which may never have)."""
    return step is not None and (other is None or step < other)


def after_or_never(step: int | None, steps: int) -> bool:
    return step is None or step > steps


def did_not_learn(scope: str, source: str, what: str, field: str, published: float) -> Remark:
    return Remark(
        scope,
        source,
        f"{what} {published:.4f} (did not learn)",
        f"{what} <= {FAILED}",
        lambda r: r[field] is not None and r[field] <= FAILED,
        (field,),
    )


def published(scope: str, source: str, what: str, field: str, value: float, note: str = "") -> Number | Remark:
    """A published number; a run that did not learn is a property ("<= 0.15"), not a value to match."""
    if value <= FAILED:
        return did_not_learn(scope, source, what, field, value)
    return Number(scope, source, what, field, value, note)


def lesson_numbers(row: LessonRow) -> list[Number | Remark]:
    """The numbers a Lesson row printed: validation and test accuracy of both networks (of no BN only for rows
    17 and 18, whose BN outcome is judged with its pair's)."""
    scope, source = lesson_scope(row.setting), f"Lesson row {row.row}"
    arms = (NO_BN,) if row.row in PAIRED_ROWS else LESSON_ARMS
    return [
        published(scope, source, f"{arm.short}: final {what} accuracy", key(arm.key, field), value)
        for arm in arms
        for (what, field), value in zip((("validation", VAL), ("test", TEST)), row.published(arm))
    ]


def joined(first: str, second: str) -> str:
    """Two sources as one: "Lesson row 4" and "Lesson row 5" -> "Lesson rows 4, 5"; others joined by "; "."""
    if first.startswith("Lesson row") and second.startswith("Lesson row "):
        return first.replace(" row ", " rows ") + f", {second.split()[-1]}"
    return f"{first}; {second}"


def one_remark_per_rule(claims: list[Number | Remark]) -> list[Number | Remark]:
    """Claims with one remark per (scope, rule): rows that repeat a setting and both printed a failed run make one
    property claim about the same runs, with both sources."""
    out: list[Number | Remark] = []
    index: dict[tuple[str, str], int] = {}
    for claim in claims:
        if isinstance(claim, Remark) and (claim.scope, claim.rule) in index:
            i = index[(claim.scope, claim.rule)]
            first = out[i]
            assert isinstance(first, Remark)  # the index holds remarks only
            out[i] = dataclasses.replace(
                first, source=joined(first.source, claim.source), said=f"{first.said}; {claim.said}"
            )
            continue
        if isinstance(claim, Remark):
            index[(claim.scope, claim.rule)] = len(out)
        out.append(claim)
    return out


PERCENT = {REACH80: "80%", REACH90: "90%", REACH95: "95%"}


def reaches_about(net: str, field: str, steps: int) -> tuple[str, Check, tuple[str, ...]]:
    """'reaches X% in about N steps' as a check (within [N/2, 2N])."""
    name = key(net, field)
    rule = f"{SHORT_NAMES[net]} reaches {PERCENT[field]} at about {steps:,} ({steps // 2:,}..{2 * steps:,})"
    return rule, lambda r: about(r[name], steps), (name,)


def reaches_after(net: str, field: str, steps: int) -> tuple[str, Check, tuple[str, ...]]:
    """'takes more than N steps to reach X%' as a check (never counts)."""
    name = key(net, field)
    return (
        f"{SHORT_NAMES[net]} reaches {PERCENT[field]} after step {steps:,}, or never",
        lambda r: after_or_never(r[name], steps),
        (name,),
    )


def never_learns(what: str = "no BN") -> tuple[str, Check, tuple[str, ...]]:
    field = key(NO_BN.key if what == NO_BN.short else BN.key, MAX_VAL)
    return f"{what} never above {FAILED} at any evaluation", lambda r: r[field] <= FAILED, (field,)


def both_end_high() -> tuple[str, Check, tuple[str, ...]]:
    return "both end >= 0.95", lambda r: r[bn(VAL)] >= 0.95 and r[no_bn(VAL)] >= 0.95, (bn(VAL), no_bn(VAL))


def faster_and_higher() -> tuple[str, Check, tuple[str, ...]]:
    return (
        "BN reaches 90% first and ends higher",
        lambda r: sooner(r[bn(REACH90)], r[no_bn(REACH90)]) and r[bn(VAL)] > r[no_bn(VAL)],
        (bn(REACH90), no_bn(REACH90), bn(VAL), no_bn(VAL)),
    )


def almost_immediately_98() -> tuple[str, Check, tuple[str, ...]]:
    return (
        "BN reaches 95% by step 1,000 and its best validation accuracy is >= 0.98",
        lambda r: reached(r[bn(REACH95)], 1000) and r[bn(MAX_VAL)] >= 0.98,
        (bn(REACH95), bn(MAX_VAL)),
    )


def bn_learns() -> tuple[str, Check, tuple[str, ...]]:
    return "BN learns: final validation accuracy > 0.5", lambda r: r[bn(VAL)] > 0.5, (bn(VAL),)


# What the Lesson's text says after each run (read in the English notebook), as (rows, quote, check).
LESSON_REMARKS: list[tuple[tuple[int, ...], str, tuple[str, Check, tuple[str, ...]]]] = [
    (
        (1,),
        "BN reaches accuracies over 90% almost immediately",
        ("BN >= 90% by step 1,000", lambda r: reached(r[bn(REACH90)], 1000), (bn(REACH90),)),
    ),
    (
        (1,),
        "the other network takes about 3 thousand iterations to reach 90%",
        reaches_about("no_bn", REACH90, 3000),
    ),
    ((2,), "over 95% accuracy in only 2000 batches", ("BN ends >= 0.95", lambda r: r[bn(VAL)] >= 0.95, (bn(VAL),))),
    (
        (2,),
        "BN was above 90% at somewhere around 500 batches",
        reaches_about("bn", REACH90, 500),
    ),
    (
        (2,),
        "the network with batch normalization hits [80%] after around 200 iterations",
        reaches_about("bn", REACH80, 200),
    ),
    (
        (2,),
        "without batch normalization, the model takes 1750 iterations just to hit 80%",
        reaches_about("no_bn", REACH80, 1750),
    ),
    (
        (3,),
        "it took over 45 thousand batches just to get over 80%",
        reaches_after("no_bn", REACH80, 45_000),
    ),
    (
        (3,),
        "using batch normalization gets to 90% in around one thousand batches",
        reaches_about("bn", REACH90, 1000),
    ),
    (
        (4, 5),
        "at some point the accuracy in the network without batch normalization just completely crashes",
        (
            "no BN reaches >= 0.5, then ends <= 0.15",
            lambda r: r[no_bn(MAX_VAL)] >= 0.5 and r[no_bn(VAL)] <= FAILED,
            (no_bn(MAX_VAL), no_bn(VAL), no_bn(DIVERGED)),
        ),
    ),
    (
        (4, 5),
        "the network with batch normalization gets over 98% accuracy, and gets near that almost immediately",
        almost_immediately_98(),
    ),
    ((6,), "both networks achieving high accuracy", both_end_high()),
    (
        (7,),
        "the one with batch normalization gets over 90% in 400 or so batches",
        reaches_about("bn", REACH90, 400),
    ),
    (
        (7,),
        "whereas the other takes over 1700",
        reaches_after("no_bn", REACH90, 1700),
    ),
    (
        (8,),
        "the network with batch normalization trains fine and almost immediately manages 98% accuracy",
        almost_immediately_98(),
    ),
    ((8,), "the network without normalization doesn't learn at all", never_learns()),
    ((9,), "works well both with and without batch normalization", both_end_high()),
    (
        (10,),
        "batch normalization lets it train faster",
        ("BN reaches 90% first", lambda r: sooner(r[bn(REACH90)], r[no_bn(REACH90)]), (bn(REACH90), no_bn(REACH90))),
    ),
    ((11,), "without batch normalization the network never learns anything at all", never_learns()),
    (
        (12,),
        "without batch normalization it would take a tremendously long time to train, if it ever trained at all",
        ("no BN never reaches 80%", lambda r: r[no_bn(REACH80)] is None, (no_bn(REACH80), no_bn(VAL))),
    ),
    (
        (13,),
        "BN surpasses 90% in about 30 thousand batches",
        reaches_about("bn", REACH90, 30_000),
    ),
    ((13,), "the network without it never gets anywhere", never_learns()),
    ((13, 17), "the same setting printed BN 0.9244 (row 13) and BN 0.0988 (row 17)", bn_learns()),
    (
        (14,),
        "BN trains much more quickly, seems to be more stable, and achieves a higher accuracy",
        faster_and_higher(),
    ),
    (
        (15,),
        "with batch normalization, it eventually achieves 90% accuracy",
        ("BN's best validation accuracy >= 0.90", lambda r: r[bn(MAX_VAL)] >= 0.9, (bn(MAX_VAL),)),
    ),
    ((15,), "without batch normalization the network doesn't learn at all", never_learns()),
    ((15, 18), "the same setting printed BN 0.9128 (row 15) and BN 0.0986 (row 18)", bn_learns()),
    (
        (18,),
        "the network almost starts to make some progress in the beginning, but it quickly breaks down",
        (
            "BN above 0.15 at some evaluation, ends <= 0.15",
            lambda r: r[bn(MAX_VAL)] > FAILED and r[bn(VAL)] <= FAILED,
            (bn(MAX_VAL), bn(VAL)),
        ),
    ),
    ((16,), "the network with batch normalization trained faster and reached a higher accuracy", faster_and_higher()),
]


def lesson_claims() -> list[Number | Remark]:
    claims = [claim for row in LESSON for claim in lesson_numbers(row)]
    by_row = {row.row: row for row in LESSON}
    for rows, said, (rule, check, keys) in LESSON_REMARKS:
        source = "Lesson row" + ("s " + " and ".join(map(str, rows)) if len(rows) > 1 else f" {rows[0]}")
        claims.append(Remark(lesson_scope(by_row[rows[0]].setting), source, f'"{said}"', rule, check, keys))
    return claims


def conv_claims() -> list[Number | Remark]:
    claims: list[Number | Remark] = []
    for row in CONV:
        source, name, arm = f"Solutions table, {row.label}", row.arm.short, row.arm.key
        if row.arm != NO_BN:  # no BN's points are all ~0.10: the text's "every evaluation < 0.15" covers them
            note = "the tutorial's point follows one more step than ours"
            claims += [
                published(
                    "conv",
                    source,
                    f"{name}: validation accuracy at batch {step}",
                    key(arm, val_at(step)),
                    value,
                    note,
                )
                for step, value in zip(CONV_STEPS, row.curve)
            ]
        claims += [
            published("conv", source, f"{name}: final validation accuracy", key(arm, VAL), row.val),
            published("conv", source, f"{name}: final test accuracy", key(arm, TEST), row.test),
            published("conv", source, f"{name}: accuracy on 100 single test images", key(arm, SINGLE), row.single),
        ]
    text = "Solutions text"
    return [
        *claims,
        Remark(
            "conv",
            text,
            '"probably won\'t be much better than 10% (most likely less than 15%)"',
            f"no BN: every logged validation accuracy < {FAILED}",
            lambda r: r[key(NO_BN.key, MAX_VAL)] < FAILED,
            (key(NO_BN.key, MAX_VAL),),
        ),
        Remark(
            "conv",
            text,
            '"you\'ll be able to train this same network to over 90% in that same number of batches"',
            "BN (keras): final validation >= 0.90",
            lambda r: r[key(BN_KERAS.key, VAL)] >= 0.9,
            (key(BN_KERAS.key, VAL), key(BN_KERAS.key, VAL_LAST)),
        ),
        Remark(
            "conv",
            text,
            '"validation accuracy is almost 94% after only 500 batches"',
            "BN (keras): validation at batch 500 >= 0.93",
            lambda r: (r[key(BN_KERAS.key, val_at(500))] or 0) >= 0.93,
            (key(BN_KERAS.key, val_at(500)),),
        ),
        Remark(
            "conv",
            text,
            '"the model with batch normalization quickly reaches a high accuracy" (tf.nn net)',
            "BN (nn): final validation >= 0.90",
            lambda r: r[key(BN_NN.key, VAL)] >= 0.9,
            (key(BN_NN.key, VAL), key(BN_NN.key, VAL_LAST)),
        ),
        Remark(
            "conv",
            text,
            '"it doesn\'t seem to learn anything for the first 250 batches" (tf.nn net)',
            f"BN (nn): validation accuracy at batch 200 <= {FAILED}",
            lambda r: (r[key(BN_NN.key, val_at(200))] or 0) <= FAILED,
            (key(BN_NN.key, val_at(200)),),
        ),
    ]


def pitfall_claims() -> list[Number | Remark]:
    source = "Lesson, inference demonstration"
    images = f"{PITFALL_IMAGES} single test images"
    return [
        did_not_learn("pitfall", source, f"batch statistics on {images}: accuracy", SINGLE_BATCH_STATS, 0.05),
        Remark(
            "pitfall",
            source,
            "all 200 predictions were '8'",
            "batch statistics on single images: one class for all",
            lambda r: r[SINGLE_BATCH_STATS_CLASSES] == 1,
            (SINGLE_BATCH_STATS_CLASSES,),
        ),
        Number("pitfall", source, f"moving averages on {images}: accuracy", SINGLE_POPULATION, 0.97),
        Number(
            "pitfall",
            source,
            "batch statistics on all 10,000 test images: accuracy",
            FULL_BATCH_STATS,
            0.95,
            "published as 'about 0.95'",
        ),
        Number(
            "pitfall",
            source,
            "moving averages on all 10,000 test images: accuracy",
            FULL_POPULATION,
            0.95,
            "published as 'about 0.95'",
        ),
    ]


def paper_claims() -> list[Remark]:
    source = "Ioffe & Szegedy 2015, Fig. 1"
    return [
        Remark(
            "paper",
            source,
            "(a) with BN the network trains faster",
            "BN reaches 90% test accuracy first",
            lambda r: sooner(r[bn(REACH90_TEST)], r[no_bn(REACH90_TEST)]),
            (bn(REACH90_TEST), no_bn(REACH90_TEST)),
        ),
        Remark(
            "paper",
            source,
            "(a) ... and reaches higher test accuracy",
            "BN ends with higher test accuracy",
            lambda r: r[bn(TEST)] > r[no_bn(TEST)],
            (bn(TEST), no_bn(TEST)),
        ),
        Remark(
            "paper",
            source,
            "(b, c) with BN the distribution of the sigmoid inputs is much more stable",
            "smaller drift with BN (median over the last hidden layer's 100 units)",
            lambda r: r[bn(DRIFT)] is not None and (r[no_bn(DRIFT)] is None or r[bn(DRIFT)] < r[no_bn(DRIFT)]),
            (bn(DRIFT), no_bn(DRIFT)),
        ),
    ]


def all_claims() -> list[Number | Remark]:
    return one_remark_per_rule([*conv_claims(), *lesson_claims(), *pitfall_claims(), *paper_claims()])


def judge_number(claim: Number, seeds: list[SeedRecord]) -> JudgedNumber | None:
    verdict = stats.judge_number(claim.published, [r[claim.key] for r in seeds])
    if verdict is None:
        return None
    values = {claim.key: [r[claim.key] for r in seeds]}
    last = claim.key.removesuffix(f".{VAL}") + f".{VAL_LAST}" if claim.key.endswith(f".{VAL}") else None
    if last and last in seeds[0]:
        values[last] = [r[last] for r in seeds]  # the endpoint alone is noisy: the mean of the last evaluations too
    return JudgedNumber(
        scope=claim.scope, source=claim.source, what=claim.what, note=claim.note, values=values, **vars(verdict)
    )


def judge_remark(claim: Remark, seeds: list[SeedRecord]) -> JudgedRemark:
    holds = [bool(claim.holds(record)) for record in seeds]
    return JudgedRemark(
        scope=claim.scope,
        source=claim.source,
        said=claim.said,
        rule=claim.rule,
        holds=holds,
        values={k: [r.get(k) for r in seeds] for k in claim.keys},
        **vars(stats.judge_fraction(holds)),
    )


@dataclass(frozen=True)
class Judged:
    """Every judged claim: the published numbers and the remarks."""

    numbers: list[JudgedNumber]
    remarks: list[JudgedRemark]


def judge(records: dict[str, list[SeedRecord]]) -> Judged:
    """Every claim whose scope has records: the published numbers and the remarks, each with its verdict."""
    numbers, remarks = [], []
    for claim in all_claims():
        seeds = records.get(claim.scope)
        if not seeds:
            continue
        if isinstance(claim, Number):
            judged = judge_number(claim, seeds)
            numbers += [judged] if judged else []
        else:
            remarks.append(judge_remark(claim, seeds))
    return Judged(numbers, remarks)


NUMBER_VERDICTS = (stats.TYPICAL, stats.LUCKY, stats.UNLUCKY, stats.NOT_REPRODUCED, stats.ONE_SAMPLE)
REMARK_VERDICTS = (stats.ALWAYS, stats.USUALLY, stats.SOMETIMES, stats.NEVER)


def count_verdicts(judged: Judged) -> dict[str, dict[str, int]]:
    """How many numbers and remarks got each verdict (the console line and the report both say it)."""
    return {
        "numbers": {word: sum(v.verdict == word for v in judged.numbers) for word in NUMBER_VERDICTS},
        "remarks": {word: sum(v.verdict == word for v in judged.remarks) for word in REMARK_VERDICTS},
    }


def headline(counts: dict[str, dict[str, int]]) -> str:
    """The console's line: how many numbers and remarks got each verdict."""
    parts = [", ".join(f"{n} {word}" for word, n in counts[kind].items() if n) or "none" for kind in counts]
    numbers, remarks = (sum(counts[kind].values()) for kind in counts)
    return f"{numbers} published numbers: {parts[0]}; {remarks} remarks: {parts[1]}"
