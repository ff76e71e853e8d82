"""From finished runs to `explain`'s numbers (the typed `Studies`): every figure and sentence of the report comes
from what this returns, and every verdict from `claims` applied to it.

Numbers over seeds are `stats.spread` (mean, SD, min..max, n); properties over seeds are `stats.judge_fraction`
(k of n with a 95% Wilson interval), as `reproduce` reports them. Paired comparisons pair the BN and the non-BN run
of one seed (same initial weights, same batches). Runs are found through the plan that made them.
"""

from __future__ import annotations

import math
import statistics

from bn_mnist.core import runfiles
from bn_mnist.core.config import Config, from_dict
from bn_mnist.core.tensorboard import tags
from bn_mnist.lab import stats
from bn_mnist.lab.arms import BN, NO_BN, NOISY_BN
from bn_mnist.lab.plan import Plan
from bn_mnist.lab.runs import RunFiles
from bn_mnist.lab.stats import PairedEffect
from bn_mnist.studies.explain import studies
from bn_mnist.studies.explain.results import (
    BatchStudy,
    GridArm,
    GridPanel,
    GridStudy,
    IcsStudy,
    InsideArm,
    InsideStudy,
    LandscapeStudy,
    LayerShift,
    MeasureArm,
    NoisyBN,
    Outcomes,
    PairedMeasure,
    PlainStudy,
    SpreadCurve,
    Studies,
    Usable,
)
from bn_mnist.studies.explain.studies import Budget, Panel

INSIDE_TAGS = (tags.ACTIVATION_MEAN, tags.ACTIVATION_STD, tags.DEAD_RELU, tags.GRADIENT_NORM)
Runs = dict[str, RunFiles]  # every finished run of the studies, read once (`lab.runs.read_runs`)


def outcomes(runs: Runs, keys: list[str]) -> Outcomes:
    """Final validation, single-sample and training-mode accuracy over seeds, how often the run diverged and how often
    it trained."""
    summaries = [runs[key].summary for key in keys]
    accuracies = [summary.final_val_accuracy for summary in summaries]
    return Outcomes(
        val_accuracy=stats.spread(accuracies),
        single_sample_accuracy=stats.spread([summary.single_sample_accuracy for summary in summaries]),
        seeds=accuracies,
        diverged=stats.judge_fraction([summary.diverged_at_step is not None for summary in summaries]),
        trains=stats.judge_fraction([a is not None and a >= studies.REACH for a in accuracies]),
        train_accuracy=stats.spread([summary.final_train_accuracy for summary in summaries]),
    )


def usable_range(values: list[float], points: list[Outcomes]) -> Usable:
    """The grid values at which the network trains (to REACH) in more than half of the seeds, and their span."""
    usable = [value for value, point in zip(values, points) if 2 * point.trains.k > point.trains.n]
    if not usable:
        return Usable([], None, None, None)
    return Usable(usable, min(usable), max(usable), math.log10(max(usable) / min(usable)))


def largest_stable(values: list[float], diverged: list[list[bool]]) -> list[float | None]:
    """Per seed, the largest grid value up to which none of its runs diverged (diverged: per value, per seed)."""
    found = []
    for seed_diverged in zip(*diverged, strict=True):
        stable = None
        for value, failed in zip(values, seed_diverged, strict=True):
            if failed:
                break
            stable = value
        found.append(stable)
    return found


def stable_higher(bn: list[float | None], no_bn: list[float | None], top: float) -> stats.FractionVerdict | None:
    """Seeds whose BN runs stay stable to a higher grid value than the non-BN runs (a None: not even the first),
    among the seeds the grid can judge: one whose two arms are both stable at the grid's top is left out, since the
    grid ends before either diverges. None: no seed can be judged."""
    judged = [(b or 0.0) > (n or 0.0) for b, n in zip(bn, no_bn, strict=True) if not b == n == top]
    return stats.judge_fraction(judged) if judged else None


def seed_extremes(points: list[Outcomes]) -> tuple[list[float | None], list[float | None]]:
    """Per seed, its best and its worst final validation accuracy over the grid (None if a run has none)."""
    best, worst = [], []
    for finals in zip(*(point.seeds for point in points), strict=True):
        found = None if None in finals else finals
        best.append(None if found is None else max(found))
        worst.append(None if found is None else min(found))
    return best, worst


def sensitivity(points: dict[str, list[Outcomes]]) -> tuple[dict[str, PairedEffect], PairedEffect]:
    """Per arm, best minus worst over the grid, per seed; and no BN's minus BN's (how much less BN cares)."""
    ranges = {}
    for key, found in points.items():
        best, worst = seed_extremes(found)
        ranges[key] = [None if b is None or w is None else b - w for b, w in zip(best, worst, strict=True)]
    spread_of = {key: stats.paired_effect(*seed_extremes(found)) for key, found in points.items()}
    return spread_of, stats.paired_effect(ranges[NO_BN.key], ranges[BN.key])


def effective_rates(panel: Panel, values: list[float]) -> list[float]:
    """learning rate / (SD^2 x the first hidden kernel's weights) per initial SD: E||W||^2 of a normal init."""
    from bn_mnist.core.nets.models import FC_UNITS, IMAGE_SHAPE  # TensorFlow: only where runs are analysed

    if panel.key != "model.init_std":
        return []
    rate, weights = from_dict(Config, panel.base).train.learning_rate, math.prod(IMAGE_SHAPE) * FC_UNITS[0]
    return [rate / (sd * sd * weights) for sd in values]


def paired_panel(
    panel: Panel,
    values: list[float],
    points: dict[str, list[Outcomes]],
    diverged: dict[str, list[list[bool]]],
    controls: dict[str, Outcomes] | None = None,
) -> GridPanel:
    """A panel from its arms' outcomes per grid value and which runs diverged (per value, per seed): each arm's
    usable range, per-seed largest stable value and sensitivity to the swept value, and per value BN's paired
    advantage."""
    arms = {key: GridArm(found, usable_range(values, found)) for key, found in points.items()}
    stable = {key: largest_stable(values, found) for key, found in diverged.items()}
    advantage = [
        stats.paired_effect(bn.seeds, no_bn.seeds) for bn, no_bn in zip(points[BN.key], points[NO_BN.key], strict=True)
    ]
    higher = stable_higher(stable[BN.key], stable[NO_BN.key], values[-1])
    spread_of, less = sensitivity(points)
    rates = effective_rates(panel, values)
    return GridPanel(
        panel.title, panel.key, values, arms, advantage, stable, higher, spread_of, less, controls or {}, rates
    )


def grid_panel(plan: Plan, runs: Runs, study: str, panel: Panel, budget: Budget) -> GridPanel:
    values = list(budget.grid(study, panel))
    points, diverged = {}, {}
    for arm in studies.PAIRED_ARMS:
        keys = [plan.seeds(study, arm.key, panel.name, value) for value in values]
        points[arm.key] = [outcomes(runs, found) for found in keys]
        diverged[arm.key] = [[runs[key].summary.diverged_at_step is not None for key in found] for found in keys]
    controls = {arm.key: outcomes(runs, plan.seeds(study, arm.key, panel.name)) for arm in panel.controls}
    return paired_panel(panel, values, points, diverged, controls)


def grid_study(plan: Plan, runs: Runs, study: str, budget: Budget) -> GridStudy:
    panels = studies.GRID_STUDIES[study]
    return GridStudy(studies.REACH, {p.name: grid_panel(plan, runs, study, p, budget) for p in panels})


def layer_names(record: dict[str, object], kind: str) -> list[str]:
    """The layers a per-layer tag has in a record, in the network's order (the names sort that way)."""
    return sorted(name.split("/", 1)[1] for name in record if name.startswith(f"{kind}/"))


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


def inside_study(plan: Plan, runs: Runs) -> InsideStudy:
    return {
        net: {arm.key: inside_arm(runs, plan.seeds("inside", arm.key, net)) for arm in studies.INSIDE_ARMS}
        for net in studies.INSIDE_NETS
    }


def series_over_seeds(runs: Runs, keys: list[str], name: str) -> SpreadCurve:
    """One measurement at every evaluation step, the spread over seeds at each."""
    steps = runfiles.series(runs[keys[0]].metrics, name)[0]
    by_seed = [runfiles.series(runs[key].metrics, name)[1] for key in keys]
    return SpreadCurve(steps, [stats.spread(list(values)) for values in zip(*by_seed)])


def seed_level(runs: Runs, key: str, name: str) -> float | None:
    """A run's measurement summarised over training: the median over the evaluation points after step 0."""
    values = stats.numbers(runfiles.series(runs[key].metrics, name)[1][1:])
    return statistics.median(values) if values else None


def paired(runs: Runs, pairs: list[tuple[str, str]], name: str, bn_smaller: bool = True) -> stats.FractionVerdict:
    """Per seed's (BN run, non-BN run), whether BN's has the smaller (or, bn_smaller=False, the larger) seed-level
    value."""
    holds = []
    for bn_key, no_bn_key in pairs:
        bn, no_bn = seed_level(runs, bn_key, name), seed_level(runs, no_bn_key, name)
        holds.append(bn is not None and no_bn is not None and (bn < no_bn if bn_smaller else bn > no_bn))
    return stats.judge_fraction(holds)


def smoothness_runs(plan: Plan, study: str) -> tuple[list[str], list[str]]:
    """The BN and the non-BN smoothness runs, in seed order."""
    return plan.seeds(study, BN.key), plan.seeds(study, NO_BN.key)


def measure_arm(runs: Runs, keys: list[str], name: str) -> MeasureArm:
    levels = stats.spread([seed_level(runs, key, name) for key in keys])
    return MeasureArm(series_over_seeds(runs, keys, name), levels)


LANDSCAPE_TAGS = [
    tags.landscape_tag(variant, measure)
    for variant in (tags.LANDSCAPE, tags.HELD_OUT)
    for measure in (tags.LOSS_RANGE, tags.GRADIENT_CHANGE, tags.BETA, tags.LOSS_GRADIENT_NORM)
] + [tags.landscape_tag(tags.RELATIVE, measure) for measure in (tags.LOSS_RANGE, tags.GRADIENT_CHANGE)]


def log10_or_none(value: float | None) -> float | None:
    return None if value is None or value <= 0 else math.log10(value)


def landscape_study(plan: Plan, runs: Runs) -> LandscapeStudy:
    bn, no_bn = smoothness_runs(plan, "landscape")

    def measure(name: str) -> PairedMeasure:
        levels = [[log10_or_none(seed_level(runs, key, name)) for key in keys] for keys in (bn, no_bn)]
        return PairedMeasure(
            paired(runs, list(zip(bn, no_bn)), name),
            measure_arm(runs, bn, name),
            measure_arm(runs, no_bn, name),
            stats.paired_effect(*levels),
        )

    return LandscapeStudy(
        learning_rate=studies.FC_LEARNING_RATE,
        distances=list(studies.LANDSCAPE_DISTANCES),
        kernel_fractions=list(studies.KERNEL_FRACTIONS),
        paired={name: measure(name) for name in LANDSCAPE_TAGS},
        outcomes={BN.key: outcomes(runs, bn), NO_BN.key: outcomes(runs, no_bn)},
    )


def ics_study(plan: Plan, runs: Runs) -> IcsStudy:
    bn, no_bn = smoothness_runs(plan, "ics")
    layers = layer_names(runs[bn[0]].metrics[0], tags.ICS_L2)

    def shifts(kind: str, bn_smaller: bool) -> dict[str, LayerShift]:
        """Per layer; the paired effect in decades for the l2 difference (bn_smaller), as it stands for the cosine."""
        found = {}
        for layer in layers:
            name = tags.per_layer(kind, layer)
            levels = [[seed_level(runs, key, name) for key in keys] for keys in (bn, no_bn)]
            if bn_smaller:
                levels = [[log10_or_none(level) for level in arm] for arm in levels]
            found[layer] = LayerShift(
                bn_better=paired(runs, list(zip(bn, no_bn)), name, bn_smaller),
                bn=stats.spread([seed_level(runs, key, name) for key in bn]),
                no_bn=stats.spread([seed_level(runs, key, name) for key in no_bn]),
                effect=stats.paired_effect(*levels),
            )
        return found

    return IcsStudy(
        layers,
        studies.FC_LEARNING_RATE,
        shifts(tags.ICS_L2, True),
        shifts(tags.ICS_COSINE, False),
        noisy_bn(plan, runs, layers),
    )


def noisy_bn(plan: Plan, runs: Runs, layers: list[str]) -> NoisyBN:
    """The noisy-BN runs against the BN and non-BN ones of the same seeds, and their covariate shift per layer."""
    keys = plan.seeds("ics", NOISY_BN.key)
    noisy, bn, no_bn = (outcomes(runs, found) for found in (keys, *smoothness_runs(plan, "ics")))
    l2 = {
        layer: stats.spread([seed_level(runs, key, tags.per_layer(tags.ICS_L2, layer)) for key in keys])
        for layer in layers
    }
    return NoisyBN(noisy, stats.paired_effect(bn.seeds, noisy.seeds), stats.paired_effect(noisy.seeds, no_bn.seeds), l2)


def seed_drops(points: list[Outcomes]) -> list[float | None]:
    """Per seed, final validation accuracy at the largest batch minus at the smallest."""
    return [
        None if large is None or small is None else large - small
        for large, small in zip(points[-1].seeds, points[0].seeds, strict=True)
    ]


Drops = dict[str, PairedEffect]


def batch_drops(arms: dict[str, list[Outcomes]]) -> tuple[Drops, Drops, Drops]:
    """Per arm, the paired drop from the largest batch to the smallest; per normalized arm, that drop beyond no
    normalization's in the same seed; per BN variant, how much less it drops than BN in the same seed."""
    drops = {key: seed_drops(points) for key, points in arms.items()}
    drop = {key: stats.paired_effect(points[-1].seeds, points[0].seeds) for key, points in arms.items()}
    excess = {key: stats.paired_effect(found, drops[NO_BN.key]) for key, found in drops.items() if key != NO_BN.key}
    variants = [arm.key for arm in studies.BATCH_VARIANTS if arm.key in drops]
    reduction = {key: stats.paired_effect(drops[BN.key], drops[key]) for key in variants}
    return drop, excess, reduction


def batch_study(plan: Plan, runs: Runs, budget: Budget) -> BatchStudy:
    """Each arm's outcomes per batch size, and its drops (`batch_drops`)."""
    sizes = list(budget.batch_sizes)
    arms = {
        arm.key: [outcomes(runs, plan.seeds("batch", arm.key, value=size)) for size in sizes]
        for arm in studies.BATCH_ARMS
    }
    drop, excess, reduction = batch_drops(arms)
    return BatchStudy(
        sizes=sizes,
        examples=studies.batch_examples(budget),
        learning_rates=[studies.batch_learning_rate(size) for size in sizes],
        arms=arms,
        drop=drop,
        excess_drop=excess,
        reduction=reduction,
    )


def plain_study(plan: Plan, runs: Runs, budget: Budget) -> PlainStudy:
    """Each arm's outcomes, and how far each arm without BN ends behind BN in the same seed."""
    arms = {arm.key: outcomes(runs, plan.seeds("plain", arm.key)) for arm in studies.PLAIN_ARMS}
    behind = {key: stats.paired_effect(arms[BN.key].seeds, found.seeds) for key, found in arms.items() if key != BN.key}
    return PlainStudy(budget.steps["conv"], arms, behind)


def analyse(chosen: tuple[str, ...], plan: Plan, runs: Runs, budget: Budget) -> Studies:
    """The chosen studies' numbers from finished runs."""
    return Studies(
        lr=grid_study(plan, runs, "lr", budget) if "lr" in chosen else None,
        init=grid_study(plan, runs, "init", budget) if "init" in chosen else None,
        inside=inside_study(plan, runs) if "inside" in chosen else None,
        landscape=landscape_study(plan, runs) if "landscape" in chosen else None,
        ics=ics_study(plan, runs) if "ics" in chosen else None,
        batch=batch_study(plan, runs, budget) if "batch" in chosen else None,
        plain=plain_study(plan, runs, budget) if "plain" in chosen else None,
    )
