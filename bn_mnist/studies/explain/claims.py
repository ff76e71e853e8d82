"""`explain`'s claims and the rules that judge them, declared here as data and functions of the study results, so
that the verdict words are made in one place and stored in results.json; the report only prints them.

A verdict word is SUPPORTED, PARTLY or NOT_SUPPORTED (the ICS claim has no partial form); the rules built on paired
intervals and seed fractions (learning rate, batch-independent norms, the plain net) say INCONCLUSIVE when the seeds
cannot decide.
Paired counts ("BN smaller in k of n seeds") and paired effects are per seed: the runs of a seed share its batch order
and, where the arms have the same layers and init, its initial weights.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bn_mnist.core.tensorboard import tags
from bn_mnist.lab.arms import BESSEL, BN, BN_FREE_INITS, NO_BN, RENORM, RENORM_WARMUP
from bn_mnist.lab.stats import PAIRED_LEVEL, WILSON_LEVEL, FractionVerdict, PairedEffect
from bn_mnist.studies.explain.results import (
    BatchStudy,
    GridPanel,
    GridStudy,
    IcsStudy,
    InsideAnswer,
    InsideArm,
    InsideStudy,
    LandscapeStudy,
    NoisyBN,
    PlainStudy,
    Studies,
    Verdict,
    Verdicts,
)
from bn_mnist.studies.explain.studies import BATCH_INDEPENDENT, REACH

SUPPORTED, PARTLY, NOT_SUPPORTED = "supported", "partly supported", "not supported"
INCONCLUSIVE = "inconclusive"
MARGIN = 0.01  # accuracy changes within +-MARGIN (one point) count as none: the batch rule's "flat"
FALLS, FLAT, RISES, UNDECIDED = "falls", "flat", "rises", "undecided"  # a norm's accuracy from large to small batch
LEARNS, FAILS = "learns", "does not learn"  # an arm of the plain net, by its learn fraction's Wilson interval
SMOOTHER, SIMILAR, ROUGHER = "smoother with BN", "similar", "rougher with BN"  # one landscape measure, by decades
DECADE_MARGIN = 0.1  # log10 ratios within +-this (a factor 1.26) count as no difference
JUDGED_LANDSCAPE = [  # the landscape measures the rule judges (the gradient norm is reported, not judged)
    tags.landscape_tag(variant, measure)
    for variant in (tags.LANDSCAPE, tags.HELD_OUT)
    for measure in (tags.LOSS_RANGE, tags.GRADIENT_CHANGE, tags.BETA)
] + [tags.landscape_tag(tags.RELATIVE, measure) for measure in (tags.LOSS_RANGE, tags.GRADIENT_CHANGE)]
REDUCES, NOT_REDUCED = "reduces it", "does not reduce it"
SHIFT_SMALLER, SHIFT_LARGER = "BN's smaller", "BN's larger"  # a layer's l2 shift, by decades
COSINE_CLOSER, COSINE_FURTHER = "BN's closer to 1", "BN's further from 1"  # a layer's cosine
REDUCED, NOT_REDUCED_SHIFT = (
    "reduced by BN",
    "not reduced by BN",
)  # a layer's shift, both measures  # a BN variant against BN's drop at small batches
SENSITIVE, INSENSITIVE = "sensitive", "insensitive"  # BN's final accuracy over the initial SDs
LESS, NOT_LESS = "less sensitive than without BN", "not less sensitive than without BN"
HIGHER, NOT_HIGHER = "higher", "not higher"  # BN's largest stable learning rate against no BN's, over seeds
AHEAD, EVEN, BEHIND = "BN ahead", "even", "BN behind"  # BN's accuracy against no BN's at the smallest rate
ABOVE, WITHIN, BELOW, NEITHER = "above", "within", "below", "neither"  # where an interval lies: against +-MARGIN,
# or against 1/2 (neither: across a bound, or no interval)
STABLE_PART, SMALL_PART = "largest stable rate", "at the smallest rate"  # the lr rule's parts, per panel
SENSITIVITY_PART, COMPARED_PART = "BN's sensitivity", "against no BN"  # the init rule's parts, per panel
VANISHED = 1e-3  # the deepest layer's output SD below this fraction of the first's at step 0: the signal vanished
VANISHING, DYING, INSIDE_LEARNS = "vanishing signal", "dying ReLUs", "learns"  # the inside study's answers
INSIDE_CAUSES = {  # answer -> what the report says (the dead fraction at step 0 fills the first)
    VANISHING: "The signal vanishes with depth before training starts ({dead_start} dead ReLUs then, so not dead "
    "units): the output hardly depends on the image and the early layers' gradients are orders of magnitude below "
    "BN's; the ReLUs that die later follow.",
    DYING: "Most of the deepest layer's ReLUs die during training.",
    INSIDE_LEARNS: "Neither a vanishing signal nor dead units stop it: it learns, more slowly than with BN.",
}


@dataclass(frozen=True)
class Claim:
    """A published claim and, in words, the rule that judges it."""

    text: str
    rule: str


CLAIMS = {
    "lr": Claim(
        "BN's benefit is the larger learning rates it allows: its largest stable rate is higher, and at a matched "
        "small rate its advantage disappears (Bjorck et al. 2018)",
        f"per panel, two parts. Largest stable rate: per seed the largest grid rate up to which none of its runs "
        f"diverged; BN's is {HIGHER} if the {WILSON_LEVEL:.0%} Wilson interval of the fraction of seeds where it "
        f"exceeds no BN's lies above 1/2, {NOT_HIGHER} if below, else {UNDECIDED} (a seed stable at the grid's top "
        f"with and without BN is left out: the grid cannot judge it). At the smallest rate: BN's "
        f"final validation accuracy minus no BN's, same seed, with its {PAIRED_LEVEL:.0%} t interval: {AHEAD} if "
        f"the interval lies above {MARGIN:g}, {EVEN} if within +-{MARGIN:g}, {BEHIND} if below -{MARGIN:g}, else "
        f"{UNDECIDED}. A panel is {SUPPORTED} if {HIGHER} and {EVEN} or {BEHIND}; {PARTLY} if {HIGHER} and {AHEAD} "
        f"(BN helps at the small rate too); {NOT_SUPPORTED} if {NOT_HIGHER}; else {INCONCLUSIVE}. The claim takes "
        f"the word of every panel when they agree; else {PARTLY} if some panel is {SUPPORTED} or {PARTLY}, else "
        f"{INCONCLUSIVE}",
    ),
    "init": Claim(
        "BN makes training insensitive to the initial scale (the Lesson's bad-weight rows)",
        f"per panel, an arm's sensitivity is its best final validation accuracy over the grid of initial SDs minus "
        f"its worst, per seed, with its {PAIRED_LEVEL:.0%} t interval: BN is {SENSITIVE} if the interval lies above "
        f"{MARGIN:g}, {INSENSITIVE} if below, else {UNDECIDED}; and no BN's sensitivity minus BN's, same seed: BN is "
        f"{LESS} if its interval lies above {MARGIN:g}, {NOT_LESS} if below, else {UNDECIDED}. A panel is "
        f"{SUPPORTED} if BN is {INSENSITIVE} and {LESS}; {PARTLY} if {SENSITIVE} and {LESS}; {NOT_SUPPORTED} if "
        f"{NOT_LESS}; else {INCONCLUSIVE}. The claim takes the word of every panel when they agree; else {PARTLY} if "
        f"some panel is {SUPPORTED} or {PARTLY}, else {INCONCLUSIVE}. (A best minus a worst of noisy values is "
        f"above 0 even where nothing matters: about 0.005 for 7 values at this net's seed-to-seed SD of ~0.002)",
    ),
    "landscape": Claim(
        "BN makes the landscape smoother (Santurkar et al. 2018)",
        f"per measure, log10 of BN's median over training minus log10 of no BN's, same seed, with its "
        f"{PAIRED_LEVEL:.0%} t interval: {SMOOTHER} if the interval lies below -{DECADE_MARGIN:g} (BN's smaller by "
        f"a factor {10**DECADE_MARGIN:.2f} or more), {ROUGHER} if above {DECADE_MARGIN:g}, {SIMILAR} if within "
        f"+-{DECADE_MARGIN:g}, else {UNDECIDED}. The measures judged: loss range, gradient change and effective "
        f"β-smoothness at the same distances for both nets, on the next training batch and on a held-out batch, and "
        f"the scale-invariant loss range and relative gradient change. {SUPPORTED}: every one {SMOOTHER}; "
        f"{PARTLY}: some {SMOOTHER} and none {ROUGHER}; {NOT_SUPPORTED}: none {SMOOTHER} and none {UNDECIDED}; "
        f"else {INCONCLUSIVE}",
    ),
    "ics": Claim(
        "BN does not reduce internal covariate shift (Santurkar et al. 2018)",
        f"per layer after the first (the first has nothing before it), BN against no BN in the same seed, with "
        f"{PAIRED_LEVEL:.0%} t intervals: the l2 difference in decades is {SHIFT_SMALLER} below -{DECADE_MARGIN:g}, "
        f"{SHIFT_LARGER} above {DECADE_MARGIN:g}, {SIMILAR} within; the cosine's difference is {COSINE_CLOSER} "
        f"above {MARGIN:g}, {COSINE_FURTHER} below -{MARGIN:g}, {SIMILAR} within; else {UNDECIDED}. A layer's shift "
        f"is {REDUCED} when its l2 is {SHIFT_SMALLER} and its cosine {COSINE_CLOSER}, {NOT_REDUCED_SHIFT} when "
        f"neither is (both decided), else {UNDECIDED}. {SUPPORTED}: every such layer {NOT_REDUCED_SHIFT}; "
        f"{NOT_SUPPORTED}: every one {REDUCED}; {PARTLY}: some {NOT_REDUCED_SHIFT}; else {INCONCLUSIVE}",
    ),
    "noisy": Claim(
        "BN with noise of non-zero mean and non-unit variance after each BN layer, changing every step, trains about "
        "as well as BN (Santurkar et al. 2018: a steady input distribution is not what BN gives)",
        f"BN's final validation accuracy minus noisy BN's, same seed, with its {PAIRED_LEVEL:.0%} t interval: "
        f"{SUPPORTED} if the interval lies below {MARGIN:g} (noisy BN at most {MARGIN:g} behind, or ahead); "
        f"{NOT_SUPPORTED} if above it; else {INCONCLUSIVE}",
    ),
    "batch": Claim(
        "BN's accuracy falls at small batches, and Batch Renormalization with its warm-up reduces that fall "
        "(Ioffe 2017)",
        f"BN's excess drop (final validation accuracy at the largest batch minus at the smallest, minus the same for "
        f"no normalization in the same seed), with its {PAIRED_LEVEL:.0%} t interval: it {FALLS} if the interval "
        f"lies above {MARGIN:g}, is {FLAT} if within +-{MARGIN:g}, {RISES} if below -{MARGIN:g}, else {UNDECIDED}. "
        f"A BN variant's reduction (BN's drop minus the variant's, same seed, {PAIRED_LEVEL:.0%} t interval): it "
        f"{REDUCES} if the interval lies above {MARGIN:g}, {NOT_REDUCED} if below it, else {UNDECIDED}. "
        f"{SUPPORTED}: BN {FALLS} and {RENORM_WARMUP.short} {REDUCES}; {PARTLY}: BN {FALLS} and "
        f"{RENORM_WARMUP.short} {NOT_REDUCED}; {NOT_SUPPORTED}: BN is {FLAT} or {RISES}; else {INCONCLUSIVE}. "
        f"{RENORM.short} without the warm-up and {BESSEL.short} (does an unbiased moving variance remove the "
        f"fall?) get their words too",
    ),
    "batch_independent": Claim(
        "Normalizations that use one example alone keep their accuracy at small batches, where BN's falls "
        "(Wu & He 2018)",
        f"per normalization, its excess drop: final validation accuracy at the largest batch minus at the smallest, "
        f"minus the same for no normalization in the same seed (what the normalization adds to the learning-rate "
        f"schedule's own effect), with its {PAIRED_LEVEL:.0%} t interval. It {FALLS} if the interval lies above "
        f"{MARGIN:g}, is {FLAT} if within +-{MARGIN:g}, {RISES} if below -{MARGIN:g}, else {UNDECIDED}. "
        f"{SUPPORTED}: BN {FALLS} and every batch-independent norm ({', '.join(a.short for a in BATCH_INDEPENDENT)}) "
        f"is {FLAT} or {RISES}; {NOT_SUPPORTED}: BN is {FLAT} or {RISES}, or a batch-independent norm {FALLS}; "
        f"else {INCONCLUSIVE} (the seeds cannot decide)",
    ),
    "plain": Claim(
        "The 19-layer plain conv net learns without BN once its start is right: with He init, LSUV or SELU + LeCun",
        f"an arm {LEARNS} if the {WILSON_LEVEL:.0%} Wilson interval of its fraction of seeds reaching {REACH:g} "
        f"final validation accuracy lies above 1/2 (of 10 seeds: 9 or more), {FAILS} if it lies below (at most 1 "
        f"of 10), else {UNDECIDED}. {SUPPORTED}: every BN-free init "
        f"({', '.join(a.short for a in BN_FREE_INITS)}) {LEARNS}; {PARTLY}: some does; {NOT_SUPPORTED}: every one "
        f"{FAILS}; else {INCONCLUSIVE} (the seeds cannot decide)",
    ),
}


def side(effect: PairedEffect | None) -> str:
    """Where a paired effect's interval lies against +-MARGIN."""
    if effect is None or effect.interval is None:
        return NEITHER
    low, high = effect.interval
    if low > MARGIN:
        return ABOVE
    if high < -MARGIN:
        return BELOW
    return WITHIN if low > -MARGIN and high < MARGIN else NEITHER


def fraction_side(found: FractionVerdict | None) -> str:
    """Where a fraction's Wilson interval lies against 1/2."""
    if found is None:
        return NEITHER
    low, high = found.wilson_95
    return ABOVE if low > 0.5 else BELOW if high < 0.5 else NEITHER


def combined(words: list[str]) -> str:
    """A claim judged per panel: the panels' word when they agree; else partly if some panel supports it."""
    if len(set(words)) == 1:
        return words[0]
    return PARTLY if SUPPORTED in words or PARTLY in words else INCONCLUSIVE


def lr_panel(panel: GridPanel) -> tuple[str, str, str]:
    """A panel's word, and the words of its two parts: the largest stable rate, the advantage at the smallest
    (results made before the panel kept them cannot decide either)."""
    stable = {ABOVE: HIGHER, BELOW: NOT_HIGHER}.get(fraction_side(panel.stable_higher), UNDECIDED)
    small = {ABOVE: AHEAD, WITHIN: EVEN, BELOW: BEHIND}.get(side(next(iter(panel.advantage), None)), UNDECIDED)
    if stable == HIGHER and small in (EVEN, BEHIND):
        word = SUPPORTED
    elif stable == HIGHER and small == AHEAD:
        word = PARTLY
    elif stable == NOT_HIGHER:
        word = NOT_SUPPORTED
    else:
        word = INCONCLUSIVE
    return word, stable, small


def judge_panels(
    study: GridStudy, claim: str, judge_panel: Callable[[GridPanel], tuple[str, str, str]], part_names: tuple[str, str]
) -> Verdict:
    """A grid study's verdict: each panel's word and its two parts' words (`parts`), then `combined`."""
    parts: dict[str, str] = {}
    for name, panel in study.panels.items():
        word, *words = judge_panel(panel)
        parts |= {name: word} | {f"{name}: {part}": found for part, found in zip(part_names, words, strict=True)}
    word = combined([parts[name] for name in study.panels])
    return Verdict(CLAIMS[claim].text, CLAIMS[claim].rule, word, parts=parts)


def judge_lr(study: GridStudy) -> Verdict:
    return judge_panels(study, "lr", lr_panel, (STABLE_PART, SMALL_PART))


def init_panel(panel: GridPanel) -> tuple[str, str, str]:
    """A panel's word, and its parts': BN's own sensitivity to the initial SD, and BN's against no BN's (results
    made before the panel kept them cannot decide)."""
    own = {ABOVE: SENSITIVE, BELOW: INSENSITIVE}.get(against_margin(panel.sensitivity.get(BN.key)), UNDECIDED)
    less = {ABOVE: LESS, BELOW: NOT_LESS}.get(against_margin(panel.less_sensitive), UNDECIDED)
    if own == INSENSITIVE and less == LESS:
        word = SUPPORTED
    elif own == SENSITIVE and less == LESS:
        word = PARTLY
    elif less == NOT_LESS:
        word = NOT_SUPPORTED
    else:
        word = INCONCLUSIVE
    return word, own, less


def judge_init(study: GridStudy) -> Verdict:
    return judge_panels(study, "init", init_panel, (SENSITIVITY_PART, COMPARED_PART))


def smoothness_word(decades: PairedEffect | None) -> str:
    """One landscape measure: BN's median against no BN's, in decades, by its paired interval."""
    return decades_word(decades, SMOOTHER, ROUGHER)


def judge_landscape(study: LandscapeStudy) -> Verdict:
    words = {
        tag: smoothness_word(study.paired[tag].decades if tag in study.paired else None) for tag in JUDGED_LANDSCAPE
    }
    found = list(words.values())
    if all(w == SMOOTHER for w in found):
        word = SUPPORTED
    elif SMOOTHER in found and ROUGHER not in found:
        word = PARTLY
    elif SMOOTHER not in found and UNDECIDED not in found:
        word = NOT_SUPPORTED
    else:
        word = INCONCLUSIVE
    return Verdict(CLAIMS["landscape"].text, CLAIMS["landscape"].rule, word, parts=words)


def decades_word(decades: PairedEffect | None, smaller: str, larger: str) -> str:
    """BN's value against no BN's in decades, by its paired interval against +-DECADE_MARGIN."""
    if decades is None or decades.interval is None:
        return UNDECIDED
    low, high = decades.interval
    if high < -DECADE_MARGIN:
        return smaller
    if low > DECADE_MARGIN:
        return larger
    return SIMILAR if low > -DECADE_MARGIN and high < DECADE_MARGIN else UNDECIDED


def layer_shift(l2: str, cosine: str) -> str:
    if l2 == SHIFT_SMALLER and cosine == COSINE_CLOSER:
        return REDUCED
    if l2 in (SIMILAR, SHIFT_LARGER) and cosine in (SIMILAR, COSINE_FURTHER):
        return NOT_REDUCED_SHIFT
    return UNDECIDED


def judge_ics(study: IcsStudy) -> Verdict:
    parts: dict[str, str] = {}
    for layer in study.layers[1:]:
        l2 = decades_word(study.l2[layer].effect, SHIFT_SMALLER, SHIFT_LARGER)
        cosine = {ABOVE: COSINE_CLOSER, BELOW: COSINE_FURTHER, WITHIN: SIMILAR}.get(
            side(study.cosine[layer].effect), UNDECIDED
        )
        parts |= {layer: layer_shift(l2, cosine), f"{layer}: l2": l2, f"{layer}: cosine": cosine}
    found = [parts[layer] for layer in study.layers[1:]]
    if all(w == NOT_REDUCED_SHIFT for w in found):
        word = SUPPORTED
    elif all(w == REDUCED for w in found):
        word = NOT_SUPPORTED
    elif NOT_REDUCED_SHIFT in found:
        word = PARTLY
    else:
        word = INCONCLUSIVE
    return Verdict(CLAIMS["ics"].text, CLAIMS["ics"].rule, word, parts=parts)


def judge_noisy(noisy: NoisyBN) -> Verdict:
    word = {BELOW: SUPPORTED, ABOVE: NOT_SUPPORTED}.get(against_margin(noisy.behind_bn), INCONCLUSIVE)
    return Verdict(CLAIMS["noisy"].text, CLAIMS["noisy"].rule, word)


def against_margin(effect: PairedEffect | None) -> str:
    """Whether a paired effect's interval lies above +MARGIN (ABOVE) or below it (BELOW)."""
    if effect is None or effect.interval is None:
        return NEITHER
    low, high = effect.interval
    return ABOVE if low > MARGIN else BELOW if high < MARGIN else NEITHER


def reduction_word(effect: PairedEffect | None) -> str:
    """Whether a BN variant drops less than BN from the largest batch to the smallest, by its paired interval."""
    return {ABOVE: REDUCES, BELOW: NOT_REDUCED}.get(against_margin(effect), UNDECIDED)


def judge_batch(study: BatchStudy) -> Verdict:
    """Results made before the excess drops and reductions were kept cannot decide."""
    bn = change_word(study.excess_drop.get(BN.key))
    words = {BN.key: bn} | {key: reduction_word(effect) for key, effect in study.reduction.items()}
    renorm = words.get(RENORM_WARMUP.key, UNDECIDED)
    if bn == FALLS and renorm == REDUCES:
        word = SUPPORTED
    elif bn == FALLS and renorm == NOT_REDUCED:
        word = PARTLY
    elif bn in (FLAT, RISES):
        word = NOT_SUPPORTED
    else:
        word = INCONCLUSIVE
    return Verdict(CLAIMS["batch"].text, CLAIMS["batch"].rule, word, parts=words)


def change_word(effect: PairedEffect | None) -> str:
    """How an arm's accuracy changes from the largest batch to the smallest, by its paired interval."""
    return {ABOVE: FALLS, WITHIN: FLAT, BELOW: RISES}.get(side(effect), UNDECIDED)


def judge_batch_independent(study: BatchStudy) -> Verdict:
    words = {key: change_word(effect) for key, effect in study.excess_drop.items()}
    bn, independent = words[BN.key], [words[arm.key] for arm in BATCH_INDEPENDENT]
    if bn == FALLS and all(w in (FLAT, RISES) for w in independent):
        word = SUPPORTED
    elif bn in (FLAT, RISES) or FALLS in independent:
        word = NOT_SUPPORTED
    else:
        word = INCONCLUSIVE
    return Verdict(CLAIMS["batch_independent"].text, CLAIMS["batch_independent"].rule, word, parts=words)


def learn_word(trains: FractionVerdict) -> str:
    return {ABOVE: LEARNS, BELOW: FAILS}.get(fraction_side(trains), UNDECIDED)


def judge_plain(study: PlainStudy) -> Verdict:
    words = {key: learn_word(found.trains) for key, found in study.arms.items()}
    bn_free = [words[arm.key] for arm in BN_FREE_INITS]
    if all(w == LEARNS for w in bn_free):
        word = SUPPORTED
    elif LEARNS in bn_free:
        word = PARTLY
    elif all(w == FAILS for w in bn_free):
        word = NOT_SUPPORTED
    else:
        word = INCONCLUSIVE
    return Verdict(CLAIMS["plain"].text, CLAIMS["plain"].rule, word, parts=words)


def has_batch_independent(study: BatchStudy) -> bool:
    """Results from before GN and LN joined the batch study cannot be judged by their claim."""
    return all(arm.key in study.excess_drop for arm in (BN, *BATCH_INDEPENDENT))


def layer_mean(arm: InsideArm, moment: str, kind: str, layer: str) -> float | None:
    found = getattr(arm, moment)[kind].get(layer)
    return None if found is None else found.mean


def deepest_of_kind(layers: list[str]) -> str:
    """The last layer of the first layer's kind: conv19 in the conv net, dense03 in the FC net."""
    kind = layers[0].rstrip("0123456789")
    return [layer for layer in layers if layer.rstrip("0123456789") == kind][-1]


def inside_answer(no_bn: InsideArm) -> InsideAnswer:
    """Why the network without BN does (not) learn: its signal vanished at step 0 (output SD of the deepest layer of
    the first kind below VANISHED of the first's), most of that layer's ReLUs died by the end, or neither."""
    layers = list(no_bn.start[tags.ACTIVATION_STD])
    first, last = layers[0], deepest_of_kind(layers)
    first_sd, last_sd = (layer_mean(no_bn, "start", tags.ACTIVATION_STD, layer) for layer in (first, last))
    shrink = None if first_sd is None or last_sd is None else last_sd / first_sd
    dead_end = layer_mean(no_bn, "end", tags.DEAD_RELU, last)
    if shrink is not None and shrink < VANISHED:
        return InsideAnswer(VANISHING, shrink)
    if dead_end is not None and dead_end > 0.5:
        return InsideAnswer(DYING, shrink)
    return InsideAnswer(INSIDE_LEARNS, shrink)


def judge_inside(study: InsideStudy) -> dict[str, InsideAnswer]:
    return {net: inside_answer(arms[NO_BN.key]) for net, arms in study.items()}


def judge(studies: Studies) -> Verdicts:
    """Every study's verdict (or, for the inside study, its answers), for the studies that were run."""
    return Verdicts(
        lr=None if studies.lr is None else judge_lr(studies.lr),
        init=None if studies.init is None else judge_init(studies.init),
        inside=None if studies.inside is None else judge_inside(studies.inside),
        landscape=None if studies.landscape is None else judge_landscape(studies.landscape),
        ics=None if studies.ics is None else judge_ics(studies.ics),
        batch=None if studies.batch is None else judge_batch(studies.batch),
        batch_independent=judge_batch_independent(studies.batch)
        if studies.batch is not None and has_batch_independent(studies.batch)
        else None,
        plain=None if studies.plain is None else judge_plain(studies.plain),
        noisy=None if studies.ics is None or studies.ics.noisy is None else judge_noisy(studies.ics.noisy),
    )


def judge_later(studies: Studies) -> Verdicts:
    """`judge` for results made before their verdicts were stored: the words are today's rules', and say so."""
    judged = judge(studies)
    later: dict[str, Any] = {
        name: dataclasses.replace(found, judged_later=True)
        for name, found in vars(judged).items()
        if isinstance(found, Verdict)
    }
    return dataclasses.replace(judged, **later)
