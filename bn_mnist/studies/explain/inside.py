"""Inside the network: each layer's output mean and SD, dead ReLUs and kernel gradient at step 0 and at the end, in
both nets with and without BN and from He and LSUV starts, to answer why the 19-layer conv net without BN does not
learn in 800 batches (a vanishing signal, dying ReLUs, or neither)."""

from __future__ import annotations

from matplotlib.figure import Figure

from bn_mnist.core.plots import laid_out, subplots
from bn_mnist.core.records import present
from bn_mnist.core.tensorboard import tags
from bn_mnist.lab import stats
from bn_mnist.lab.arms import BN, HE, LSUV, NO_BN
from bn_mnist.lab.plan import Plan, RunId
from bn_mnist.lab.text import percent, sci, spread_text
from bn_mnist.studies.explain.common import (
    ARMS,
    CONV_BASE,
    FC_BASE,
    PAIRED_ARMS,
    Budget,
    ExplainStudy,
    Runs,
    config_of,
    field,
    layer_names,
    mean,
    outcomes,
)
from bn_mnist.studies.explain.results import InsideAnswer, InsideArm, InsideStudy, Verdicts

INSIDE_ARMS = (*PAIRED_ARMS, HE, LSUV)  # and, inside, no BN from variance-preserving starts: is the init the cause?
INSIDE_NETS = {"conv": CONV_BASE, "fc": FC_BASE}  # the Solutions' conv run; the Lesson's row 2 (SGD 0.01)


def plan_inside(plan: Plan, budget: Budget) -> None:
    """The runs whose inside (per-layer activations, dead ReLUs, gradients) is logged at every evaluation."""
    for net, base in INSIDE_NETS.items():
        for arm in INSIDE_ARMS:
            for seed in range(budget.seeds[net]):
                extra = {"log": {"histograms": True}}
                config = config_of(f"explain-inside-{net}", base, arm, seed, budget.steps[net], budget, extra)
                plan.add(RunId("inside", arm.key, seed, net), f"inside/{net}", config)


INSIDE_TAGS = (tags.ACTIVATION_MEAN, tags.ACTIVATION_STD, tags.DEAD_RELU, tags.GRADIENT_NORM)


def inside_arm(runs: Runs, keys: list[str]) -> InsideArm:
    """Per measurement and layer, at step 0 and at each run's last evaluation: the spread over seeds."""
    moments = {}
    for index, label in ((0, "start"), (-1, "end")):
        records = [runs[key].metrics[index] for key in keys]  # step 0 is always logged first; a run ends evaluated
        moments[label] = {
            kind: {
                layer: stats.spread([record.get(tags.per_layer(kind, layer)) for record in records])
                for layer in layer_names(records[0], kind)
            }
            for kind in INSIDE_TAGS
        }
    steps = [0, max(runs[key].summary.steps for key in keys)]
    return InsideArm(**vars(outcomes(runs, keys)), steps=steps, start=moments["start"], end=moments["end"])


def inside_study(plan: Plan, runs: Runs, budget: Budget) -> InsideStudy:
    return {
        net: {arm.key: inside_arm(runs, plan.seeds("inside", arm.key, net)) for arm in INSIDE_ARMS}
        for net in INSIDE_NETS
    }


VANISHED = 1e-3  # the deepest layer's output SD below this fraction of the first's at step 0: the signal vanished
VANISHING, DYING, INSIDE_LEARNS = "vanishing signal", "dying ReLUs", "learns"  # the inside study's answers
INSIDE_CAUSES = {  # answer -> what the report says (the dead fraction at step 0 fills the first)
    VANISHING: "The signal vanishes with depth before training starts ({dead_start} dead ReLUs then, so not dead "
    "units): the output hardly depends on the image and the early layers' gradients are orders of magnitude below "
    "BN's; the ReLUs that die later follow.",
    DYING: "Most of the deepest layer's ReLUs die during training.",
    INSIDE_LEARNS: "Neither a vanishing signal nor dead units stop it: it learns, more slowly than with BN.",
}


def layer_mean(arm: InsideArm, moment: str, kind: str, layer: str) -> float | None:
    return mean(getattr(arm, moment)[kind].get(layer))


def first_and_deepest(arm: InsideArm) -> tuple[str, str]:
    """The first layer, and the last of its kind: conv19 in the conv net, dense03 in the FC net."""
    layers = list(arm.start[tags.ACTIVATION_STD])
    kind = layers[0].rstrip("0123456789")
    return layers[0], [layer for layer in layers if layer.rstrip("0123456789") == kind][-1]


def inside_answer(no_bn: InsideArm) -> InsideAnswer:
    """Why the network without BN does (not) learn: its signal vanished at step 0 (output SD of the deepest layer of
    the first kind below VANISHED of the first's), most of that layer's ReLUs died by the end, or neither."""
    first, last = first_and_deepest(no_bn)
    first_sd, last_sd = (layer_mean(no_bn, "start", tags.ACTIVATION_STD, layer) for layer in (first, last))
    shrink = None if first_sd is None or last_sd is None else last_sd / first_sd
    dead_end = layer_mean(no_bn, "end", tags.DEAD_RELU, last)
    if shrink is not None and shrink < VANISHED:
        return InsideAnswer(VANISHING, shrink)
    if dead_end is not None and dead_end > 0.5:
        return InsideAnswer(DYING, shrink)
    return InsideAnswer(INSIDE_LEARNS, shrink)


def judge(study: InsideStudy) -> dict[str, dict[str, InsideAnswer]]:
    """Per network, why it does (not) learn without BN: an answer the numbers give, not a claim's verdict."""
    return {"inside": {net: inside_answer(arms[NO_BN.key]) for net, arms in study.items()}}


def inside_numbers(net: str, no_bn: InsideArm, bn: InsideArm, shrink: float | None) -> str:
    """What happens inside one network without BN, against BN, in numbers."""
    first, last = first_and_deepest(no_bn)
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
        first, last = first_and_deepest(arm)
        sd = [layer_mean(arm, "start", tags.ACTIVATION_STD, layer) for layer in (first, last)]
        found.append(
            f"{ARMS[key].label}: output SD at step 0 from {sci(sd[0])} ({first}) to {sci(sd[1])} ({last}), "
            f"final validation accuracy {spread_text(arm.val_accuracy)}"
        )
    return f" Controls without BN from a variance-preserving start: {'; '.join(found)}." if found else ""


def inside_text(net: str, arms: dict[str, InsideArm], answer: InsideAnswer) -> str:
    """The numbers, then the answer `inside_answer` gave, then the controls."""
    no_bn, bn = arms[NO_BN.key], arms[BN.key]
    _, last = first_and_deepest(no_bn)
    cause = INSIDE_CAUSES[answer.cause].format(dead_start=percent(layer_mean(no_bn, "start", tags.DEAD_RELU, last)))
    return inside_numbers(net, no_bn, bn, answer.shrink) + " " + cause + inside_controls(arms)


def inside_table(net: str, arms: dict[str, InsideArm]) -> list[str]:
    header = " | ".join(
        f"{ARMS[arm].short} {kind} step {arms[arm].steps[i]}" for arm in arms for kind in INSIDE_TAGS for i in (0, 1)
    )
    lines = [
        f"**{net}** (mean over seeds)",
        "",
        f"| layer | {header} |",
        "|---" * (1 + 2 * len(INSIDE_TAGS) * len(arms)) + "|",
    ]
    for layer in arms[BN.key].start[tags.ACTIVATION_STD]:
        cells = [
            sci(layer_mean(found, moment, kind, layer))
            for found in arms.values()
            for kind in INSIDE_TAGS
            for moment in ("start", "end")
        ]
        lines.append(f"| {layer} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def section(study: InsideStudy, verdicts: Verdicts, figure: str) -> list[str]:
    answers = present(verdicts.inside, "inside answers")
    lines = [
        "## Inside the network",
        "",
        f"Measured on a fixed batch of {tags.INSPECT_BATCH} validation images in training mode (what a training step "
        "computes), at step 0 and at the end: each layer's output mean and SD, the fraction of its ReLUs that are 0 "
        "for every example, and the norm of its kernel's gradient: why does the 19-layer conv net without BN not "
        "learn in 800 batches?",
        "",
        *(line for net, arms in study.items() for line in (inside_text(net, arms, answers[net]), "")),
        f"![inside]({figure})",
        "",
    ]
    for net, arms in study.items():
        lines += inside_table(net, arms)
    return lines


INSIDE_PANELS = (
    (tags.ACTIVATION_STD, "output SD per layer", "log"),
    (tags.GRADIENT_NORM, "kernel gradient norm", "log"),
    (tags.DEAD_RELU, "dead ReLU fraction", "linear"),
)


def inside_figure(study: InsideStudy) -> Figure:
    """Per network (rows): each layer's output SD, gradient norm and dead-ReLU fraction, at step 0 (dashed) and at
    the end (solid)."""
    figure, axes = subplots(len(study), len(INSIDE_PANELS), figsize=(15, 4 * len(study)), squeeze=False)
    for row, (net, arms) in zip(axes, study.items()):
        for axis, (kind, title, scale) in zip(row, INSIDE_PANELS):
            for key, found in arms.items():
                arm = ARMS[key]
                for step, moment, style in zip(found.steps, ("start", "end"), ("--", "-")):
                    spreads = list(getattr(found, moment)[kind].values())
                    x, low, high = range(len(spreads)), field(spreads, "min"), field(spreads, "max")
                    label = f"{arm.short}, step {step}"
                    axis.plot(x, field(spreads, "mean"), style, marker=".", color=arm.colour, label=label)
                    axis.fill_between(x, low, high, color=arm.colour, alpha=0.12, linewidth=0)
            names = list(next(iter(arms.values())).start[kind])
            axis.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
            axis.set(yscale=scale, title=f"{net}: {title}")
            axis.grid(alpha=0.3)
        row[0].legend(fontsize=8)
    figure.suptitle("Inside the network on a fixed validation batch, training mode (mean over seeds; band: min..max)")
    return laid_out(figure)


STUDY = ExplainStudy("inside", plan_inside, inside_study, judge, section, inside_figure)
