"""The tutorial's published results as claims: the rules table, declared before the runs it judges.

Three kinds (judged in judging.py by ranktests.py's rank tests):
- an `Outcome`: whether a published run learned (its final validation accuracy > ranktests.FAILED), once per
  published run, against how many of our seeds share it;
- a `Number`: a value a run printed (or a figure shows), against ours; a value of a run that learned is set among
  our runs that learned (the distribution given success), since a run that did not learn has no value to match;
- a `Remark`: a property the text says its run had, a check on one seed's record (rules.py defines the words).
Quotes are the notebooks' words, verbatim (tests/test_quotes.py checks them against the notebooks' text).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

from bn_mnist.lab.arms import BN, BN_KERAS, BN_NN, NO_BN, Arm
from bn_mnist.studies.reproduce import rules
from bn_mnist.studies.reproduce.experiments import CONV, CONV_STEPS, LESSON, LESSON_ARMS, PITFALL_IMAGES, LessonRow
from bn_mnist.studies.reproduce.experiments import lesson_scope as scope_of
from bn_mnist.studies.reproduce.fields import (
    BATCH_RUN,
    BOUNCES,
    DRIFT,
    FULL_BATCH_STATS,
    FULL_POPULATION,
    MAX_VAL,
    NEAR_MAX_STEP,
    POPULATION_RUN,
    REACH80,
    REACH90,
    REACH90_TEST,
    REACH95,
    SINGLE,
    SINGLE_BATCH_STATS,
    SINGLE_BATCH_STATS_CLASSES,
    SINGLE_POPULATION,
    STUCK,
    TEST,
    VAL,
    WILD_BOUNCES,
    SeedRecord,
    key,
    val_at,
)
from bn_mnist.studies.reproduce.ranktests import FAILED

SHORT_NAMES = {arm.key: arm.short for arm in (BN, NO_BN, BN_KERAS, BN_NN)}
bn, no_bn = functools.partial(key, BN.key), functools.partial(key, NO_BN.key)  # bn(VAL) == "bn.val"
Check = Callable[[SeedRecord], bool]
FIGURES_FILE = "lesson_figures.json"  # the Lesson's 18 figures, digitised (tools/digitise_lesson_figures.py)


@dataclass(frozen=True)
class Outcome:
    """Did a published run learn (by its end: `key` is its final validation accuracy; or by one of its printed points:
    a value <= FAILED, which is which class a net that has not learned predicts, is judged as "not learned yet")?"""

    scope: str  # the records it reads: "conv", "lesson/<setting>", "pitfall", "paper"
    source: str  # where the tutorial prints it
    what: str
    key: str
    published: float
    final: bool = True  # the run's final validation accuracy: its one number in the report-wide tests
    unjudged: tuple[str, ...] = ()  # the run's other printed numbers, which a run that did not learn leaves unjudged

    @property
    def learned(self) -> bool:
        return self.published > FAILED


@dataclass(frozen=True)
class Number:
    """A published value and the record key of ours it is set against; `given` is the key of the final validation
    accuracy of the run it belongs to, when the value is judged among our runs that learned (None: among all)."""

    scope: str
    source: str
    what: str
    key: str
    published: float | int | None  # None: never (a figure's curve that does not reach a threshold)
    note: str = ""
    given: str | None = None


@dataclass(frozen=True)
class Remark:
    """A property the tutorial's run had, as a check on one seed's record."""

    scope: str
    source: str
    said: str  # the notebook's words (verbatim when `verbatim`, else a description of what it printed)
    rule: str  # the check, in words
    holds: Check
    keys: tuple[str, ...]  # the record keys it reads, shown per seed
    verbatim: bool = True
    note: str = ""


Claim = Outcome | Number | Remark


def run_claims(scope: str, source: str, name: str, net: str, printed: dict[str, float], **notes: str) -> list[Claim]:
    """A published run: its outcome, and (if it learned) each value it printed, among our runs that learned; a
    printed value <= FAILED (a point before the run learned) is an outcome of its own. `printed` maps a record field
    (VAL first) to the published value."""
    final = key(net, VAL)
    outcome = Outcome(scope, source, f"{name}: {WHAT[VAL]}", final, printed[VAL])
    if not outcome.learned:
        unjudged = tuple(f"{WHAT[field]} {value:g}" for field, value in printed.items() if field != VAL)
        return [dataclasses.replace(outcome, unjudged=unjudged)]
    claims: list[Claim] = [outcome]
    for field, value in printed.items():
        what, note = f"{name}: {WHAT[field]}", notes.get(field, "")
        if value <= FAILED:
            claims.append(Outcome(scope, source, what, key(net, field), value, final=False))
        else:
            claims.append(Number(scope, source, what, key(net, field), value, note, final))
    return claims


WHAT = {
    VAL: "final validation accuracy",
    TEST: "final test accuracy",
    SINGLE: "accuracy on 100 single test images",
    **{val_at(step): f"validation accuracy at batch {step}" for step in CONV_STEPS},
}


def lesson_numbers(row: LessonRow) -> list[Claim]:
    """The validation and test accuracy a Lesson row printed for both networks."""
    claims: list[Claim] = []
    for arm in LESSON_ARMS:
        printed = dict(zip((VAL, TEST), row.published(arm)))
        claims += run_claims(scope_of(row.setting), f"Lesson row {row.row}", arm.short, arm.key, printed)
    return claims


PERCENT = {REACH80: "80%", REACH90: "90%", REACH95: "95%"}
Rule = tuple[str, Check, tuple[str, ...]]


def reaches_about(net: str, field: str, steps: int) -> Rule:
    """'reaches X% in about N steps' as a check (within [N/2, 2N])."""
    name = key(net, field)
    rule = f"{SHORT_NAMES[net]} reaches {PERCENT[field]} at about {steps:,} ({steps // 2:,}..{2 * steps:,})"
    return rule, lambda r: rules.about(r[name], steps), (name,)


def reaches_after(net: str, field: str, steps: int) -> Rule:
    """'takes over N steps to reach X%' as a check (never counts)."""
    name = key(net, field)
    return (
        f"{SHORT_NAMES[net]} reaches {PERCENT[field]} after step {steps:,}, or never",
        lambda r: rules.after_or_never(r[name], steps),
        (name,),
    )


def nears_best_about(net: str, steps: int) -> Rule:
    name = key(net, NEAR_MAX_STEP)
    rule = f"{SHORT_NAMES[net]} first within {rules.NEAR_MAX} of its best at about {steps:,}"
    return f"{rule} ({steps // 2:,}..{2 * steps:,})", lambda r: rules.about(r[name], steps), (name,)


def nears_best_at_or_after(net: str, steps: int) -> Rule:
    name = key(net, NEAR_MAX_STEP)
    rule = f"{SHORT_NAMES[net]} first within {rules.NEAR_MAX} of its best at {steps // 2:,} or later"
    return rule, lambda r: rules.or_more(r[name], steps), (name,)


def never_learns(net: str = NO_BN.key) -> Rule:
    field = key(net, MAX_VAL)
    return f"{SHORT_NAMES[net]} never above {FAILED} at any evaluation", lambda r: r[field] <= FAILED, (field,)


def bounces(net: str, wild: bool = False) -> Rule:
    field, what = (key(net, WILD_BOUNCES), "wild bounces") if wild else (key(net, BOUNCES), "bounces")
    return f"{SHORT_NAMES[net]}: >= {rules.BOUNCES} {what}", lambda r: r[field] >= rules.BOUNCES, (field,)


def more_stable() -> Rule:
    return "BN: fewer bounces than no BN", lambda r: r[bn(BOUNCES)] < r[no_bn(BOUNCES)], (bn(BOUNCES), no_bn(BOUNCES))


def stuck_at_90(net: str) -> Rule:
    field = key(net, STUCK)
    rule = f"{SHORT_NAMES[net]}: >= {rules.STUCK_STEPS:,} steps from {rules.STUCK_FROM} to {rules.STUCK_TO}"
    return rule, lambda r: r[field] >= rules.STUCK_STEPS, (field,)


def both_end_high() -> Rule:
    return "both end >= 0.95", lambda r: r[bn(VAL)] >= 0.95 and r[no_bn(VAL)] >= 0.95, (bn(VAL), no_bn(VAL))


def faster() -> Rule:
    return (
        "BN reaches 90% first",
        lambda r: rules.sooner(r[bn(REACH90)], r[no_bn(REACH90)]),
        (bn(REACH90), no_bn(REACH90)),
    )


def faster_and_higher() -> Rule:
    return (
        "BN reaches 90% first and ends higher",
        lambda r: rules.sooner(r[bn(REACH90)], r[no_bn(REACH90)]) and r[bn(VAL)] > r[no_bn(VAL)],
        (bn(REACH90), no_bn(REACH90), bn(VAL), no_bn(VAL)),
    )


def almost_immediately_98() -> Rule:
    return (
        "BN reaches 95% by step 1,000 and its best validation accuracy is >= 0.98",
        lambda r: rules.reached(r[bn(REACH95)], 1000) and r[bn(MAX_VAL)] >= 0.98,
        (bn(REACH95), bn(MAX_VAL)),
    )


def crashes() -> Rule:
    return (
        f"no BN reaches >= 0.5, then ends <= {FAILED}",
        lambda r: r[no_bn(MAX_VAL)] >= 0.5 and r[no_bn(VAL)] <= FAILED,
        (no_bn(MAX_VAL), no_bn(VAL)),
    )


def breaks_down() -> Rule:
    return (
        f"BN above {FAILED} at some evaluation, ends <= {FAILED}",
        lambda r: r[bn(MAX_VAL)] > FAILED and r[bn(VAL)] <= FAILED,
        (bn(MAX_VAL), bn(VAL)),
    )


# What the Lesson's text says after each row's run, word for word (the English notebook), as (row, quote, check).
LESSON_REMARKS: list[tuple[int | tuple[int, ...], str, Rule]] = [
    (
        1,
        "reaching accuracies over 90% almost immediately",
        ("BN >= 90% by step 1,000", lambda r: rules.reached(r[bn(REACH90)], 1000), (bn(REACH90),)),
    ),
    (1, "nearing its max acuracy in 10 or 15 thousand iterations", nears_best_about(BN.key, 12_500)),
    (1, "The other network takes about 3 thousand iterations to reach 90%", reaches_about(NO_BN.key, REACH90, 3000)),
    (
        1,
        "doesn't near its best accuracy until 30 thousand or more iterations",
        nears_best_at_or_after(NO_BN.key, 30_000),
    ),
    (
        2,
        "using batch normalization produces a model with over 95% accuracy in only 2000 batches",
        ("BN ends > 0.95", lambda r: r[bn(VAL)] > 0.95, (bn(VAL),)),
    ),
    (2, "it was above 90% at somewhere around 500 batches", reaches_about(BN.key, REACH90, 500)),
    (
        2,
        "Without batch normalization, the model takes 1750 iterations just to hit 80%",
        reaches_about(NO_BN.key, REACH80, 1750),
    ),
    (
        2,
        "the network with batch normalization hits that mark after around 200 iterations",
        reaches_about(BN.key, REACH80, 200),
    ),
    (3, "it took over 45 thousand batches just to get over 80% accuracy", reaches_after(NO_BN.key, REACH80, 45_000)),
    (3, "Using batch normalization gets to 90% in around one thousand batches", reaches_about(BN.key, REACH90, 1000)),
    (4, "at some point the accuracy in the network without batch normalization just completely crashes", crashes()),
    (
        (4, 5),
        "the network with batch normalization manages to gets over 98% accuracy, "
        "and get near that result almost immediately",
        almost_immediately_98(),
    ),
    (6, "both networks achieving high accuracy", both_end_high()),
    (7, "the one with batch normalization gets over 90% in 400 or so batches", reaches_about(BN.key, REACH90, 400)),
    (7, "whereas the other takes over 1700", reaches_after(NO_BN.key, REACH90, 1700)),
    (
        8,
        "the network with batch normalization trains fine and almost immediately manages 98% accuracy",
        almost_immediately_98(),
    ),
    (8, "the network without normalization doesn't learn at all", never_learns()),
    (9, "works well both with and without batch normalization", both_end_high()),
    (10, "batch normalization lets it train faster", faster()),
    (11, "without batch normalization the network never learns anything at all", never_learns()),
    (
        12,
        "without batch normalization it would take a tremendously long time to train the network, "
        "if it ever trained at all",
        ("no BN never reaches 80%", lambda r: r[no_bn(REACH80)] is None, (no_bn(REACH80), no_bn(VAL))),
    ),
    (
        13,
        "allows the network with batch normalization to surpass 90% in about 30 thousand batches",
        reaches_about(BN.key, REACH90, 30_000),
    ),
    (13, "The network without it never gets anywhere", never_learns()),
    (14, "bounces around a lot", bounces(NO_BN.key)),
    (14, "spends a long time stuck at 90%", stuck_at_90(NO_BN.key)),
    (14, "The network with batch normalization trains much more quickly", faster()),
    (14, "seems to be more stable", more_stable()),
    (
        14,
        "and achieves a higher accuracy",
        ("BN ends higher", lambda r: r[bn(VAL)] > r[no_bn(VAL)], (bn(VAL), no_bn(VAL))),
    ),
    (
        15,
        "with batch normalization, it eventually achieves 90% accuracy",
        ("BN's best validation accuracy >= 0.90", lambda r: r[bn(MAX_VAL)] >= 0.9, (bn(MAX_VAL),)),
    ),
    (15, "without batch normalization the network doesn't learn at all", never_learns()),
    (15, "its accuracy bounces around wildly during training", bounces(BN.key, wild=True)),
    (16, "the network with batch normalization trained faster and reached a higher accuracy", faster_and_higher()),
    (16, "bounce around erratically", bounces(NO_BN.key)),
    (16, "have trouble getting past 90%", stuck_at_90(NO_BN.key)),
    (17, "the network doesn't learn at all", never_learns(BN.key)),
    (
        18,
        "the network almost starts to make some progress in the beginning, "
        "but it quickly breaks down and stops learning",
        breaks_down(),
    ),
]


@functools.cache
def lesson_figures() -> dict[int, dict[str, Any]]:
    """The digitised Lesson figures, by row (tools/digitise_lesson_figures.py made the file once)."""
    text = resources.files("bn_mnist.studies.reproduce").joinpath(FIGURES_FILE).read_text(encoding="utf-8")
    return {figure["row"]: figure for figure in json.loads(text)["figures"]}


def row3_note() -> str:
    """Row 3's text disagrees with its own figure: where the figure's BN curve first reaches 90%."""
    figure = lesson_figures()[3]
    step = figure["reach"]["bn"]["0.9"]
    before = figure["curves"]["bn"][figure["x"].index(step) - 1]
    return (
        f"the notebook's own figure (cell {figure['cell']}) has BN first >= 0.9 at step {step:,} (digitised; the "
        f"point before reads {before}): the text disagrees with its figure"
    )


def lesson_remarks() -> list[Remark]:
    by_row = {row.row: row for row in LESSON}
    remarks = []
    for rows, said, (rule, check, keys) in LESSON_REMARKS:
        first, *more = rows if isinstance(rows, tuple) else (rows,)
        source = f"Lesson row{'s' if more else ''} {', '.join(map(str, (first, *more)))}"
        note = row3_note() if (first, keys) == (3, (bn(REACH90),)) else ""
        remarks.append(Remark(scope_of(by_row[first].setting), source, said, rule, check, keys, note=note))
    return remarks


HIDDEN_MARGIN = 2  # pixels: a point hidden under the other curve lies within this of it


def known_below(figure: dict[str, Any], arm: str, index: int, threshold: float) -> bool:
    """Whether the curve of `arm` is below `threshold` at point `index`: read, or hidden where whatever can hide it
    (the other curve there, the legend box) lies more than HIDDEN_MARGIN pixels below the threshold."""
    value = figure["curves"][arm][index]
    if value is not None:
        return bool(value < threshold)
    margin = HIDDEN_MARGIN * figure["y_resolution"]
    other = figure["curves"][BN.key if arm == NO_BN.key else NO_BN.key][index]
    legend = figure["legend_box"]
    in_legend = legend["x"][0] <= figure["x"][index] <= legend["x"][1]
    covers = [v for v in (other, legend["accuracy"][1] if in_legend else None) if v is not None]
    return bool(covers) and max(covers) < threshold - margin


def first_reach(figure: dict[str, Any], arm: str, threshold: float) -> int | None:
    """The figure's first readable point at or above `threshold` (None: none)."""
    return next((x for x, v in zip(figure["x"], figure["curves"][arm]) if v is not None and v >= threshold), None)


def figure_reach(figure: dict[str, Any], arm: str, threshold: str) -> tuple[bool, int | None]:
    """(judgeable, step): the figure's first step at or above the threshold (None: never), judgeable when every
    point before it (every point, for never) is known to be below it, and a pixel's reading error either way
    would give the same step."""
    step = figure["reach"][arm][threshold]
    before = figure["x"].index(step) if step is not None else len(figure["x"])
    hidden_ok = all(known_below(figure, arm, i, float(threshold)) for i in range(before))
    pixel = figure["y_resolution"]
    steady = all(first_reach(figure, arm, float(threshold) + d) == step for d in (-pixel, pixel))
    return hidden_ok and steady, step


def figure_steps() -> Iterator[tuple[LessonRow, dict[str, Any], Arm, str, bool, int | None]]:
    """Each Lesson figure's steps to 80% and 90%, per network: (row, figure, arm, field, judgeable, step)."""
    for row in LESSON:
        figure = lesson_figures()[row.row]
        for arm in LESSON_ARMS:
            for threshold, field in (("0.8", REACH80), ("0.9", REACH90)):
                yield row, figure, arm, field, *figure_reach(figure, arm.key, threshold)


def figure_numbers() -> list[Number]:
    """Each Lesson figure's steps to 80% and 90%, per network (None: its curve never gets there), against ours;
    a step that a hidden point or one pixel could move is not judged (`unjudged_figure_steps` lists them)."""
    return [
        Number(
            scope_of(row.setting),
            f"Lesson row {row.row}, figure (cell {figure['cell']})",
            f"{arm.short}: first step with validation accuracy >= {PERCENT[field]} (digitised)",
            key(arm.key, field),
            step,
            "the figure's point at step k follows k + 1 steps; ours at k follows k",
        )
        for row, figure, arm, field, judgeable, step in figure_steps()
        if judgeable
    ]


def unjudged_figure_steps() -> list[str]:
    """The figures' steps to 80% / 90% that a hidden point or a pixel leaves open, as the report names them."""
    return [
        f"row {row.row} {arm.short} {PERCENT[field]}" for row, _, arm, field, judged, _ in figure_steps() if not judged
    ]


def conv_claims() -> list[Claim]:
    claims: list[Claim] = []
    later = {val_at(step): "the tutorial's point follows one more step than ours" for step in CONV_STEPS}
    for row in CONV:
        printed = {VAL: row.val, TEST: row.test, SINGLE: row.single, **dict(zip(map(val_at, CONV_STEPS), row.curve))}
        claims += run_claims("conv", f"Solutions table, {row.label}", row.arm.short, row.arm.key, printed, **later)
    remark = functools.partial(Remark, "conv", "Solutions text")
    keras_net, nn_net = functools.partial(key, BN_KERAS.key), functools.partial(key, BN_NN.key)
    return [
        *claims,
        remark(
            "your final test and validation accuracies probably won't be much better than 10%. (It will be "
            "different each time, but will most likely be less than 15%.)",
            f"no BN: final validation and test accuracy < {FAILED}",
            lambda r: r[no_bn(VAL)] < FAILED and r[no_bn(TEST)] < FAILED,
            (no_bn(VAL), no_bn(TEST)),
        ),
        remark(
            "Using batch normalization, you'll be able to train this same network to over 90% in that same number "
            "of batches.",
            "BN (keras): final validation > 0.90",
            lambda r: r[keras_net(VAL)] > 0.9,
            (keras_net(VAL),),
        ),
        remark(
            "validation accuracy is almost 94% after only 500 batches",
            "BN (keras): validation at batch 500 >= 0.93",
            lambda r: (r[keras_net(val_at(500))] or 0) >= 0.93,
            (keras_net(val_at(500)),),
        ),
        remark(
            "Once again, the model with batch normalization quickly reaches a high accuracy.",
            "BN (nn): final validation >= 0.90",
            lambda r: r[nn_net(VAL)] >= 0.9,
            (nn_net(VAL),),
        ),
        remark(
            "it doesn't seem to learn anything for the first 250 batches",
            f"BN (nn): validation accuracy at batch 200 <= {FAILED}",
            lambda r: (r[nn_net(val_at(200))] or 0) <= FAILED,
            (nn_net(val_at(200)),),
        ),
    ]


def pitfall_claims() -> list[Claim]:
    """The Lesson's cells 71 and 73: two trainings of row 2's BN net, one tested with batch statistics, one with
    the moving averages; both print their validation accuracy (moving averages, as every validation)."""
    images = f"{PITFALL_IMAGES} single test images"
    first, second = "Lesson cell 71 (batch statistics)", "Lesson cell 73 (moving averages)"
    batch_run, population_run = key(BATCH_RUN, VAL), key(POPULATION_RUN, VAL)
    return [
        Outcome("pitfall", first, "final validation accuracy", batch_run, 0.9528),
        Number("pitfall", first, "final validation accuracy", batch_run, 0.9528, given=batch_run),
        Number("pitfall", first, "all 10,000 test images, batch statistics", FULL_BATCH_STATS, 0.9503, given=batch_run),
        Outcome("pitfall", first, f"{images}, batch statistics: accuracy", SINGLE_BATCH_STATS, 0.05, final=False),
        Remark(
            "pitfall",
            first,
            "its 200 predictions printed as 8, 8, 8, ... (one class)",
            "batch statistics on single images: one class for all",
            lambda r: r[SINGLE_BATCH_STATS_CLASSES] == 1,
            (SINGLE_BATCH_STATS_CLASSES,),
            verbatim=False,
        ),
        Outcome("pitfall", second, "final validation accuracy", population_run, 0.9578),
        Number("pitfall", second, "final validation accuracy", population_run, 0.9578, given=population_run),
        Number(
            "pitfall", second, "all 10,000 test images, moving averages", FULL_POPULATION, 0.9537, given=population_run
        ),
        Number(
            "pitfall", second, f"{images}, moving averages: accuracy", SINGLE_POPULATION, 0.97, given=population_run
        ),
    ]


def paper_claims() -> list[Remark]:
    remark = functools.partial(Remark, "paper", "Ioffe & Szegedy 2015, Fig. 1", verbatim=False)
    return [
        remark(
            "(a) with BN the network trains faster",
            "BN reaches 90% test accuracy first",
            lambda r: rules.sooner(r[bn(REACH90_TEST)], r[no_bn(REACH90_TEST)]),
            (bn(REACH90_TEST), no_bn(REACH90_TEST)),
        ),
        remark(
            "(a) ... and reaches higher test accuracy",
            "BN ends with higher test accuracy",
            lambda r: r[bn(TEST)] > r[no_bn(TEST)],
            (bn(TEST), no_bn(TEST)),
        ),
        remark(
            "(b, c) with BN the distribution of the sigmoid inputs is much more stable",
            "smaller drift with BN (median over the last hidden layer's 100 units)",
            lambda r: r[bn(DRIFT)] is not None and (r[no_bn(DRIFT)] is None or r[bn(DRIFT)] < r[no_bn(DRIFT)]),
            (bn(DRIFT), no_bn(DRIFT)),
        ),
    ]


def all_claims() -> list[Claim]:
    lesson = [claim for row in LESSON for claim in lesson_numbers(row)]
    return [*conv_claims(), *lesson, *lesson_remarks(), *figure_numbers(), *pitfall_claims(), *paper_claims()]
