"""The deep plain net without BN: the Solutions' 19-layer conv net for its 800 batches with BN, and without it at its
own init, He, LSUV and SELU + LeCun, judged on the claim that it learns once its start is right."""

from __future__ import annotations

from matplotlib.figure import Figure

from bn_mnist.core.plots import laid_out, subplots
from bn_mnist.lab import stats
from bn_mnist.lab.arms import BN, BN_FREE_INITS, NO_BN
from bn_mnist.lab.plan import Plan, RunId
from bn_mnist.lab.text import effect_text, k_of_n, spread_text
from bn_mnist.lab.verdicts import Fraction, Rule, Verdict, every, some, verdict_policy
from bn_mnist.studies.explain.common import (
    ARMS,
    CONV_BASE,
    DOTS_NOTE,
    REACH,
    Budget,
    ExplainStudy,
    Runs,
    claim_heading,
    config_of,
    outcomes,
)
from bn_mnist.studies.explain.results import PlainStudy, Verdicts

PLAIN_ARMS = (BN, NO_BN, *BN_FREE_INITS)  # the 19-layer conv net with BN, and without it at four inits


def plan_plain(plan: Plan, budget: Budget) -> None:
    """The Solutions' 19-layer conv net for the conv budget (its 800 batches): with BN, and without it at its own
    init, He, LSUV and SELU + LeCun."""
    for arm in PLAIN_ARMS:
        for seed in range(budget.seeds["plain"]):
            config = config_of("explain-plain", CONV_BASE, arm, seed, budget.steps["conv"], budget)
            plan.add(RunId("plain", arm.key, seed), "plain", config)


def plain_study(plan: Plan, runs: Runs, budget: Budget) -> PlainStudy:
    """Each arm's outcomes, and how far each arm without BN ends behind BN in the same seed."""
    arms = {arm.key: outcomes(runs, plan.seeds("plain", arm.key)) for arm in PLAIN_ARMS}
    behind = {key: stats.paired_effect(arms[BN.key].seeds, found.seeds) for key, found in arms.items() if key != BN.key}
    return PlainStudy(budget.steps["conv"], arms, behind)


LEARNS, FAILS = "learns", "does not learn"  # an arm of the plain net, by its learn fraction's Wilson interval
BN_FREE = tuple(arm.key for arm in BN_FREE_INITS)
RULE = Rule(
    "The 19-layer plain conv net learns without BN once its start is right: with He init, LSUV or SELU + LeCun",
    tuple(
        Fraction(arm.key, f"{arm.label} reaches {REACH:g} final validation accuracy", LEARNS, FAILS)
        for arm in PLAIN_ARMS
    ),
    verdict_policy(every(LEARNS, of=BN_FREE), some(LEARNS, of=BN_FREE), every(FAILS, of=BN_FREE), "BN-free init"),
    note="At 10 seeds an arm learns when 9 or more of 10 reach it, and does not when at most 1 of 10 does",
)


def judge(study: PlainStudy) -> dict[str, Verdict]:
    return {"plain": RULE.judge({key: found.trains for key, found in study.arms.items()})}


def section(study: PlainStudy, verdicts: Verdicts, figure: str) -> list[str]:
    verdict = verdicts.of("plain")
    lines = [
        *claim_heading("The deep plain net without BN", verdict),
        f"The Solutions' 19-layer conv net for {study.steps:,} batches (Adam, the same seeds and batches), with BN and "
        "without it at four starts: its own init (Glorot uniform), He normal (He et al. 2015), LSUV (Mishkin & "
        "Matas 2016: orthogonal kernels, each layer scaled to unit output variance on 256 training images before "
        "step 0) and SELU with LeCun normal (Klambauer et al. 2017). Does the plain net learn once its start is "
        "right, and how close does it come to BN? The output layer takes each arm's init too (LSUV scales it like the "
        "others).",
        "",
        f"![plain]({figure})",
        "",
        f"| arm | final val. acc. | reaches {REACH:g} | learns? | BN minus this arm, same seed (95% interval) |",
        "|---|---|---|---|---|",
    ]
    for arm, found in study.arms.items():
        behind = effect_text(study.behind_bn[arm]) if arm in study.behind_bn else "-"
        lines.append(
            f"| {ARMS[arm].label} | {spread_text(found.val_accuracy)} | {k_of_n(found.trains)} | "
            f"{verdict.parts.get(arm, '-')} | {behind} |"
        )
    return [*lines, ""]


def plain_figure(study: PlainStudy) -> Figure:
    """Each arm's final validation accuracy per seed (dots) and their mean (bar), the learn threshold dashed."""
    figure, axis = subplots(1, 1, figsize=(8, 4))
    for x, (key, found) in enumerate(study.arms.items()):
        arm = ARMS[key]
        if found.val_accuracy is not None:
            axis.bar(x, found.val_accuracy.mean, color=arm.colour, alpha=0.35, width=0.6)
        seeds = [v for v in found.seeds if v is not None]
        axis.scatter([x] * len(seeds), seeds, color=arm.colour, s=14, zorder=3)
        axis.annotate(f"{found.trains.k}/{found.trains.n}", (x, 1.01), ha="center", fontsize=9)
    axis.axhline(REACH, color="gray", linestyle="--", linewidth=1)
    axis.set_xticks(range(len(study.arms)), [ARMS[key].label for key in study.arms], rotation=15, fontsize=8)
    axis.set(ylim=(0, 1.08), ylabel="final validation accuracy")
    axis.grid(alpha=0.3, axis="y")
    figure.suptitle(
        f"The 19-layer conv net, {study.steps:,} batches (bar: mean; {DOTS_NOTE}; k/n: seeds reaching {REACH:g})"
    )
    return laid_out(figure)


STUDY = ExplainStudy("plain", plan_plain, plain_study, judge, section, plain_figure, (RULE,))
