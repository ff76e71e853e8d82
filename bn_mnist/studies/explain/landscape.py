"""The loss landscape along the gradient (Santurkar et al. 2018): loss range, gradient change and effective
β-smoothness at the same distances for BN and no BN, on the next training batch and a held-out one, and
scale-invariant; judged on the claim that BN makes the landscape smoother."""

from __future__ import annotations

import functools

from matplotlib.figure import Figure

from bn_mnist.core.plots import laid_out, subplots
from bn_mnist.core.tensorboard import tags
from bn_mnist.lab import stats
from bn_mnist.lab.arms import BN, NO_BN
from bn_mnist.lab.plan import Plan
from bn_mnist.lab.text import effect_text, k_of_n, sci_spread, spread_text
from bn_mnist.lab.verdicts import UNDECIDED, Paired, Rule, Verdict, every, no, some, verdict_policy
from bn_mnist.studies.explain.common import (
    BAND_NOTE,
    DECADE_MARGIN,
    FC_LEARNING_RATE,
    PAIRED_ARMS,
    ROUGHER,
    SIMILAR,
    SMOOTHER,
    Budget,
    ExplainStudy,
    Runs,
    claim_heading,
    draw_spread,
    outcomes,
)
from bn_mnist.studies.explain.results import LandscapeStudy, PairedMeasure, Verdicts, measure_name
from bn_mnist.studies.explain.smoothness import (
    KERNEL_FRACTIONS,
    LANDSCAPE_DISTANCES,
    in_decades,
    measure_arm,
    paired,
    plan_smoothness,
    seed_levels,
    smoothness_runs,
)

VARIANTS = (tags.LANDSCAPE, tags.HELD_OUT, tags.RELATIVE)  # the figure's rows
MEASURES = (tags.LOSS_RANGE, tags.GRADIENT_CHANGE, tags.BETA, tags.LOSS_GRADIENT_NORM)  # its columns
# the scale-invariant variant measures the loss range and the gradient change alone
LANDSCAPE_TAGS = [tags.landscape_tag(variant, measure) for variant in VARIANTS[:2] for measure in MEASURES]
LANDSCAPE_TAGS += [tags.landscape_tag(tags.RELATIVE, measure) for measure in MEASURES[:2]]


def landscape_study(plan: Plan, runs: Runs, budget: Budget) -> LandscapeStudy:
    bn, no_bn = smoothness_runs(plan, "landscape")

    def measure(name: str) -> PairedMeasure:
        levels = seed_levels(runs, bn, name), seed_levels(runs, no_bn, name)
        return PairedMeasure(
            paired(*levels),
            measure_arm(runs, bn, name),
            measure_arm(runs, no_bn, name),
            stats.paired_effect(*(in_decades(arm) for arm in levels)),
        )

    found = {name: measure(name) for name in LANDSCAPE_TAGS}
    per_arm = {BN.key: outcomes(runs, bn), NO_BN.key: outcomes(runs, no_bn)}
    return LandscapeStudy(FC_LEARNING_RATE, list(LANDSCAPE_DISTANCES), list(KERNEL_FRACTIONS), found, per_arm)


# the landscape measures the rule judges (the gradient norm is reported, not judged)
JUDGED_LANDSCAPE = [tag for tag in LANDSCAPE_TAGS if not tag.endswith(f"/{tags.LOSS_GRADIENT_NORM}")]
RULE = Rule(
    "BN makes the landscape smoother (Santurkar et al. 2018)",
    tuple(
        Paired(
            tag,
            f"log10 of BN's {measure_name(tag)} (median over training) minus log10 of no BN's",
            above=ROUGHER,
            within=SIMILAR,
            below=SMOOTHER,
            low=-DECADE_MARGIN,
            high=DECADE_MARGIN,
        )
        for tag in JUDGED_LANDSCAPE
    ),
    verdict_policy(
        supported=every(SMOOTHER),
        partly=(some(SMOOTHER), no(ROUGHER)),
        not_supported=(no(SMOOTHER), no(UNDECIDED)),
        noun="measure",
    ),
    note=f"Within +-{DECADE_MARGIN:g} decades is a factor {10**DECADE_MARGIN:.2f}; the measures are taken at the same "
    "distances for both nets, on the next training batch and on a held-out batch, and scale-invariant",
)


def judge(study: LandscapeStudy) -> dict[str, Verdict]:
    decades = {tag: study.paired[tag].decades if tag in study.paired else None for tag in JUDGED_LANDSCAPE}
    return {"landscape": RULE.judge(decades)}


def section(study: LandscapeStudy, verdicts: Verdicts, figure: str) -> list[str]:
    verdict = verdicts.of("landscape")
    distances = ", ".join(f"{d:g}" for d in study.distances)
    fractions = ", ".join(f"{f:.1%}" for f in study.kernel_fractions)
    lines = [
        *claim_heading("Loss landscape along the gradient", verdict),
        f"At every evaluation of the FC net (ReLU, SGD {study.learning_rate:g}) we step from the current weights "
        f"along the gradient of the batch the next step trains on, by ‖Δθ‖ = {distances} (the same distances for "
        "both nets: a net whose gradient is smaller is not credited for moving less), and record the loss's range, "
        "the largest change of the gradient and that change per distance moved (Santurkar et al. §3.1); again on "
        "a held-out batch of as many validation images; and, scale-invariant (BN makes a layer's loss independent "
        f"of its kernel's scale), each kernel along its own gradient by {fractions} of its norm, with the gradient "
        "change relative to each kernel's gradient. All statelessly, in training mode. Per seed, each measure's "
        "median over training; the table gives their spread and BN's against no BN's in the same seed.",
        "",
        f"![landscape]({figure})",
        "",
        "| measure | BN | no BN | BN smaller | log10 BN - log10 no BN, same seed (95% interval) | rule |",
        "|---|---|---|---|---|---|",
    ]
    for tag, m in study.paired.items():
        lines.append(
            f"| {measure_name(tag)} | {sci_spread(m.bn.median_over_training)} | "
            f"{sci_spread(m.no_bn.median_over_training)} | {k_of_n(m.bn_smaller)} | {effect_text(m.decades)} | "
            f"{verdict.parts.get(tag, '-')} |"
        )
    outcomes = study.outcomes
    lines += [
        "",
        f"Final validation accuracy: BN {spread_text(outcomes[BN.key].val_accuracy)}, no BN "
        f"{spread_text(outcomes[NO_BN.key].val_accuracy)}.",
        "",
    ]
    return lines


def landscape_figure(study: LandscapeStudy) -> Figure:
    """Each landscape measure over training (columns), on the training batch, the held-out batch and scale-invariant
    (rows, where measured), BN and no BN."""
    figure, axes = subplots(len(VARIANTS), len(MEASURES), figsize=(18, 11), squeeze=False)
    for row, variant in zip(axes, VARIANTS):
        for axis, measure in zip(row, MEASURES):
            tag = tags.landscape_tag(variant, measure)
            if tag not in study.paired:
                axis.set_axis_off()
                continue
            for arm in PAIRED_ARMS:
                curve = getattr(study.paired[tag], arm.key).curve
                draw_spread(axis, curve.step, curve.value, arm)
            axis.set(yscale="log", xlabel="training step", title=measure_name(tag))
            axis.grid(alpha=0.3)
            axis.legend(fontsize=8)
    distances = ", ".join(f"{d:g}" for d in study.distances)
    figure.suptitle(
        f"Loss landscape along the gradient (Santurkar et al. §3), FC ReLU, SGD {study.learning_rate:g}; "
        f"‖Δθ‖ = {distances} for both nets ({BAND_NOTE})"
    )
    return laid_out(figure)


PLAN = functools.partial(plan_smoothness, "landscape")
STUDY = ExplainStudy("landscape", PLAN, landscape_study, judge, section, landscape_figure, (RULE,))
