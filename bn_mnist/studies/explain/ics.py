"""Internal covariate shift (Santurkar et al. 2018, Definition 2.1), layer by layer, BN against no BN on the landscape
study's runs, judged on the claim that BN does not reduce it; and noisy BN, judged on the claim that it trains
about as well as BN."""

from __future__ import annotations

import functools

from matplotlib.figure import Figure

from bn_mnist.core.plots import laid_out, subplots
from bn_mnist.core.tensorboard import tags
from bn_mnist.lab import stats
from bn_mnist.lab.arms import NOISE, NOISY_BN
from bn_mnist.lab.plan import Plan
from bn_mnist.lab.text import effect_text, k_of_n, sci, sci_spread, spread_text
from bn_mnist.lab.verdicts import MARGIN, UNDECIDED, Paired, Policy, Rule, Verdict, clause, every, some, verdict_policy
from bn_mnist.studies.explain.common import (
    ARMS,
    DECADE_MARGIN,
    FC_LEARNING_RATE,
    PAIRED_ARMS,
    SIMILAR,
    Budget,
    ExplainStudy,
    Runs,
    claim_heading,
    claim_line,
    draw_spread,
    layer_names,
    mean,
    outcomes,
)
from bn_mnist.studies.explain.results import IcsStudy, LayerShift, NoisyBN, Verdicts
from bn_mnist.studies.explain.smoothness import in_decades, paired, plan_smoothness, seed_levels, smoothness_runs


def ics_study(plan: Plan, runs: Runs, budget: Budget) -> IcsStudy:
    bn, no_bn = smoothness_runs(plan, "ics")
    layers = layer_names(runs[bn[0]].metrics[0], tags.ICS_L2)

    def shifts(kind: str, bn_smaller: bool) -> dict[str, LayerShift]:
        """Per layer; the paired effect in decades for the l2 difference (bn_smaller), as it stands for the cosine."""
        found = {}
        for layer in layers:
            name = tags.per_layer(kind, layer)
            levels = seed_levels(runs, bn, name), seed_levels(runs, no_bn, name)
            compared = [in_decades(arm) for arm in levels] if bn_smaller else levels
            found[layer] = LayerShift(
                paired(*levels, bn_smaller),
                stats.spread(levels[0]),
                stats.spread(levels[1]),
                stats.paired_effect(*compared),
            )
        return found

    l2, cosine = shifts(tags.ICS_L2, True), shifts(tags.ICS_COSINE, False)
    return IcsStudy(layers, FC_LEARNING_RATE, l2, cosine, noisy_bn(plan, runs, layers))


def noisy_bn(plan: Plan, runs: Runs, layers: list[str]) -> NoisyBN:
    """The noisy-BN runs against the BN and non-BN ones of the same seeds, and their covariate shift per layer."""
    keys = plan.seeds("ics", NOISY_BN.key)
    noisy, bn, no_bn = (outcomes(runs, found) for found in (keys, *smoothness_runs(plan, "ics")))
    l2 = {layer: stats.spread(seed_levels(runs, keys, tags.per_layer(tags.ICS_L2, layer))) for layer in layers}
    return NoisyBN(noisy, stats.paired_effect(bn.seeds, noisy.seeds), stats.paired_effect(noisy.seeds, no_bn.seeds), l2)


SHIFT_SMALLER, SHIFT_LARGER = "BN's smaller", "BN's larger"  # a layer's l2 shift, by decades
COSINE_CLOSER, COSINE_FURTHER = "BN's closer to 1", "BN's further from 1"  # a layer's cosine
REDUCED, NOT_REDUCED = "reduced by BN", "not reduced by BN"  # a layer's shift, both measures
NEAR, BEHIND = "noisy BN at most 0.01 behind", "noisy BN further behind"  # noisy BN against BN
RULE = Rule(
    "BN does not reduce internal covariate shift (Santurkar et al. 2018)",
    (
        Paired(
            "l2",
            "log10 of BN's l2 difference ‖G - G'‖ (median over training) minus log10 of no BN's",
            above=SHIFT_LARGER,
            within=SIMILAR,
            below=SHIFT_SMALLER,
            low=-DECADE_MARGIN,
            high=DECADE_MARGIN,
        ),
        Paired(
            "cosine", "BN's cosine(G, G') (median over training) minus no BN's", COSINE_CLOSER, SIMILAR, COSINE_FURTHER
        ),
    ),
    Policy(
        (
            clause(REDUCED, (every(SHIFT_SMALLER, of=("l2",)), every(COSINE_CLOSER, of=("cosine",)))),
            clause(
                NOT_REDUCED, (every(SIMILAR, SHIFT_LARGER, of=("l2",)), every(SIMILAR, COSINE_FURTHER, of=("cosine",)))
            ),
        ),
        otherwise=UNDECIDED,
    ),
    per="layer",
    across=verdict_policy(every(NOT_REDUCED), some(NOT_REDUCED), every(REDUCED), noun="layer"),
    note="The first layer has nothing before it (0 and 1 by definition) and is not judged",
)
NOISY_RULE = Rule(
    "BN with noise of non-zero mean and non-unit variance after each BN layer, changing every step, trains about "
    "as well as BN (Santurkar et al. 2018: a steady input distribution is not what BN gives)",
    (Paired("behind BN", "BN's final validation accuracy minus noisy BN's", BEHIND, None, NEAR, MARGIN, MARGIN),),
    verdict_policy(supported=every(NEAR), not_supported=every(BEHIND)),
)


def judge(study: IcsStudy) -> dict[str, Verdict]:
    """The covariate-shift claim per layer after the first, and the noisy-BN claim (results that have its runs)."""
    shifts = {layer: {"l2": study.l2[layer].effect, "cosine": study.cosine[layer].effect} for layer in study.layers[1:]}
    found = {"ics": RULE.judge(shifts)}
    if study.noisy is not None:
        found["noisy"] = NOISY_RULE.judge({"behind BN": study.noisy.behind_bn})
    return found


def noisy_lines(noisy: NoisyBN, verdict: Verdict, layers: list[str]) -> list[str]:
    """The noisy-BN claim, its numbers and its covariate shift beside BN's."""
    shift = ", ".join(f"{layer} {sci(mean(noisy.l2[layer]))}" for layer in layers[1:])
    return [
        claim_line(verdict),
        "",
        f"Noisy BN (the `nn` layer, noise {NOISE:g}: per step and channel a mean ~ U(-{NOISE:g}, {NOISE:g}) and an SD "
        f"~ U(0, {NOISE:g}), normal noise of those added to every activation after BN; none at inference): final "
        f"validation accuracy {spread_text(noisy.outcomes.val_accuracy)}; BN minus noisy BN "
        f"{effect_text(noisy.behind_bn)}; noisy BN minus no BN {effect_text(noisy.ahead_of_no_bn)}. Its covariate "
        f"shift (l2, median over training, mean over seeds): {shift}.",
        "",
    ]


def section(study: IcsStudy, verdicts: Verdicts, figure: str) -> list[str]:
    verdict, noisy = verdicts.of("ics"), verdicts.noisy
    parts = verdict.parts
    measured = [layer for layer in study.layers[1:] if layer in parts]
    found = "; ".join(
        f"{layer}: {parts[layer]} (l2 {parts[f'{layer}: l2']}, cosine {parts[f'{layer}: cosine']})"
        for layer in measured
    )
    lines = [
        *claim_heading("Internal covariate shift", verdict),
        f"For each layer, the gradient of its kernel G on a batch and G' after the layers before it took their SGD "
        f"step ({study.learning_rate:g}) on the same batch (Santurkar et al. Definition 2.1), on the same runs as "
        "the landscape; per seed the median over training. The first layer has nothing before it (0 and 1 by "
        "definition). The l2 difference scales with the gradients' size, which BN changes; the cosine does not. "
        f"Layer by layer: {found}.",
        "",
        f"![ics]({figure})",
        "",
        "| layer | l2, BN | l2, no BN | BN smaller | log10 BN - log10 no BN (95% interval) | cosine, BN | "
        "cosine, no BN | BN closer to 1 | BN minus no BN (95% interval) | rule |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for layer in study.layers:
        l2, cosine = study.l2[layer], study.cosine[layer]
        lines.append(
            f"| {layer} | {sci_spread(l2.bn)} | {sci_spread(l2.no_bn)} | {k_of_n(l2.bn_better)} | "
            f"{effect_text(l2.effect)} | {spread_text(cosine.bn)} | {spread_text(cosine.no_bn)} | "
            f"{k_of_n(cosine.bn_better)} | {effect_text(cosine.effect)} | {parts.get(layer, '-')} |"
        )
    lines.append("")
    if study.noisy is not None and noisy is not None:
        lines += noisy_lines(study.noisy, noisy, study.layers)
    return lines


ICS_PANELS = (("l2", "l2 difference ‖G - G'‖", "log"), ("cosine", "cosine(G, G')", "linear"))


def ics_figure(study: IcsStudy) -> Figure:
    """Per layer, BN and no BN. The l2 panel leaves out the first layer: 0 by definition, off a log axis."""
    figure, axes = subplots(1, 2, figsize=(10, 4))
    layers = study.layers
    for axis, (kind, title, scale) in zip(axes, ICS_PANELS):
        shown = range(1 if scale == "log" else 0, len(layers))
        for arm in PAIRED_ARMS:
            shifts = getattr(study, kind)
            draw_spread(axis, list(shown), [getattr(shifts[layers[i]], arm.key) for i in shown], arm)
        if kind == "l2" and study.noisy is not None:
            draw_spread(axis, list(shown), [study.noisy.l2[layers[i]] for i in shown], ARMS[NOISY_BN.key])
        axis.set_xticks(list(shown), [layers[i] for i in shown])
        axis.set(yscale=scale, xlabel="layer", title=title)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle("Internal covariate shift (Santurkar et al. Def. 2.1), median over training per seed")
    return laid_out(figure)


PLAN = functools.partial(plan_smoothness, "ics")
STUDY = ExplainStudy("ics", PLAN, ics_study, judge, section, ics_figure, (RULE, NOISY_RULE))
