"""Batch size: the FC net at batch sizes 2 to 64 for the same examples, the learning rate scaled with the batch, BN
against its variants (an unbiased moving variance, Batch Renorm with and without its warm-up) and the normalizations
that use one example alone (group and layer norm), judged on Ioffe's and Wu & He's claims."""

from __future__ import annotations

import math
from collections.abc import Callable

from matplotlib.figure import Figure

from bn_mnist.core.config import Config, from_dict
from bn_mnist.core.plots import laid_out, subplots
from bn_mnist.lab import stats
from bn_mnist.lab.arms import (
    BESSEL,
    BN,
    GROUP_NORM,
    LAYER_NORM,
    NO_BN,
    RENORM,
    RENORM_WARMUP,
    WARMUP_HOLD,
    WARMUP_RELAXED,
    Arm,
)
from bn_mnist.lab.plan import Plan, RunId
from bn_mnist.lab.stats import PairedEffect
from bn_mnist.lab.text import effect_text, k_of_n, number, spread_text
from bn_mnist.lab.verdicts import MARGIN, Paired, Rule, Verdict, every, some, verdict_policy
from bn_mnist.studies.explain.common import (
    ARMS,
    BAND_NOTE,
    FC_BASE,
    FC_LEARNING_RATE,
    Budget,
    ExplainStudy,
    Runs,
    claim_heading,
    claim_line,
    config_of,
    differences,
    draw_spread,
    mean,
    outcomes,
)
from bn_mnist.studies.explain.results import BatchStudy, Outcomes, Verdicts

BATCH_INDEPENDENT = (GROUP_NORM, LAYER_NORM)  # normalizations that use one example alone (Wu & He 2018)
BATCH_VARIANTS = (BESSEL, RENORM, RENORM_WARMUP)  # BN changed to depend less on small batches: judged against BN
BATCH_ARMS = (BN, *BATCH_VARIANTS, *BATCH_INDEPENDENT, NO_BN)


def batch_learning_rate(size: int) -> float:
    """FC_LEARNING_RATE at the Lesson's batch of 60, scaled linearly with the batch (Goyal et al. 2017): without BN
    every batch size then takes the same path in expectation, so what changes with the batch is BN's doing. At a
    fixed 0.1, batches of 2 failed with and without BN alike (measured: README, "Why does BN help?")."""
    return FC_LEARNING_RATE * size / int(FC_BASE["train"]["batch_size"])


def batch_examples(budget: Budget) -> int:
    """Examples every batch size sees: the FC budget of batches of 60, rounded down to a whole number of batches of
    every size (120,000 as it is; the quick 30,000 becomes 29,952)."""
    whole = math.lcm(*budget.batch_sizes)
    return budget.steps["fc"] * int(FC_BASE["train"]["batch_size"]) // whole * whole


def plan_batch(plan: Plan, budget: Budget) -> None:
    """The FC net at each batch size for the same number of examples."""
    for size in budget.batch_sizes:
        for arm in BATCH_ARMS:
            for seed in range(budget.seeds["batch"]):
                extra = {"train": {"batch_size": size, "learning_rate": batch_learning_rate(size)}}
                steps = batch_examples(budget) // size
                config = config_of("explain-batch", FC_BASE, arm, seed, steps, budget, extra)
                plan.add(RunId("batch", arm.key, seed, value=size), f"batch/b{size}", config)


Drops = dict[str, PairedEffect]


def batch_drops(arms: dict[str, list[Outcomes]]) -> tuple[Drops, Drops, Drops]:
    """Per arm, the paired drop from the largest batch to the smallest; per normalized arm, that drop beyond no
    normalization's in the same seed; per BN variant, how much less it drops than BN in the same seed."""
    drops = {key: differences(points[-1].seeds, points[0].seeds) for key, points in arms.items()}
    drop = {key: stats.paired_effect(points[-1].seeds, points[0].seeds) for key, points in arms.items()}
    excess = {key: stats.paired_effect(found, drops[NO_BN.key]) for key, found in drops.items() if key != NO_BN.key}
    variants = [arm.key for arm in BATCH_VARIANTS if arm.key in drops]
    reduction = {key: stats.paired_effect(drops[BN.key], drops[key]) for key in variants}
    return drop, excess, reduction


def batch_study(plan: Plan, runs: Runs, budget: Budget) -> BatchStudy:
    """Each arm's outcomes per batch size, and its drops (`batch_drops`)."""
    sizes = list(budget.batch_sizes)
    arms = {arm.key: [outcomes(runs, plan.seeds("batch", arm.key, value=size)) for size in sizes] for arm in BATCH_ARMS}
    rates = [batch_learning_rate(size) for size in sizes]
    groups = GROUP_NORM.configure(from_dict(Config, FC_BASE)).bn.groups
    return BatchStudy(sizes, batch_examples(budget), rates, arms, *batch_drops(arms), groups)


FALLS, FLAT, RISES = "falls", "flat", "rises"  # a norm's accuracy from the largest batch to the smallest
REDUCES, NOT_REDUCED = "reduces it", "does not reduce it"  # a BN variant against BN's drop at small batches
EXCESS = "final validation accuracy at the largest batch minus at the smallest, minus the same for no normalization"


def excess_part(arm: Arm) -> Paired:
    return Paired(arm.key, f"{arm.short}'s excess drop ({EXCESS})", FALLS, FLAT, RISES)


RULE = Rule(
    "BN's accuracy falls at small batches, and Batch Renormalization with its warm-up reduces that fall (Ioffe 2017)",
    (
        excess_part(BN),
        *(
            Paired(arm.key, f"{arm.short}'s reduction (BN's drop minus its own)", REDUCES, None, NOT_REDUCED, MARGIN)
            for arm in BATCH_VARIANTS
        ),
    ),
    verdict_policy(
        supported=(every(FALLS, of=(BN.key,)), every(REDUCES, of=(RENORM_WARMUP.key,))),
        partly=(every(FALLS, of=(BN.key,)), every(NOT_REDUCED, of=(RENORM_WARMUP.key,))),
        not_supported=every(FLAT, RISES, of=(BN.key,)),
    ),
    note=f"{RENORM.short} without the warm-up and {BESSEL.short} (does an unbiased moving variance remove the fall?) "
    "get their words too",
)
INDEPENDENT = tuple(arm.key for arm in BATCH_INDEPENDENT)
INDEPENDENT_RULE = Rule(
    "Normalizations that use one example alone keep their accuracy at small batches, where BN's falls (Wu & He 2018)",
    tuple(excess_part(arm) for arm in BATCH_ARMS if arm != NO_BN),
    verdict_policy(
        supported=(every(FALLS, of=(BN.key,)), every(FLAT, RISES, of=INDEPENDENT)),
        not_supported=[(every(FLAT, RISES, of=(BN.key,)),), (some(FALLS, of=INDEPENDENT),)],
    ),
    note="The excess drop is what the normalization adds to the learning-rate schedule's own effect",
)


def judge(study: BatchStudy) -> dict[str, Verdict]:
    """Both claims; results from before GN and LN joined the batch study cannot be judged by the second."""
    found = {"batch": RULE.judge({BN.key: study.excess_drop.get(BN.key)} | study.reduction)}
    if all(arm.key in study.excess_drop for arm in (BN, *BATCH_INDEPENDENT)):
        found["batch_independent"] = INDEPENDENT_RULE.judge(study.excess_drop)
    return found


ARM_NOTES = {  # what the batch study's text says of an arm, beside its name
    "bessel": " (its moving variance averages m/(m-1) x the batch variance, m values per unit: BN otherwise)",
    "renorm": " (r in [1/3, 3], |d| <= 5)",
    "renorm_warmup": f" (the same limits, after plain BN for the first {WARMUP_HOLD:.0%} of the steps and a linear "
    f"relaxation to {WARMUP_RELAXED:.0%}: Ioffe's schedule, scaled to the run)",
    "layer": " (all units of one example)",
}


def batch_setting(study: BatchStudy) -> str:
    sizes, rates = study.sizes, study.learning_rates
    notes = ARM_NOTES | {"group": f" ({study.groups} groups of units)"}
    names = [f"{ARMS[arm].short}{notes.get(arm, '')}" for arm in study.arms]
    return (
        f"The FC net (ReLU, SGD) at batch sizes {', '.join(map(str, sizes))}, each for {study.examples:,} examples; "
        f"arms: {', '.join(names)}. The learning rate is {rates[-1]:.4g} at {sizes[-1]} and scales with the batch "
        f"({rates[0]:.2g} at {sizes[0]}), so that without BN every size takes the same path in expectation."
    )


TRAINING_MODE_NOTE = (
    " Training mode is the accuracy on the run's last logged training batches, with their batch statistics: where "
    "it stays high while inference falls, the population statistics are what fail."
)


def drop_lines(study: BatchStudy, words: dict[str, str]) -> list[str]:
    """Per arm, the paired drop from the largest batch to the smallest, the drop beyond no normalization's, how much
    less than BN's it is (BN's variants), and the word a rule gave it."""
    largest, smallest = study.sizes[-1], study.sizes[0]
    columns = {
        f"drop: final val. acc. at batch {largest} minus at {smallest}, same seed (95% interval)": study.drop,
        "excess drop: minus no normalization's (95% interval)": study.excess_drop,
        "reduction: BN's drop minus this arm's (95% interval)": study.reduction,
    }
    shown = {name: effects for name, effects in columns.items() if effects}  # results made before lack some
    lines = [f"| arm | {' | '.join(shown)} | rule |", "|---" * (len(shown) + 2) + "|"]
    for arm in study.drop:
        cells = [effect_text(effects[arm]) if arm in effects else "-" for effects in shown.values()]
        lines.append(f"| {ARMS[arm].label} | {' | '.join(cells)} | {words.get(arm, '-')} |")
    return [*lines, ""]


def size_table(study: BatchStudy, columns: dict[str, Callable[[Outcomes], str]]) -> list[str]:
    """One row per batch size, the given columns for every arm."""
    arms = study.arms
    header = " | ".join(f"{ARMS[a].short}: {name}" for a in arms for name in columns)
    lines = [f"| batch | {header} |", "|---" * (1 + len(columns) * len(arms)) + "|"]
    for i, size in enumerate(study.sizes):
        cells = [show(points[i]) for points in arms.values() for show in columns.values()]
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def section(study: BatchStudy, verdicts: Verdicts, figure: str) -> list[str]:
    verdict, independent = verdicts.of("batch"), verdicts.batch_independent
    sizes, arms = study.sizes, study.arms
    trained = any(point.train_accuracy for points in arms.values() for point in points)  # results made before: none

    def at(arm: str, index: int, name: str = "val_accuracy") -> str:
        return number(mean(getattr(arms[arm][index], name)))

    def ends(arm: str, name: str) -> str:
        """The arm's mean at the smallest batch and at the largest."""
        return f"{at(arm, 0, name)} and {at(arm, -1, name)}"

    found = "; ".join(
        f"{ARMS[arm].short} {at(arm, 0)} at batch {sizes[0]} and {at(arm, -1)} at {sizes[-1]} ("
        + (f"training mode {ends(arm, 'train_accuracy')}; " if trained else "")
        + f"single-sample {ends(arm, 'single_sample_accuracy')})"
        for arm in arms
    )
    words = {**verdict.parts, **(independent.parts if independent is not None else {})}
    accuracy = {"final val. acc.": lambda point: spread_text(point.val_accuracy)}
    if trained:
        accuracy["training mode"] = lambda point: spread_text(point.train_accuracy)
    other_columns = {
        "single-sample": lambda point: spread_text(point.single_sample_accuracy),
        "diverged": lambda point: k_of_n(point.diverged),
    }
    return [
        *claim_heading("Batch size", verdict),
        *([claim_line(independent), ""] if independent is not None else []),
        f"{batch_setting(study)} Mean final validation accuracy (inference mode: population statistics): {found}."
        + (TRAINING_MODE_NOTE if trained else ""),
        "",
        *(drop_lines(study, words) if study.drop else []),
        f"![batch]({figure})",
        "",
        *size_table(study, accuracy),
        *size_table(study, other_columns),
    ]


def batch_figure(study: BatchStudy) -> Figure:
    """Accuracy against batch size per arm: inference, training mode (results that have it) and single-sample."""
    panels = {"val_accuracy": "final validation accuracy (inference)"}
    if any(point.train_accuracy for points in study.arms.values() for point in points):
        panels["train_accuracy"] = "training mode, last training batches"
    panels["single_sample_accuracy"] = "single-sample accuracy"
    figure, axes = subplots(1, len(panels), figsize=(5 * len(panels), 4))
    for axis, (name, title) in zip(axes, panels.items()):
        for key, points in study.arms.items():
            draw_spread(axis, study.sizes, [getattr(p, name) for p in points], ARMS[key])
        axis.set(xscale="log", ylim=(0, 1), xlabel="batch size", title=title)
        axis.set_xticks(study.sizes, [str(s) for s in study.sizes])
        axis.minorticks_off()
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right")
    rates = f"{study.learning_rates[0]:.2g}..{study.learning_rates[-1]:.4g}"
    setting = f"{study.examples:,} examples seen, FC ReLU, SGD {rates} (scaled with the batch)"
    figure.suptitle(f"Batch size, {setting}\n({BAND_NOTE})")
    return laid_out(figure)


STUDY = ExplainStudy("batch", plan_batch, batch_study, judge, section, batch_figure, (RULE, INDEPENDENT_RULE))
