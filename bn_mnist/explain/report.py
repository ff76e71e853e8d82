"""`explain`'s report.md from results.json alone: per study, what is measured and what we found (two sentences
whose numbers are the results'), the published claim it tests, the figure and a table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bn_mnist.explain import probes
from bn_mnist.explain.studies import ARM_LABELS
from bn_mnist.reproduction.report import fmt, spread
from bn_mnist.tensorboard import tags

Json = dict[str, Any]


def sci(value: float | None) -> str:
    """A measurement spanning orders of magnitude: 2 significant digits."""
    return "-" if value is None else f"{value:.2g}"


def mean(found: Json | None) -> float | None:
    return None if found is None else found["mean"]


def sci_spread(found: Json | None) -> str:
    if found is None:
        return "-"
    return f"{sci(found['mean'])} ({sci(found['min'])}..{sci(found['max'])}), n={found['n']}"


VANISHED = 1e-3  # the deepest layer's output SD below this fraction of the first's at step 0: the signal vanished


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def k_of_n(found: Json) -> str:
    """k of n seeds, with the 95% Wilson interval of the fraction."""
    low, high = found["wilson_95"]
    return f"{found['k']}/{found['n']} ({low:.2f}..{high:.2f})"


def span(usable: Json, total: int) -> str:
    if not usable["values"]:
        return f"at none of the {total} values"
    if usable["low"] == usable["high"]:
        return f"at {usable['low']:g} only (1 of {total} values)"
    return f"from {usable['low']:g} to {usable['high']:g} ({len(usable['values'])} of {total} values)"


def lowest(panel: Json, arm: str) -> str:
    """The arm's lowest mean final accuracy over the grid, and where."""
    means = [point["val_accuracy"]["mean"] for point in panel["arms"][arm]["points"]]
    worst = min(range(len(means)), key=means.__getitem__)
    return f"{fmt(means[worst])} at {panel['values'][worst]:g}"


def grid_sentences(study: Json, swept: str) -> tuple[str, list[bool], list[bool]]:
    """Per panel where BN and no BN train and BN's worst point; per panel whether BN's range is wider than without
    BN, and whether BN trains at every value of the grid."""
    parts, wider, everywhere = [], [], []
    for panel in study["panels"].values():
        total = len(panel["values"])
        bn, no_bn = panel["arms"]["bn"]["usable"], panel["arms"]["no_bn"]["usable"]
        parts.append(
            f"{panel['title']}: with BN {span(bn, total)}, without {span(no_bn, total)} (lowest mean: with BN "
            f"{lowest(panel, 'bn')}, without {lowest(panel, 'no_bn')})"
        )
        wider.append(len(bn["values"]) > len(no_bn["values"]))
        everywhere.append(len(bn["values"]) == total)
    found = f"Where the network trains (>= {study['threshold']:g} in more than half of the seeds) by {swept}: "
    return found + "; ".join(parts) + ".", wider, everywhere


def verdict(every: bool, some: bool) -> str:
    return "**supported**" if every else "**partly supported**" if some else "**not supported**"


def grid_table(panel: Json, swept: str) -> list[str]:
    lines = [
        f"| {swept} | "
        + " | ".join(f"{ARM_LABELS[a]}: final val. acc. | trains | diverged" for a in panel["arms"])
        + " |",
        "|---" * (1 + 3 * len(panel["arms"])) + "|",
    ]
    for i, value in enumerate(panel["values"]):
        cells = []
        for found in panel["arms"].values():
            point = found["points"][i]
            cells += [spread(point["val_accuracy"]), k_of_n(point["trains"]), k_of_n(point["diverged"])]
        lines.append(f"| {value:g} | " + " | ".join(cells) + " |")
    return lines


def grid_section(study: Json, figure: str, title: str, swept: str, measured: str, claim: str) -> list[str]:
    """`claim` "wider": BN's usable range is wider than without in every panel (supported) or some (partly);
    "insensitive": BN trains at every value in every panel (supported), else its range is wider (partly)."""
    found, wider, everywhere = grid_sentences(study, swept)
    if claim == "wider":
        tested, judged = (
            "BN widens the range of usable learning rates (Bjorck et al. 2018)",
            verdict(all(wider), any(wider)),
        )
    else:
        tested = "BN makes training insensitive to the initial scale (the Lesson's bad-weight rows)"
        judged = verdict(all(everywhere), any(wider))
    lines = [f"## {title}", "", measured + " " + found, "", f"Claim tested: {tested}: {judged} here.", ""]
    lines += [f"![{title}]({figure})", ""]
    for panel in study["panels"].values():
        lines += [f"**{panel['title']}**", "", *grid_table(panel, swept), ""]
    return lines


def layer_value(found: Json, moment: str, kind: str, layer: str) -> float | None:
    return mean(found[moment][kind].get(layer))


def deepest_of_kind(layers: list[str]) -> str:
    """The last layer of the first layer's kind: conv19 in the conv net, dense03 in the FC net."""
    kind = layers[0].rstrip("0123456789")
    return [layer for layer in layers if layer.rstrip("0123456789") == kind][-1]


def inside_answer(net: str, arms: Json) -> str:
    """What happens inside one network without BN, against BN, in numbers; and which explanation they support."""
    no_bn, bn = arms["no_bn"], arms["bn"]
    layers = list(no_bn["start"][tags.ACTIVATION_STD])
    first, last = layers[0], deepest_of_kind(layers)

    def value(found: Json, moment: str, kind: str, layer: str) -> float | None:
        return layer_value(found, moment, kind, layer)

    shrink = value(no_bn, "start", tags.ACTIVATION_STD, last) / value(no_bn, "start", tags.ACTIVATION_STD, first)
    dead_start = value(no_bn, "start", tags.DEAD_RELU, last)
    dead_end = value(no_bn, "end", tags.DEAD_RELU, last)
    sd, gradient = tags.ACTIVATION_STD, tags.GRADIENT_NORM
    numbers = (
        f"**{net}**, without BN: at step 0 the output SD falls from {sci(value(no_bn, 'start', sd, first))} "
        f"({first}) to {sci(value(no_bn, 'start', sd, last))} ({last}), a factor {sci(shrink)}, and the logits' SD "
        f"is {sci(value(no_bn, 'start', sd, 'logits'))} (with BN {sci(value(bn, 'start', sd, last))} at {last}, "
        f"logits {sci(value(bn, 'start', sd, 'logits'))}); the gradient reaching {first} has norm "
        f"{sci(value(no_bn, 'start', gradient, first))} (with BN {sci(value(bn, 'start', gradient, first))}); "
        f"{percent(dead_start)} of {last}'s ReLUs are dead at step 0 and {percent(dead_end)} at step "
        f"{no_bn['steps'][1]:,} (with BN {percent(value(bn, 'end', tags.DEAD_RELU, last))}); final validation "
        f"accuracy {spread(no_bn['val_accuracy'])} (with BN {spread(bn['val_accuracy'])})."
    )
    if shrink < VANISHED:
        cause = (
            f"The signal vanishes with depth before training starts ({percent(dead_start)} dead ReLUs then, so not "
            "dead units): the output hardly depends on the image and the early layers' gradients are orders of "
            "magnitude below BN's; the ReLUs that die later follow."
        )
    elif dead_end is not None and dead_end > 0.5:
        cause = "Most of the deepest layer's ReLUs die during training."
    else:
        cause = "Neither a vanishing signal nor dead units stop it: it learns, more slowly than with BN."
    return numbers + " " + cause


def inside_table(net: str, arms: Json) -> list[str]:
    kinds = (tags.ACTIVATION_MEAN, tags.ACTIVATION_STD, tags.DEAD_RELU, tags.GRADIENT_NORM)
    header = " | ".join(
        f"{ARM_LABELS[arm]} {kind} step {arms[arm]['steps'][i]}" for arm in arms for kind in kinds for i in (0, 1)
    )
    lines = [
        f"**{net}** (mean over seeds)",
        "",
        f"| layer | {header} |",
        "|---" * (1 + 2 * len(kinds) * len(arms)) + "|",
    ]
    for layer in arms["bn"]["start"][tags.ACTIVATION_STD]:
        cells = [
            sci(layer_value(found, moment, kind, layer))
            for found in arms.values()
            for kind in kinds
            for moment in ("start", "end")
        ]
        lines.append(f"| {layer} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def inside_section(study: Json, figure: str) -> list[str]:
    lines = [
        "## Inside the network",
        "",
        "Measured on a fixed batch of 256 validation images in training mode (what a training step computes), at step "
        "0 and at the end: each layer's output mean and SD, the fraction of its ReLUs that are 0 for every example, "
        "and the norm of its kernel's gradient: why does the 19-layer conv net without BN not learn in 800 batches?",
        "",
        *(line for net, arms in study.items() for line in (inside_answer(net, arms), "")),
        f"![inside]({figure})",
        "",
    ]
    for net, arms in study.items():
        lines += inside_table(net, arms)
    return lines


LANDSCAPE_NAMES = {
    probes.LOSS_RANGE: "loss range",
    probes.GRADIENT_CHANGE: "gradient change",
    probes.BETA: "effective β-smoothness",
}


def landscape_section(study: Json, figure: str) -> list[str]:
    parts = [
        f"{label} {sci(mean(study[name]['bn']['median_over_training']))} with BN vs "
        f"{sci(mean(study[name]['no_bn']['median_over_training']))} without (BN smaller in "
        f"{k_of_n(study[name]['bn_smaller'])} seeds)"
        for name, label in LANDSCAPE_NAMES.items()
    ]
    every = all(study[name]["bn_smaller"]["k"] == study[name]["bn_smaller"]["n"] for name in LANDSCAPE_NAMES)
    some = any(2 * study[name]["bn_smaller"]["k"] > study[name]["bn_smaller"]["n"] for name in LANDSCAPE_NAMES)
    multiples = ", ".join(f"{m:g}" for m in study["step_multiples"])
    lines = [
        "## Loss landscape along the gradient",
        "",
        f"At every evaluation of the FC net (ReLU, SGD {study['learning_rate']:g}) we step from the current weights "
        f"along the gradient of the run's first training batch by {multiples} x the learning rate and record the "
        "loss's range, the largest change of the gradient and that change per distance moved (Santurkar et al. "
        "§3.1), statelessly. Medians over training, mean over seeds: " + "; ".join(parts) + ".",
        "",
        f"Claim tested: BN makes the landscape smoother (Santurkar et al. 2018): {verdict(every, some)} here.",
        "",
        f"![landscape]({figure})",
        "",
        "| measure | BN | no BN | BN smaller |",
        "|---|---|---|---|",
    ]
    for name, label in LANDSCAPE_NAMES.items():
        found = study[name]
        lines.append(
            f"| {label} | {sci_spread(found['bn']['median_over_training'])} | "
            f"{sci_spread(found['no_bn']['median_over_training'])} | {k_of_n(found['bn_smaller'])} |"
        )
    outcomes = study["outcomes"]
    lines += [
        "",
        f"Final validation accuracy: BN {spread(outcomes['bn']['val_accuracy'])}, no BN "
        f"{spread(outcomes['no_bn']['val_accuracy'])}.",
        "",
    ]
    return lines


def ics_section(study: Json, figure: str) -> list[str]:
    l2, cosine = study[probes.ICS_L2], study[probes.ICS_COSINE]
    layers = study["layers"]
    smaller = sum(2 * l2[layer]["bn_better"]["k"] > l2[layer]["bn_better"]["n"] for layer in layers[1:])
    closer = sum(2 * cosine[layer]["bn_better"]["k"] > cosine[layer]["bn_better"]["n"] for layer in layers[1:])
    lines = [
        "## Internal covariate shift",
        "",
        f"For each layer, the gradient of its kernel G on a batch and G' after the layers before it took their SGD "
        f"step ({study['learning_rate']:g}) on the same batch (Santurkar et al. Definition 2.1), on the same runs as "
        f"the landscape; per seed the median over training. With BN the l2 difference is smaller in {smaller} of "
        f"{len(layers) - 1} layers after the first (in most seeds) and the cosine closer to 1 in {closer}; the first "
        "layer has nothing before it (0 and 1 by definition).",
        "",
        "Claim tested: BN does not necessarily reduce internal covariate shift (Santurkar et al. 2018): "
        + (
            "**supported** here (BN does not reduce it in every layer)"
            if min(smaller, closer) < len(layers) - 1
            else "**not supported** here: BN reduces it in every layer, by both measures"
        )
        + ". The l2 difference scales with the gradients' size, which BN changes; the cosine does not.",
        "",
        f"![ics]({figure})",
        "",
        "| layer | l2, BN | l2, no BN | BN smaller | cosine, BN | cosine, no BN | BN closer to 1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for layer in layers:
        lines.append(
            f"| {layer} | {sci_spread(l2[layer]['bn'])} | {sci_spread(l2[layer]['no_bn'])} | "
            f"{k_of_n(l2[layer]['bn_better'])} | {spread(cosine[layer]['bn'])} | {spread(cosine[layer]['no_bn'])} | "
            f"{k_of_n(cosine[layer]['bn_better'])} |"
        )
    return [*lines, ""]


def apart(below: Json, above: Json) -> bool:
    """Every seed of `below` under every seed of `above`."""
    return below["max"] < above["min"]


def batch_verdict(arms: Json) -> str:
    """Supported: at the smallest batch BN is below BN at the largest and below no BN, in every seed, and Batch
    Renorm is above BN there in every seed; partly: only the first."""
    bn, renorm, no_bn = arms["bn"], arms["renorm"], arms["no_bn"]
    depends = apart(bn[0]["val_accuracy"], bn[-1]["val_accuracy"]) and apart(
        bn[0]["val_accuracy"], no_bn[0]["val_accuracy"]
    )
    reduced = apart(bn[0]["val_accuracy"], renorm[0]["val_accuracy"])
    return verdict(depends and reduced, depends)


def batch_section(study: Json, figure: str) -> list[str]:
    sizes, arms, rates = study["sizes"], study["arms"], study["learning_rates"]
    smallest, largest = 0, len(sizes) - 1

    def at(arm: str, index: int, name: str = "val_accuracy") -> str:
        return fmt(mean(arms[arm][index][name]))

    found = "; ".join(
        f"{ARM_LABELS[arm]} {at(arm, smallest)} at batch {sizes[smallest]} and {at(arm, largest)} at "
        f"{sizes[largest]} (single-sample {at(arm, smallest, 'single_sample_accuracy')} and "
        f"{at(arm, largest, 'single_sample_accuracy')})"
        for arm in arms
    )
    lines = [
        "## Batch size",
        "",
        f"The FC net (ReLU, SGD) at batch sizes {', '.join(map(str, sizes))}, each for {study['examples']:,} "
        f"examples, with BN, Batch Renormalization (r in [1/3, 3], |d| <= 5) and without; the learning rate is "
        f"{rates[-1]:g} at {sizes[-1]} and scales with the batch ({rates[0]:.2g} at {sizes[0]}), so that without BN "
        "every size takes the same path in expectation. "
        f"Mean final validation accuracy: {found}.",
        "",
        f"Claim tested: BN depends on the batch size, and Batch Renormalization reduces that dependence (Ioffe 2017): "
        f"{batch_verdict(arms)} here.",
        "",
        f"![batch]({figure})",
        "",
        "| batch | " + " | ".join(f"{ARM_LABELS[a]}: final val. acc. | single-sample | diverged" for a in arms) + " |",
        "|---" * (1 + 3 * len(arms)) + "|",
    ]
    for i, size in enumerate(sizes):
        cells = []
        for points in arms.values():
            point = points[i]
            cells += [spread(point["val_accuracy"]), spread(point["single_sample_accuracy"]), k_of_n(point["diverged"])]
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    return [*lines, ""]


SECTIONS: dict[str, Callable[[Json, str], list[str]]] = {
    "lr": lambda study, figure: grid_section(
        study,
        figure,
        "Learning-rate range",
        "learning rate",
        "Final validation accuracy over a log-spaced grid of learning rates, with and without BN.",
        "wider",
    ),
    "init": lambda study, figure: grid_section(
        study,
        figure,
        "Initialisation scale",
        "initial weight SD",
        "Final validation accuracy over initial weight SDs from 0.01 to 5 (the Lesson's bad weights).",
        "insensitive",
    ),
    "inside": inside_section,
    "landscape": landscape_section,
    "ics": ics_section,
    "batch": batch_section,
}


def markdown(results: Json) -> str:
    meta = results["meta"]
    seeds = ", ".join(f"{n} for the {kind} runs" for kind, n in meta["seeds"].items())
    lines = [
        f"# Why does BN help?{' (quick run)' if meta['quick'] else ''}",
        "",
        *(
            ["> **--quick run**: two seeds, thin grids and a quarter of the steps: a smoke test, not evidence.", ""]
            if meta["quick"]
            else []
        ),
        f"Made by `{meta['command']}`: {meta['runs']} runs ({seeds}); {meta['train_seconds'] / 60:.0f} min of "
        f"training summed over runs; {meta['wall_seconds'] / 60:.1f} min of wall time ({meta['runs_reused']} of the "
        "runs were already in its directory and were reused). Every number is over seeds "
        "(mean ± SD (min..max), n; or k/n seeds with a property and the 95% Wilson interval of that fraction); the "
        "BN and the non-BN run of a seed start from the same weights and see the same batches. Software: "
        + ", ".join(f"{k} {v}" for k, v in meta["software"].items())
        + ".",
        "",
    ]
    for name in meta["studies"]:
        lines += SECTIONS[name](results["studies"][name], results["figures"][name])
    return "\n".join(lines + settings(meta)) + "\n"


def settings(meta: Json) -> list[str]:
    execution = meta.get("execution") or {}
    return [
        "## Settings",
        "",
        f"- FC runs: the Lesson's 784-100-100-100-10 net, batches of 60 (except in the batch study), softmax "
        f"cross-entropy, SGD, weights normal with SD 0.05 unless swept, {meta['steps']['fc']:,} steps. Conv runs: the "
        f"Solutions' 19 conv layers + dense 100 + 10, batches of 64, sigmoid cross-entropy, Adam, "
        f"{meta['steps']['conv']:,} steps. Validation accuracy on all 5,000 validation images "
        f"{meta['evaluations']} times per run and at step 0, in inference mode (population statistics).",
        "- Held fixed within a seed: the initial weights and the order of the batches, for every arm; across seeds "
        "only the seed changes. A run that diverges (non-finite loss) stops there and is scored as it stands.",
        "- Execution (each run's summary.json): XLA for the FC runs, not for the conv ones (train.jit auto); "
        + ", ".join(f"{k} {v}" for k, v in execution.items() if k != "xla")
        + ".",
        "- Every run's config.yaml, TensorBoard events, metrics.jsonl, summary.json and model.keras are under the "
        "output directory (`tensorboard --logdir <out>`; the figures are in its IMAGES tab).",
        "",
    ]
