"""`explain`'s report.md, rendered from the typed results alone (`explain.rebuild` makes it again from
results.json): per study, what is measured and what we found (two sentences whose numbers are the results'), the
claim it tests with the verdict `claims` gave, the figure and a table. It judges nothing."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from typing import Any

from bn_mnist.core.config import Config, from_dict
from bn_mnist.core.records import present
from bn_mnist.core.tensorboard import tags
from bn_mnist.lab.arms import BN, NO_BN, NOISE, WARMUP_HOLD, WARMUP_RELAXED
from bn_mnist.lab.stats import Spread
from bn_mnist.lab.text import (
    code_lines,
    effect_text,
    k_of_n,
    number,
    percent,
    rules_changed_lines,
    sci,
    sci_spread,
    seeds_text,
    spread_text,
)
from bn_mnist.studies.explain import claims
from bn_mnist.studies.explain.claims import deepest_of_kind, layer_mean
from bn_mnist.studies.explain.results import (
    BatchStudy,
    GridPanel,
    GridStudy,
    IcsStudy,
    InsideAnswer,
    InsideArm,
    InsideStudy,
    LandscapeStudy,
    Meta,
    NoisyBN,
    Outcomes,
    PlainStudy,
    Results,
    Usable,
    Verdict,
    measure_name,
)
from bn_mnist.studies.explain.studies import ARMS, CONV_BASE, FC_BASE, REACH


def mean(found: Spread | None) -> float | None:
    return None if found is None else found.mean


def bold(verdict: Verdict) -> str:
    return f"**{verdict.word}**"


def claim_line(verdict: Verdict) -> str:
    """The claim, its verdict and the rule that gave it, and when that rule was declared."""
    when = (
        "applied after the runs to their stored numbers (results older than stored verdicts)"
        if verdict.judged_later
        else "declared before the runs"
    )
    return f"Claim tested: {verdict.claim}: {bold(verdict)} here. Rule, {when}: {verdict.rule}."


def span(usable: Usable, total: int) -> str:
    if not usable.values:
        return f"at none of the {total} values"
    if usable.low == usable.high:
        return f"at {usable.low:g} only (1 of {total} values)"
    return f"from {usable.low:g} to {usable.high:g} ({len(usable.values)} of {total} values)"


def lowest(panel: GridPanel, arm: str) -> str:
    """The arm's lowest mean final accuracy over the grid, and where."""
    means = [point.val_accuracy.mean if point.val_accuracy else float("nan") for point in panel.arms[arm].points]
    worst = min(range(len(means)), key=means.__getitem__)
    return f"{number(means[worst])} at {panel.values[worst]:g}"


def grid_found(study: GridStudy, swept: str) -> str:
    """Per panel where BN and no BN train, and each one's worst point."""
    parts = []
    for panel in study.panels.values():
        total = len(panel.values)
        bn, no_bn = panel.arms[BN.key].usable, panel.arms[NO_BN.key].usable
        parts.append(
            f"{panel.title}: with BN {span(bn, total)}, without {span(no_bn, total)} (lowest mean: with BN "
            f"{lowest(panel, BN.key)}, without {lowest(panel, NO_BN.key)})"
        )
    return (
        f"Accuracy within the budget, not stability: where the network reaches {study.threshold:g} (in more than "
        f"half of the seeds) by {swept}: " + "; ".join(parts) + "."
    )


def grid_table(panel: GridPanel, swept: str) -> list[str]:
    advantage, rates = bool(panel.advantage), bool(panel.effective_rate)  # results made before have neither
    lines = [
        f"| {swept} | "
        + (f"{EFFECTIVE_RATE} | " if rates else "")
        + " | ".join(f"{ARMS[a].short}: final val. acc. | trains | diverged" for a in panel.arms)
        + (" | BN minus no BN, same seed (95% interval)" if advantage else "")
        + " |",
        "|---" * (1 + rates + 3 * len(panel.arms) + advantage) + "|",
    ]
    for i, value in enumerate(panel.values):
        cells = [sci(panel.effective_rate[i])] if rates else []
        for found in panel.arms.values():
            point = found.points[i]
            cells += [spread_text(point.val_accuracy), k_of_n(point.trains), k_of_n(point.diverged)]
        cells += [effect_text(panel.advantage[i])] if advantage else []
        lines.append(f"| {value:g} | " + " | ".join(cells) + " |")
    return lines


EFFECTIVE_RATE = "rate / E‖W₁‖² at step 0 (the first hidden layer's effective step with BN)"


AHEAD_NOTE = (  # BN ahead at the smallest rate: what that lead is
    " (a lead within the budget at the grid's smallest rate: a benefit of BN that the larger-rates account does not "
    "explain)"
)


def stable_text(values: list[float | None]) -> str:
    """Per-seed largest stable values, counted: '1 in 8 seeds, 3 in 2'."""
    counts = sorted(Counter(values).items(), key=lambda item: -1.0 if item[0] is None else item[0])
    found = [f"{'none' if value is None else f'{value:g}'} in {n}" for value, n in counts]
    return ", ".join(found) + " seeds"


def stable_lines(study: GridStudy, verdict: Verdict, swept: str) -> list[str]:
    """Per panel, the two parts of the stability rule and the panel's word (results that have them)."""
    lines = []
    for name, panel in study.panels.items():
        if f"{name}: {claims.STABLE_PART}" not in verdict.parts:
            continue
        higher = (
            f"BN's is the higher in {k_of_n(panel.stable_higher)} of the seeds the grid can judge"
            if panel.stable_higher is not None
            else "every seed is stable at the grid's top with and without BN, so the grid cannot judge it"
        )
        stable, parts = panel.largest_stable, verdict.parts
        small = parts.get(f"{name}: {claims.SMALL_PART}")
        lines += [
            f"- {panel.title}: the largest stable {swept} (no run of the seed diverged up to it) is with BN "
            f"{stable_text(stable[BN.key])}, without {stable_text(stable[NO_BN.key])}; {higher}: "
            f"{parts.get(f'{name}: {claims.STABLE_PART}', '-')}. At the "
            f"smallest {swept}, {panel.values[0]:g}, BN minus no BN is {effect_text(panel.advantage[0])}: "
            f"{parts.get(f'{name}: {claims.SMALL_PART}', '-')}{AHEAD_NOTE * (small == claims.AHEAD)}. This panel: "
            f"{parts.get(name, '-')}."
        ]
    return [*lines, ""] if lines else []


def sensitivity_lines(study: GridStudy, verdict: Verdict, swept: str) -> list[str]:
    """Per panel, the two parts of the sensitivity rule, the panel's word and its controls (results that have
    them)."""
    lines, parts = [], verdict.parts
    for name, panel in study.panels.items():
        if not panel.sensitivity or f"{name}: {claims.SENSITIVITY_PART}" not in parts:
            continue
        controls = "; ".join(
            f"{ARMS[arm].label} {spread_text(found.val_accuracy)}" for arm, found in panel.controls.items()
        )
        lines.append(
            f"- {panel.title}: best minus worst final validation accuracy over the {swept}s, per seed: with BN "
            f"{effect_text(panel.sensitivity[BN.key])}: {parts[f'{name}: {claims.SENSITIVITY_PART}']}; without "
            f"{effect_text(panel.sensitivity[NO_BN.key])}; no BN's minus BN's "
            f"{effect_text(panel.less_sensitive)}: {parts[f'{name}: {claims.COMPARED_PART}']}. This panel: "
            f"{parts[name]}." + (f" Controls, not swept: {controls}." if controls else "")
        )
    return [*lines, ""] if lines else []


def grid_section(study: GridStudy, verdict: Verdict, figure: str, title: str, swept: str, measured: str) -> list[str]:
    lines = [
        f"## {title}",
        "",
        claim_line(verdict),
        "",
        *stable_lines(study, verdict, swept),
        *sensitivity_lines(study, verdict, swept),
        measured + " " + grid_found(study, swept),
        "",
        f"![{title}]({figure})",
        "",
    ]
    for panel in study.panels.values():
        lines += [f"**{panel.title}**", "", *grid_table(panel, swept), ""]
    return lines


def inside_numbers(net: str, no_bn: InsideArm, bn: InsideArm, shrink: float | None) -> str:
    """What happens inside one network without BN, against BN, in numbers."""
    layers = list(no_bn.start[tags.ACTIVATION_STD])
    first, last = layers[0], deepest_of_kind(layers)
    sd, gradient, dead = tags.ACTIVATION_STD, tags.GRADIENT_NORM, tags.DEAD_RELU
    return (
        f"**{net}**, without BN: at step 0 the output SD falls from {sci(layer_mean(no_bn, 'start', sd, first))} "
        f"({first}) to {sci(layer_mean(no_bn, 'start', sd, last))} ({last}), a factor {sci(shrink)}, and the "
        f"logits' SD is {sci(layer_mean(no_bn, 'start', sd, 'logits'))} (with BN "
        f"{sci(layer_mean(bn, 'start', sd, last))} at {last}, logits {sci(layer_mean(bn, 'start', sd, 'logits'))}); "
        f"the gradient reaching {first} has norm {sci(layer_mean(no_bn, 'start', gradient, first))} (with BN "
        f"{sci(layer_mean(bn, 'start', gradient, first))}); {percent(layer_mean(no_bn, 'start', dead, last))} of "
        f"{last}'s ReLUs are dead at step 0 and {percent(layer_mean(no_bn, 'end', dead, last))} at step "
        f"{no_bn.steps[1]:,} (with BN {percent(layer_mean(bn, 'end', dead, last))}); final validation accuracy "
        f"{spread_text(no_bn.val_accuracy)} (with BN {spread_text(bn.val_accuracy)})."
    )


def inside_controls(arms: dict[str, InsideArm]) -> str:
    """The no-BN controls from variance-preserving starts (results that have them): their signal at step 0 and how
    they end."""
    found = []
    for key, arm in arms.items():
        if key in (BN.key, NO_BN.key):
            continue
        layers = list(arm.start[tags.ACTIVATION_STD])
        first, last = layers[0], deepest_of_kind(layers)
        sd = [layer_mean(arm, "start", tags.ACTIVATION_STD, layer) for layer in (first, last)]
        found.append(
            f"{ARMS[key].label}: output SD at step 0 from {sci(sd[0])} ({first}) to {sci(sd[1])} ({last}), "
            f"final validation accuracy {spread_text(arm.val_accuracy)}"
        )
    return f" Controls without BN from a variance-preserving start: {'; '.join(found)}." if found else ""


def inside_answer(net: str, arms: dict[str, InsideArm], answer: InsideAnswer) -> str:
    """The numbers, then the answer `claims.inside_answer` gave, then the controls."""
    no_bn, bn = arms[NO_BN.key], arms[BN.key]
    last = deepest_of_kind(list(no_bn.start[tags.ACTIVATION_STD]))
    cause = claims.INSIDE_CAUSES[answer.cause].format(
        dead_start=percent(layer_mean(no_bn, "start", tags.DEAD_RELU, last))
    )
    return inside_numbers(net, no_bn, bn, answer.shrink) + " " + cause + inside_controls(arms)


def inside_table(net: str, arms: dict[str, InsideArm]) -> list[str]:
    kinds = (tags.ACTIVATION_MEAN, tags.ACTIVATION_STD, tags.DEAD_RELU, tags.GRADIENT_NORM)
    header = " | ".join(
        f"{ARMS[arm].short} {kind} step {arms[arm].steps[i]}" for arm in arms for kind in kinds for i in (0, 1)
    )
    lines = [
        f"**{net}** (mean over seeds)",
        "",
        f"| layer | {header} |",
        "|---" * (1 + 2 * len(kinds) * len(arms)) + "|",
    ]
    for layer in arms[BN.key].start[tags.ACTIVATION_STD]:
        cells = [
            sci(layer_mean(found, moment, kind, layer))
            for found in arms.values()
            for kind in kinds
            for moment in ("start", "end")
        ]
        lines.append(f"| {layer} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def inside_section(study: InsideStudy, answers: dict[str, InsideAnswer], figure: str) -> list[str]:
    lines = [
        "## Inside the network",
        "",
        f"Measured on a fixed batch of {tags.INSPECT_BATCH} validation images in training mode (what a training step "
        "computes), at step 0 and at the end: each layer's output mean and SD, the fraction of its ReLUs that are 0 "
        "for every example, and the norm of its kernel's gradient: why does the 19-layer conv net without BN not "
        "learn in 800 batches?",
        "",
        *(line for net, arms in study.items() for line in (inside_answer(net, arms, answers[net]), "")),
        f"![inside]({figure})",
        "",
    ]
    for net, arms in study.items():
        lines += inside_table(net, arms)
    return lines


def landscape_section(study: LandscapeStudy, verdict: Verdict, figure: str) -> list[str]:
    distances = ", ".join(f"{d:g}" for d in study.distances)
    fractions = ", ".join(f"{f:.1%}" for f in study.kernel_fractions)
    lines = [
        "## Loss landscape along the gradient",
        "",
        claim_line(verdict),
        "",
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


def ics_section(study: IcsStudy, verdict: Verdict, noisy: Verdict | None, figure: str) -> list[str]:
    parts = verdict.parts
    measured = [layer for layer in study.layers[1:] if layer in parts]
    found = "; ".join(
        f"{layer}: {parts[layer]} (l2 {parts[f'{layer}: l2']}, cosine {parts[f'{layer}: cosine']})"
        for layer in measured
    )
    lines = [
        "## Internal covariate shift",
        "",
        claim_line(verdict),
        "",
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


ARM_NOTES = {  # what the batch study's text says of an arm, beside its name
    "bessel": " (its moving variance averages m/(m-1) x the batch variance, m values per unit: BN otherwise)",
    "renorm": " (r in [1/3, 3], |d| <= 5)",
    "renorm_warmup": f" (the same limits, after plain BN for the first {WARMUP_HOLD:.0%} of the steps and a linear "
    f"relaxation to {WARMUP_RELAXED:.0%}: Ioffe's schedule, scaled to the run)",
    "group": f" ({from_dict(Config, FC_BASE).bn.groups} groups of units)",
    "layer": " (all units of one example)",
}


def batch_setting(study: BatchStudy) -> str:
    sizes, rates = study.sizes, study.learning_rates
    names = [f"{ARMS[arm].short}{ARM_NOTES.get(arm, '')}" for arm in study.arms]
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


def batch_section(study: BatchStudy, verdict: Verdict, independent: Verdict | None, figure: str) -> list[str]:
    sizes, arms = study.sizes, study.arms
    smallest, largest = 0, len(sizes) - 1

    def at(arm: str, index: int, name: str = "val_accuracy") -> str:
        return number(mean(getattr(arms[arm][index], name)))

    trained = any(point.train_accuracy for points in arms.values() for point in points)  # results made before: none

    def training_mode(arm: str) -> str:
        return f"training mode {at(arm, smallest, 'train_accuracy')} and {at(arm, largest, 'train_accuracy')}; "

    found = "; ".join(
        f"{ARMS[arm].short} {at(arm, smallest)} at batch {sizes[smallest]} and {at(arm, largest)} at "
        f"{sizes[largest]} ({training_mode(arm) if trained else ''}single-sample "
        f"{at(arm, smallest, 'single_sample_accuracy')} and {at(arm, largest, 'single_sample_accuracy')})"
        for arm in arms
    )
    words = {**verdict.parts, **(independent.parts if independent is not None else {})}
    accuracy = {"final val. acc.": lambda point: spread_text(point.val_accuracy)}
    if trained:
        accuracy["training mode"] = lambda point: spread_text(point.train_accuracy)
    return [
        "## Batch size",
        "",
        claim_line(verdict),
        "",
        *([claim_line(independent), ""] if independent is not None else []),
        f"{batch_setting(study)} Mean final validation accuracy (inference mode: population statistics): {found}."
        + (TRAINING_MODE_NOTE if trained else ""),
        "",
        *(drop_lines(study, words) if study.drop else []),
        f"![batch]({figure})",
        "",
        *size_table(study, accuracy),
        *size_table(
            study,
            {
                "single-sample": lambda point: spread_text(point.single_sample_accuracy),
                "diverged": lambda point: k_of_n(point.diverged),
            },
        ),
    ]


def plain_section(study: PlainStudy, verdict: Verdict, figure: str) -> list[str]:
    lines = [
        "## The deep plain net without BN",
        "",
        claim_line(verdict),
        "",
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


def section(results: Results, name: str, figure: str) -> list[str]:
    """One study's section of the report."""
    studies, verdicts = results.studies, results.verdicts
    if name in GRIDS:
        study, verdict = present(getattr(studies, name), name), present(getattr(verdicts, name), f"{name} verdict")
        return grid_section(study, verdict, figure, *GRIDS[name])
    if name == "inside":
        return inside_section(present(studies.inside, name), present(verdicts.inside, "inside answers"), figure)
    if name == "batch":
        study, verdict = present(studies.batch, name), present(verdicts.batch, "batch verdict")
        return batch_section(study, verdict, verdicts.batch_independent, figure)
    if name == "ics":
        study, verdict = present(studies.ics, name), present(verdicts.ics, "ics verdict")
        return ics_section(study, verdict, verdicts.noisy, figure)
    renderers: dict[str, Callable[[Any, Verdict, str], list[str]]] = {
        "landscape": landscape_section,
        "plain": plain_section,
    }
    return renderers[name](
        present(getattr(studies, name), name), present(getattr(verdicts, name), f"{name} verdict"), figure
    )


GRIDS = {  # study -> (title, swept, what is measured)
    "lr": (
        "Learning-rate range",
        "learning rate",
        "Final validation accuracy over a log-spaced grid of learning rates, with and without BN.",
    ),
    "init": (
        "Initialisation scale",
        "initial weight SD",
        "Final validation accuracy over initial weight SDs from 0.01 to 5 (the Lesson's bad weights): the SD of "
        "every layer's initial weights, the output layer's too (it has no BN in either net). BN makes a layer "
        "invariant to its kernel's scale, so its effective step is the rate over the kernel's squared norm: the "
        "table gives it for the first hidden layer at step 0 (SD² x 78,400 weights; the other two have 10,000).",
    ),
}


def markdown(results: Results) -> str:
    meta = results.meta
    seeds = ", ".join(f"{n} for the {kind} runs" for kind, n in meta.seeds.items())
    steps = ", ".join(f"{count:,} steps a {kind} run" for kind, count in meta.steps.items())
    quick = f"{seeds_text(meta.seeds)}, thin grids, {steps}"
    lines = [
        f"# Why does BN help?{' (quick run)' if meta.quick else ''}",
        "",
        *([f"> **--quick run**: {quick}: a smoke test, not evidence.", ""] if meta.quick else []),
        f"Made by `{meta.command}`: {meta.runs} runs (seeds: {seeds}); {meta.train_seconds / 60:.0f} min of "
        f"training summed over runs; {meta.wall_seconds / 60:.1f} min of wall time ({meta.runs_reused} of the "
        "runs were already in its directory and were reused). Every number is over seeds "
        "(mean ± SD (min..max), n; or k/n seeds with a property and the 95% Wilson interval of that fraction); the "
        "BN and the non-BN run of a seed start from the same weights and see the same batches. Software: "
        + ", ".join(f"{k} {v}" for k, v in meta.software.items())
        + ".",
        "",
    ]
    for name in meta.studies:
        lines += section(results, name, results.figures[name])
    return "\n".join(lines + rules_changed_lines(meta.rules_changed) + settings(meta)) + "\n"


def settings(meta: Meta) -> list[str]:
    execution: dict[str, Any] = dataclasses.asdict(meta.execution) if meta.execution else {}
    fc, conv = (from_dict(Config, base).train for base in (FC_BASE, CONV_BASE))
    return [
        "## Settings",
        "",
        f"- FC runs: the Lesson's 784-100-100-100-10 net, batches of {fc.batch_size} (except in the batch study), "
        f"softmax cross-entropy, SGD, weights normal with SD 0.05 unless swept, {meta.steps['fc']:,} steps. Conv "
        f"runs: the Solutions' 19 conv layers + dense 100 + 10, batches of {conv.batch_size}, sigmoid "
        f"cross-entropy, Adam, {meta.steps['conv']:,} steps. Validation accuracy on all 5,000 validation images "
        f"{meta.evaluations} times per run and at step 0, in inference mode (population statistics).",
        "- Held fixed within a seed: the initial weights and the order of the batches, for every arm; across seeds "
        "only the seed changes. A run that diverges (non-finite loss) stops there and is scored as it stands.",
        "- Execution (each run's summary.json): XLA for the FC runs, not for the conv ones (train.jit auto); "
        + ", ".join(f"{k} {v}" for k, v in execution.items() if k != "xla")
        + ".",
        "- Every run's config.yaml, TensorBoard events, metrics.jsonl, summary.json and model.keras are under the "
        "output directory (`tensorboard --logdir <out>`; the figures are in its IMAGES tab).",
        *code_lines(meta.code, meta.other_code_runs),
        "",
    ]
