"""What explain's studies share: the tutorial nets as bases, the budgets, a run's config, a setting's outcomes over
seeds, the report's and figures' common pieces, and `ExplainStudy`, the record each study module fills.

Budgets: the FC runs are the Lesson's "short" ones (2,000 batches of 60), the conv runs the Solutions' 800 batches
of 64; the quick budget cuts the FC runs to a quarter and the conv runs to a sixteenth, and thins the grids. The
batch and the plain-net studies have their own seed counts: verdicts that rest on paired intervals and on seed
fractions need about 10 seeds to decide anything. A run is keyed `<group>/<panel>/<x>/<arm>-seed<n>`; the BN and
the non-BN network of a seed start from the same weights (models.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.axes import Axes

from bn_mnist.core.config import Config, find_config, from_dict, merged, read_config_file
from bn_mnist.lab import stats
from bn_mnist.lab.arms import (
    BESSEL,
    BN,
    GROUP_NORM,
    HE,
    LAYER_NORM,
    LSUV,
    NO_BN,
    NOISY_BN,
    RENORM,
    RENORM_WARMUP,
    SELU,
    Arm,
    by_key,
)
from bn_mnist.lab.plan import Plan
from bn_mnist.lab.stats import Spread
from bn_mnist.lab.study import Budget as BaseBudget
from bn_mnist.lab.verdicts import Rule, Verdict
from bn_mnist.studies.explain.results import Outcomes, Verdicts

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bn_mnist.lab.runs import RunFiles

Settings = dict[str, Any]  # config sections as YAML gives them
FC_BASE = read_config_file(find_config("fc"))  # the Lesson's net: ReLU, SGD 0.01, batches of 60, init std 0.05
CONV_BASE = read_config_file(find_config("conv"))  # the Solutions' net: Adam 0.002, batches of 64
REACH = 0.90  # "trains": final validation accuracy at least this
FC_LEARNING_RATE = 0.1  # the init, smoothness and batch studies: a rate at which both FC networks learn in 2,000 steps
PAIRED_ARMS = (BN, NO_BN)  # the grid, inside, landscape and covariate-shift studies compare these
ARMS = by_key((BN, NO_BN, HE, LSUV, SELU, NOISY_BN, BESSEL, RENORM, RENORM_WARMUP, GROUP_NORM, LAYER_NORM))  # by key
SIGMOID = {"model": {"activation": "sigmoid"}}
FC_AT_RATE = merged(FC_BASE, {"train": {"learning_rate": FC_LEARNING_RATE}})
FC_RATES = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)
CONV_RATES = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
INIT_STDS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 5.0)  # 5: the Lesson's "bad" weights
BATCH_SIZES = (2, 4, 8, 16, 32, 64)


@dataclass(frozen=True, kw_only=True)
class Budget(BaseBudget):
    """How much `explain` trains. Its seeds per kind of run: fc and conv (the grid, inside and landscape runs),
    batch, plain."""

    steps: dict[str, int]  # per kind of network
    evaluations: int  # evaluation points per run (plus step 0): a conv one costs ~0.4 s
    grids: Mapping[str, tuple[float, ...]]  # "<study>/<panel>" -> the swept values
    batch_sizes: tuple[int, ...]

    def grid(self, study: str, panel: str) -> tuple[float, ...]:
        return self.grids[f"{study}/{panel}"]


FULL = Budget(
    # FC runs take seconds, conv runs ~30 s on one core. 10 seeds: a seed fraction decides at 9 of 10 (Wilson), a
    # paired interval has 9 degrees of freedom; 5 conv seeds decide a fraction only when all 5 agree (0.57..1)
    seeds={"fc": 10, "conv": 5, "batch": 10, "plain": 10},
    steps={"fc": 2_000, "conv": 800},
    evaluations=20,
    grids={"lr/fc-relu": FC_RATES, "lr/fc-sigmoid": FC_RATES, "lr/conv": CONV_RATES}
    | {"init/fc-relu": INIT_STDS, "init/fc-sigmoid": INIT_STDS},
    batch_sizes=BATCH_SIZES,
)
QUICK = Budget(
    seeds={"fc": 2, "conv": 2, "batch": 2, "plain": 2},  # never one: a spread needs two
    steps={"fc": 500, "conv": 50},  # a smoke run: conv steps are ~80 FC steps each
    evaluations=5,  # a conv evaluation costs ~0.4 s: the smoke run needs a curve, not a fine one
    grids={"lr/fc-relu": (0.1, 10.0), "lr/fc-sigmoid": (0.1, 10.0), "lr/conv": (1e-4, 1e-2)}  # a rate that trains,
    | {"init/fc-relu": (0.01, 5.0), "init/fc-sigmoid": (0.01, 5.0)},  # one that diverges; the smallest SD, the bad one
    batch_sizes=(16, 64),  # batch 4 took 7,488 steps a run, 14 runs: the smoke run needs two sizes, not small ones
    quick=True,
)
BUDGETS = (FULL, QUICK)


def config_of(
    name: str, base: Settings, arm: Arm, seed: int, steps: int, budget: Budget, extra: Settings | None = None
) -> Config:
    """A run's config: base, then the seed, steps with the budget's evaluation points and `extra`; then the arm's BN."""
    every = max(1, steps // budget.evaluations)
    run = {
        "name": name,
        "seed": seed,
        "train": {"steps": steps, "eval_every": every, "log_every": every},
        "log": {"histograms": False},
    }
    return arm.configure(from_dict(Config, merged(merged(base, run), extra or {})))


def dotted(key: str, value: object) -> Settings:
    """ "train.learning_rate", 0.1 -> {"train": {"learning_rate": 0.1}}."""
    section, name = key.split(".")
    return {section: {name: value}}


Runs = dict[str, "RunFiles"]  # every finished run of the studies, read once (`lab.runs.read_runs`)


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
        trains=stats.judge_fraction([a is not None and a >= REACH for a in accuracies]),
        train_accuracy=stats.spread([summary.final_train_accuracy for summary in summaries]),
    )


def differences(a: Sequence[float | None], b: Sequence[float | None]) -> list[float | None]:
    """Per seed, a - b (None where either is None)."""
    return [None if x is None or y is None else x - y for x, y in zip(a, b, strict=True)]


def layer_names(record: dict[str, object], kind: str) -> list[str]:
    """The layers a per-layer tag has in a record, in the network's order (the names sort that way)."""
    return sorted(name.split("/", 1)[1] for name in record if name.startswith(f"{kind}/"))


SMOOTHER, SIMILAR, ROUGHER = "smoother with BN", "similar", "rougher with BN"  # one landscape measure, by decades
DECADE_MARGIN = 0.1  # log10 ratios within +-this (a factor 1.26) count as no difference


def mean(found: Spread | None) -> float | None:
    return None if found is None else found.mean


def claim_line(verdict: Verdict) -> str:
    """The claim, its verdict and the rule that gave it, and when that rule was declared."""
    when = (
        "applied after the runs to their stored numbers (results older than stored verdicts)"
        if verdict.judged_later
        else "declared before the runs"
    )
    return f"Claim tested: {verdict.claim}: **{verdict.word}** here. Rule, {when}: {verdict.rule}."


def claim_heading(title: str, verdict: Verdict) -> list[str]:
    """A study section's title and its claim line."""
    return [f"## {title}", "", claim_line(verdict), ""]


BAND_NOTE = "line: mean over seeds; band: min..max"
DOTS_NOTE = "dots: seeds"


def field(spreads: list[Spread | None], name: str) -> np.ndarray:
    return np.array([np.nan if s is None else getattr(s, name) for s in spreads], dtype=float)


def draw_spread(axis: Axes, x: Sequence[float], spreads: list[Spread | None], arm: Arm) -> None:
    """Mean over seeds as a line with markers, min..max as a band."""
    axis.fill_between(x, field(spreads, "min"), field(spreads, "max"), color=arm.colour, alpha=0.2, linewidth=0)
    axis.plot(x, field(spreads, "mean"), "o-", color=arm.colour, markersize=4, label=arm.short)


def draw_seed_dots(axis: Axes, x: Sequence[float], points: list[Outcomes], arm: Arm) -> None:
    for value, point in zip(x, points):
        seeds = [v for v in point.seeds if v is not None]
        axis.scatter([value] * len(seeds), seeds, color=arm.colour, s=9, alpha=0.6, zorder=3)


@dataclass(frozen=True)
class ExplainStudy:
    """One of explain's studies, as `study.py` runs it: adding one is a module that fills this, and its entry there."""

    name: str
    plan: Callable[[Plan, Budget], None]  # adds the runs it needs
    analyse: Callable[[Plan, Runs, Budget], Any]  # its record in `Studies`
    judge: Callable[[Any], dict[str, Any]]  # its entries in `Verdicts` (a verdict per claim it tests)
    section: Callable[[Any, Verdicts, str], list[str]]  # its report section, given its figure's file
    figure: Callable[[Any], Figure]
    rules: tuple[Rule, ...] = ()  # the rules it declares (the inside study answers a question instead)
