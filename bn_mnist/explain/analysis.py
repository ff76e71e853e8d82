"""From finished runs to `explain`'s numbers: every figure and sentence of the report comes from what this returns.

Numbers over seeds are `stats.spread` (mean, SD, min..max, n); properties over seeds are `stats.judge_fraction`
(k of n with a 95% Wilson interval), as `reproduce` reports them. Paired comparisons pair the BN and the non-BN run
of one seed (same initial weights, same batches).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable
from typing import Any

from bn_mnist import stats
from bn_mnist.explain import probes, studies
from bn_mnist.explain.studies import Panel, run_key, value_key
from bn_mnist.reproduction.reproduce import RunFiles
from bn_mnist.tensorboard import tags
from bn_mnist.training import runlog

Json = dict[str, Any]
INSIDE_TAGS = (tags.ACTIVATION_MEAN, tags.ACTIVATION_STD, tags.DEAD_RELU, tags.GRADIENT_NORM)
LANDSCAPE_TAGS = (probes.LOSS_RANGE, probes.GRADIENT_CHANGE, probes.BETA)


Runs = dict[str, RunFiles]  # every finished run of the studies, read once (`reproduce.read_runs`)


def spread(values: list[Any]) -> Json | None:
    found = stats.spread(values)
    return None if found is None else dataclasses.asdict(found)


def fraction(holds: list[bool]) -> Json:
    return dataclasses.asdict(stats.judge_fraction(holds))


def outcomes(runs: Runs, keys: list[str]) -> Json:
    """Final validation and single-sample accuracy over seeds, how often the run diverged and how often it trained."""
    summaries = [runs[key].summary for key in keys]
    accuracies = [summary.final_val_accuracy for summary in summaries]
    return {
        "val_accuracy": spread(accuracies),
        "single_sample_accuracy": spread([summary.single_sample_accuracy for summary in summaries]),
        "seeds": accuracies,
        "diverged": fraction([summary.diverged_at_step is not None for summary in summaries]),
        "trains": fraction([accuracy >= studies.REACH for accuracy in accuracies]),
    }


def usable_range(values: list[float], points: list[Json]) -> Json:
    """The grid values at which the network trains (to REACH) in more than half of the seeds, and their span."""
    usable = [value for value, point in zip(values, points) if 2 * point["trains"]["k"] > point["trains"]["n"]]
    low, high = (min(usable), max(usable)) if usable else (None, None)
    return {
        "values": usable,
        "low": low,
        "high": high,
        "decades": math.log10(high / low) if usable else None,
    }


def grid_panel(runs: Runs, study: str, panel: Panel, seeds: int, quick: bool) -> Json:
    values = list(panel.grid(quick))
    arms = {}
    for arm in ("bn", "no_bn"):
        points = [
            outcomes(runs, [run_key(f"{study}/{panel.name}/{value_key(panel, v)}", arm, s) for s in range(seeds)])
            for v in values
        ]
        arms[arm] = {"points": points, "usable": usable_range(values, points)}
    return {"title": panel.title, "key": panel.key, "values": values, "arms": arms}


def grid_study(runs: Runs, study: str, counts: dict[str, int], quick: bool) -> Json:
    panels = studies.GRID_STUDIES[study]
    return {
        "threshold": studies.REACH,
        "panels": {panel.name: grid_panel(runs, study, panel, counts[panel.arch], quick) for panel in panels},
    }


def layer_names(record: Json, kind: str) -> list[str]:
    """The layers a per-layer tag has in a record, in the network's order (the names sort that way)."""
    return sorted(name.split("/", 1)[1] for name in record if name.startswith(f"{kind}/"))


def inside_arm(runs: Runs, net: str, arm: str, seeds: int) -> Json:
    """Per measurement and layer, at step 0 and at each run's last evaluation: the spread over seeds."""
    keys = [run_key(f"inside/{net}", arm, seed) for seed in range(seeds)]
    found: Json = {"steps": [0, max(runs[key].summary.steps for key in keys)], **outcomes(runs, keys)}
    for index, label in ((0, "start"), (-1, "end")):
        records = [runs[key].metrics[index] for key in keys]  # step 0 is always logged first; a run ends evaluated
        found[label] = {
            kind: {
                layer: spread([record.get(tags.per_layer(kind, layer)) for record in records])
                for layer in layer_names(records[0], kind)
            }
            for kind in INSIDE_TAGS
        }
    return found


def inside_study(runs: Runs, counts: dict[str, int]) -> Json:
    return {
        net: {arm: inside_arm(runs, net, arm, counts[net]) for arm in ("bn", "no_bn")} for net in studies.INSIDE_NETS
    }


def series_over_seeds(runs: Runs, keys: list[str], name: str) -> Json:
    """One measurement at every evaluation step, the spread over seeds at each."""
    steps = runlog.series(runs[keys[0]].metrics, name)[0]
    by_seed = [runlog.series(runs[key].metrics, name)[1] for key in keys]
    return {"step": steps, "value": [spread(list(values)) for values in zip(*by_seed)]}


def seed_level(runs: Runs, key: str, name: str) -> float | None:
    """A run's measurement summarised over training: the median over the evaluation points after step 0."""
    values = stats.numbers(runlog.series(runs[key].metrics, name)[1][1:])
    return statistics.median(values) if values else None


def paired(runs: Runs, seeds: int, name: str, bn_smaller: bool = True) -> Json:
    """Per seed, whether BN's run has the smaller (or, bn_smaller=False, the larger) seed-level value."""
    holds = []
    for seed in range(seeds):
        bn, no_bn = (seed_level(runs, run_key("smoothness", arm, seed), name) for arm in ("bn", "no_bn"))
        holds.append(bn is not None and no_bn is not None and (bn < no_bn if bn_smaller else bn > no_bn))
    return fraction(holds)


def landscape_study(runs: Runs, counts: dict[str, int]) -> Json:
    seeds = counts["fc"]
    found: Json = {"learning_rate": studies.FC_LEARNING_RATE, "step_multiples": list(probes.STEP_MULTIPLES)}
    for name in LANDSCAPE_TAGS:
        found[name] = {
            "bn_smaller": paired(runs, seeds, name),
            **{
                arm: {
                    "curve": series_over_seeds(runs, [run_key("smoothness", arm, s) for s in range(seeds)], name),
                    "median_over_training": spread(
                        [seed_level(runs, run_key("smoothness", arm, s), name) for s in range(seeds)]
                    ),
                }
                for arm in ("bn", "no_bn")
            },
        }
    found["outcomes"] = {
        arm: outcomes(runs, [run_key("smoothness", arm, s) for s in range(seeds)]) for arm in ("bn", "no_bn")
    }
    return found


def ics_study(runs: Runs, counts: dict[str, int]) -> Json:
    seeds = counts["fc"]
    layers = layer_names(runs[run_key("smoothness", "bn", 0)].metrics[0], probes.ICS_L2)
    found: Json = {"layers": layers, "learning_rate": studies.FC_LEARNING_RATE}
    for kind, bn_smaller in ((probes.ICS_L2, True), (probes.ICS_COSINE, False)):
        found[kind] = {
            layer: {
                "bn_better": paired(runs, seeds, tags.per_layer(kind, layer), bn_smaller),
                **{
                    arm: spread(
                        [
                            seed_level(runs, run_key("smoothness", arm, s), tags.per_layer(kind, layer))
                            for s in range(seeds)
                        ]
                    )
                    for arm in ("bn", "no_bn")
                },
            }
            for layer in layers
        }
    return found


def batch_study(runs: Runs, counts: dict[str, int], quick: bool) -> Json:
    sizes = list(studies.batch_sizes(quick))
    return {
        "sizes": sizes,
        "examples": studies.steps_for("fc", quick) * studies.FC_BASE["train"]["batch_size"],
        "learning_rates": [studies.batch_learning_rate(size) for size in sizes],
        "arms": {
            arm: [outcomes(runs, [run_key(f"batch/b{size}", arm, s) for s in range(counts["fc"])]) for size in sizes]
            for arm in studies.ARMS
        },
    }


ANALYSES: dict[str, Callable[[Runs, dict[str, int], bool], Json]] = {
    "lr": lambda runs, counts, quick: grid_study(runs, "lr", counts, quick),
    "init": lambda runs, counts, quick: grid_study(runs, "init", counts, quick),
    "inside": lambda runs, counts, quick: inside_study(runs, counts),
    "landscape": lambda runs, counts, quick: landscape_study(runs, counts),
    "ics": lambda runs, counts, quick: ics_study(runs, counts),
    "batch": batch_study,
}  # study -> its numbers from finished runs
