"""`explain`'s studies as data, their `Budget` and the runs they need (`plan`).

Every run is in the plan with what it is for (study, panel, swept value, arm, seed), keyed
`<group>/<panel>/<x>/<arm>-seed<n>`; the BN and the non-BN network of a seed start from the same weights (models.py).
The landscape and the covariate-shift studies measure the same runs (their probe measures both). Budgets: the FC
runs are the Lesson's "short" ones (2,000 batches of 60), the conv runs the Solutions' 800 batches of 64; the quick
budget cuts the FC runs to a quarter and the conv runs to a sixteenth, and thins the grids. The batch and the
plain-net studies have their own seed counts: verdicts that rest on paired intervals and on seed fractions need
about 10 seeds to decide anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bn_mnist.core.config import Config, find_config, from_dict, merged, read_config_file
from bn_mnist.lab.arms import (
    BESSEL,
    BN,
    BN_FREE_INITS,
    GROUP_NORM,
    HE,
    LAYER_NORM,
    LSUV,
    NO_BN,
    NOISY_BN,
    RENORM,
    RENORM_WARMUP,
    Arm,
    by_key,
)
from bn_mnist.lab.plan import Plan, RunId
from bn_mnist.lab.study import Budget as BaseBudget

if TYPE_CHECKING:
    from bn_mnist.core.training.measurement import Measurement

FC_BASE = read_config_file(find_config("fc"))  # the Lesson's net: ReLU, SGD 0.01, batches of 60, init std 0.05
CONV_BASE = read_config_file(find_config("conv"))  # the Solutions' net: Adam 0.002, batches of 64
REACH = 0.90  # "trains": final validation accuracy at least this
FC_LEARNING_RATE = 0.1  # the init, smoothness and batch studies: a rate at which both FC networks learn in 2,000 steps
# The landscape probe's steps along the gradient: ‖Δθ‖, the same for both nets (the earlier full run's medians imply
# training steps of the FC net at SGD 0.1 of about 0.12 with BN and 0.33 without), and for the scale-invariant variant
# each kernel's step as a fraction of its own norm.
LANDSCAPE_DISTANCES = (0.05, 0.1, 0.2, 0.4)
KERNEL_FRACTIONS = (0.005, 0.01, 0.02, 0.04)
PAIRED_ARMS = (BN, NO_BN)  # the grid, inside, landscape and covariate-shift studies compare these
INSIDE_ARMS = (*PAIRED_ARMS, HE, LSUV)  # and, inside, no BN from variance-preserving starts: is the init the cause?
SMOOTHNESS_ARMS = (*PAIRED_ARMS, NOISY_BN)  # and BN with noise after it: does BN need a steady distribution?
BATCH_INDEPENDENT = (GROUP_NORM, LAYER_NORM)  # normalizations that use one example alone (Wu & He 2018)
BATCH_VARIANTS = (BESSEL, RENORM, RENORM_WARMUP)  # BN changed to depend less on small batches: judged against BN
BATCH_ARMS = (BN, *BATCH_VARIANTS, *BATCH_INDEPENDENT, NO_BN)
PLAIN_ARMS = (BN, NO_BN, *BN_FREE_INITS)  # the 19-layer conv net with BN, and without it at four inits
ARMS = by_key((*BATCH_ARMS, *PLAIN_ARMS, NOISY_BN))  # every arm a study trains (the controls among them), by key


@dataclass(frozen=True)
class Panel:
    """One network setting swept over one config key (a panel of a grid study's figure); the budget gives its grid."""

    name: str  # e.g. "fc-relu"
    title: str
    base: dict
    key: str  # the swept config key, "train.learning_rate" or "model.init_std"
    arch: str = "fc"
    controls: tuple[Arm, ...] = ()  # no BN from a variance-preserving init, at the base setting (not swept)


SIGMOID = {"model": {"activation": "sigmoid"}}
FC_AT_RATE = merged(FC_BASE, {"train": {"learning_rate": FC_LEARNING_RATE}})
LR_PANELS = (
    Panel("fc-relu", "FC, ReLU, SGD", FC_BASE, "train.learning_rate"),
    Panel("fc-sigmoid", "FC, sigmoid, SGD", merged(FC_BASE, SIGMOID), "train.learning_rate"),
    Panel("conv", "conv, ReLU, Adam", CONV_BASE, "train.learning_rate", "conv"),
)
INIT_PANELS = (  # He keeps a ReLU net's variance, not a sigmoid one's; LSUV measures it, for either
    Panel("fc-relu", f"FC, ReLU, SGD {FC_LEARNING_RATE:g}", FC_AT_RATE, "model.init_std", controls=(HE, LSUV)),
    Panel(
        "fc-sigmoid",
        f"FC, sigmoid, SGD {FC_LEARNING_RATE:g}",
        merged(FC_AT_RATE, SIGMOID),
        "model.init_std",
        controls=(LSUV,),
    ),
)
GRID_STUDIES = {"lr": LR_PANELS, "init": INIT_PANELS}
INSIDE_NETS = {"conv": CONV_BASE, "fc": FC_BASE}  # the Solutions' conv run; the Lesson's row 2 (SGD 0.01)

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
    grids: dict[str, tuple[float, ...]]  # "<study>/<panel>" -> the swept values
    batch_sizes: tuple[int, ...]

    def grid(self, study: str, panel: Panel) -> tuple[float, ...]:
        return self.grids[f"{study}/{panel.name}"]


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


def value_key(panel: Panel, value: float) -> str:
    return f"{panel.key.rsplit('.', 1)[-1]}{value:g}"


def config_of(
    name: str, base: dict, arm: Arm, seed: int, steps: int, budget: Budget, extra: dict | None = None
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


def dotted(key: str, value: object) -> dict:
    """ "train.learning_rate", 0.1 -> {"train": {"learning_rate": 0.1}}."""
    section, name = key.split(".")
    return {section: {name: value}}


def plan_grid(plan: Plan, study: str, budget: Budget) -> None:
    """Each panel's BN and non-BN runs at every grid value, and its controls at the base setting."""
    for panel in GRID_STUDIES[study]:
        steps, seeds, name = budget.steps[panel.arch], range(budget.seeds[panel.arch]), f"explain-{study}-{panel.name}"
        for value in budget.grid(study, panel):
            group = f"{study}/{panel.name}/{value_key(panel, value)}"
            for arm in PAIRED_ARMS:
                for seed in seeds:
                    config = config_of(name, panel.base, arm, seed, steps, budget, dotted(panel.key, value))
                    plan.add(RunId(study, arm.key, seed, panel.name, value), group, config)
        for arm in panel.controls:
            for seed in seeds:
                config = config_of(name, panel.base, arm, seed, steps, budget)
                plan.add(RunId(study, arm.key, seed, panel.name), f"{study}/{panel.name}/control", config)


def plan_inside(plan: Plan, budget: Budget) -> None:
    """The runs whose inside (per-layer activations, dead ReLUs, gradients) is logged at every evaluation."""
    for net, base in INSIDE_NETS.items():
        for arm in INSIDE_ARMS:
            for seed in range(budget.seeds[net]):
                extra = {"log": {"histograms": True}}
                config = config_of(f"explain-inside-{net}", base, arm, seed, budget.steps[net], budget, extra)
                plan.add(RunId("inside", arm.key, seed, net), f"inside/{net}", config)


def smoothness_probe() -> Measurement:
    """The landscape and covariate-shift probe (imported here, when a worker builds it: planning needs no
    TensorFlow)."""
    from bn_mnist.studies.explain.probes import SmoothnessProbe

    return SmoothnessProbe()


def plan_smoothness(plan: Plan, study: str, budget: Budget) -> None:
    """The FC runs the landscape and covariate-shift probe measures (studies landscape and ics share them)."""
    for arm in SMOOTHNESS_ARMS:
        for seed in range(budget.seeds["fc"]):
            config = config_of("explain-smoothness", FC_AT_RATE, arm, seed, budget.steps["fc"], budget)
            plan.add(RunId(study, arm.key, seed), "smoothness", config, probe=smoothness_probe)


def batch_learning_rate(size: int) -> float:
    """FC_LEARNING_RATE at the Lesson's batch of 60, scaled linearly with the batch (Goyal et al. 2017): without BN
    every batch size then takes the same path in expectation, so what changes with the batch is BN's doing. At a
    fixed 0.1, batches of 2 failed with and without BN alike (measured: README, "Why does BN help?")."""
    return FC_LEARNING_RATE * size / FC_BASE["train"]["batch_size"]


def batch_examples(budget: Budget) -> int:
    """Examples every batch size sees: the FC budget of batches of 60, rounded down to a whole number of batches of
    every size (120,000 as it is; the quick 30,000 becomes 29,952)."""
    whole = math.lcm(*budget.batch_sizes)
    return budget.steps["fc"] * FC_BASE["train"]["batch_size"] // whole * whole


def plan_batch(plan: Plan, budget: Budget) -> None:
    """The FC net at each batch size for the same number of examples."""
    for size in budget.batch_sizes:
        for arm in BATCH_ARMS:
            for seed in range(budget.seeds["batch"]):
                extra = {"train": {"batch_size": size, "learning_rate": batch_learning_rate(size)}}
                steps = batch_examples(budget) // size
                config = config_of("explain-batch", FC_BASE, arm, seed, steps, budget, extra)
                plan.add(RunId("batch", arm.key, seed, value=size), f"batch/b{size}", config)


def plan_plain(plan: Plan, budget: Budget) -> None:
    """The Solutions' 19-layer conv net for the conv budget (its 800 batches): with BN, and without it at its own
    init, He, LSUV and SELU + LeCun."""
    for arm in PLAIN_ARMS:
        for seed in range(budget.seeds["plain"]):
            config = config_of("explain-plain", CONV_BASE, arm, seed, budget.steps["conv"], budget)
            plan.add(RunId("plain", arm.key, seed), "plain", config)


PLANNERS = {  # study -> adds the runs it needs
    "lr": lambda plan, budget: plan_grid(plan, "lr", budget),
    "init": lambda plan, budget: plan_grid(plan, "init", budget),
    "inside": plan_inside,
    "landscape": lambda plan, budget: plan_smoothness(plan, "landscape", budget),
    "ics": lambda plan, budget: plan_smoothness(plan, "ics", budget),
    "batch": plan_batch,
    "plain": plan_plain,
}


def plan(chosen: tuple[str, ...], budget: Budget) -> Plan:
    """Every run the studies need, each once."""
    planned = Plan()
    for study in chosen:
        PLANNERS[study](planned, budget)
    return planned
