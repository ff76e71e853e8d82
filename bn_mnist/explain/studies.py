"""`explain`'s studies as data, and the runs they need (`plan`).

Every run is a `RunSpec` keyed `<group>/<panel>/<x>/<arm>-seed<n>`; the BN and the non-BN network of a seed start
from the same weights (models.py). The landscape and the covariate-shift studies measure the same runs (their
probe measures both). Budgets: the FC runs are the Lesson's "short" ones (2,000 batches of 60), the conv runs the
Solutions' 800 batches of 64; `--quick` cuts both to a quarter and thins the grids.
"""

from __future__ import annotations

from dataclasses import dataclass

from bn_mnist.config import Config, find_config, from_dict, merged, read_config_file
from bn_mnist.explain.probes import SmoothnessProbe
from bn_mnist.reproduction.experiments import expected_cost, run_key
from bn_mnist.training.runner import RunSpec

FC_BASE = read_config_file(find_config("fc"))  # the Lesson's net: ReLU, SGD 0.01, batches of 60, init std 0.05
CONV_BASE = read_config_file(find_config("conv"))  # the Solutions' net: Adam 0.002, batches of 64
FC_STEPS, QUICK_FC_STEPS = 2_000, 500
CONV_STEPS, QUICK_CONV_STEPS = 800, 200
EVALUATIONS, QUICK_EVALUATIONS = 20, 10  # evaluation points per run (plus step 0): a conv one costs ~0.4 s
DEFAULT_SEEDS = {"fc": 5, "conv": 3}  # FC runs take seconds, conv runs ~30 s each on one core
QUICK_SEEDS = 2  # never one: a spread needs two
REACH = 0.90  # "trains": final validation accuracy at least this
FC_LEARNING_RATE = 0.1  # the init, smoothness and batch studies: a rate at which both FC networks learn in 2,000 steps
ARMS = {  # sub-directory -> the BN settings of that network
    "bn": {"enabled": True},
    "no_bn": {"enabled": False},
    "renorm": {"enabled": True, "renorm": True, "renorm_clipping": {"rmax": 3.0, "rmin": 0.3333, "dmax": 5.0}},
}
ARM_LABELS = {"bn": "BN", "no_bn": "no BN", "renorm": "Batch Renorm"}


@dataclass(frozen=True)
class Panel:
    """One network setting swept over one config key (a panel of a grid study's figure)."""

    name: str  # e.g. "fc-relu"
    title: str
    base: dict
    key: str  # the swept config key, "train.learning_rate" or "model.init_std"
    values: tuple[float, ...]
    quick_values: tuple[float, ...]
    arch: str = "fc"

    def grid(self, quick: bool) -> tuple[float, ...]:
        return self.quick_values if quick else self.values


FC_RATES = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)
QUICK_FC_RATES = (1e-2, 0.1, 1.0, 10.0)
INIT_STDS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 5.0)  # 5: the Lesson's "bad" weights
QUICK_INIT_STDS = (0.01, 1.0, 5.0)
SIGMOID = {"model": {"activation": "sigmoid"}}
LR_PANELS = (
    Panel("fc-relu", "FC, ReLU, SGD", FC_BASE, "train.learning_rate", FC_RATES, QUICK_FC_RATES),
    Panel("fc-sigmoid", "FC, sigmoid, SGD", merged(FC_BASE, SIGMOID), "train.learning_rate", FC_RATES, QUICK_FC_RATES),
    Panel(
        "conv",
        "conv, ReLU, Adam",
        CONV_BASE,
        "train.learning_rate",
        (1e-5, 1e-4, 1e-3, 1e-2, 1e-1),
        (1e-4, 1e-2),
        "conv",
    ),
)
FC_AT_RATE = merged(FC_BASE, {"train": {"learning_rate": FC_LEARNING_RATE}})
INIT_PANELS = (
    Panel("fc-relu", f"FC, ReLU, SGD {FC_LEARNING_RATE:g}", FC_AT_RATE, "model.init_std", INIT_STDS, QUICK_INIT_STDS),
    Panel(
        "fc-sigmoid",
        f"FC, sigmoid, SGD {FC_LEARNING_RATE:g}",
        merged(FC_AT_RATE, SIGMOID),
        "model.init_std",
        INIT_STDS,
        QUICK_INIT_STDS,
    ),
)
INSIDE_NETS = {"conv": CONV_BASE, "fc": FC_BASE}  # the Solutions' conv run; the Lesson's row 2 (SGD 0.01)
BATCH_SIZES, QUICK_BATCH_SIZES = (2, 4, 8, 16, 60), (2, 60)
GRID_STUDIES = {"lr": LR_PANELS, "init": INIT_PANELS}


def seed_counts(seeds: int | None, quick: bool) -> dict[str, int]:
    """Seeds per kind of network: `seeds` for all when given, QUICK_SEEDS in a quick run, else DEFAULT_SEEDS."""
    if seeds is not None:
        return dict.fromkeys(DEFAULT_SEEDS, seeds)
    return dict.fromkeys(DEFAULT_SEEDS, QUICK_SEEDS) if quick else dict(DEFAULT_SEEDS)


def value_key(panel: Panel, value: float) -> str:
    return f"{panel.key.rsplit('.', 1)[-1]}{value:g}"


def steps_for(arch: str, quick: bool) -> int:
    if arch == "conv":
        return QUICK_CONV_STEPS if quick else CONV_STEPS
    return QUICK_FC_STEPS if quick else FC_STEPS


def evaluations(quick: bool) -> int:
    return QUICK_EVALUATIONS if quick else EVALUATIONS


def config_of(name: str, base: dict, arm: str, seed: int, steps: int, quick: bool, extra: dict | None = None) -> Config:
    """A run's config: base, then the arm's BN, seed, steps with `evaluations(quick)` evaluation points, and
    `extra`."""
    every = max(1, steps // evaluations(quick))
    run = {
        "name": name,
        "seed": seed,
        "bn": ARMS[arm],
        "train": {"steps": steps, "eval_every": every, "log_every": every},
        "log": {"histograms": False},
    }
    return from_dict(Config, merged(merged(base, run), extra or {}))


def dotted(key: str, value: object) -> dict:
    """ "train.learning_rate", 0.1 -> {"train": {"learning_rate": 0.1}}."""
    section, name = key.split(".")
    return {section: {name: value}}


def grid_specs(study: str, counts: dict[str, int], quick: bool) -> list[RunSpec]:
    specs = []
    for panel in GRID_STUDIES[study]:
        steps = steps_for(panel.arch, quick)
        for value in panel.grid(quick):
            group = f"{study}/{panel.name}/{value_key(panel, value)}"
            for arm in ("bn", "no_bn"):
                for seed in range(counts[panel.arch]):
                    config = config_of(
                        f"explain-{study}-{panel.name}", panel.base, arm, seed, steps, quick, dotted(panel.key, value)
                    )
                    specs.append(RunSpec(run_key(group, arm, seed), config))
    return specs


def inside_specs(counts: dict[str, int], quick: bool) -> list[RunSpec]:
    """The runs whose inside (per-layer activations, dead ReLUs, gradients) is logged at every evaluation."""
    return [
        RunSpec(
            run_key(f"inside/{net}", arm, seed),
            config_of(
                f"explain-inside-{net}", base, arm, seed, steps_for(net, quick), quick, {"log": {"histograms": True}}
            ),
        )
        for net, base in INSIDE_NETS.items()
        for arm in ("bn", "no_bn")
        for seed in range(counts[net])
    ]


def smoothness_specs(counts: dict[str, int], quick: bool) -> list[RunSpec]:
    """The FC runs the landscape and covariate-shift probe measures (studies landscape and ics)."""
    return [
        RunSpec(
            run_key("smoothness", arm, seed),
            config_of("explain-smoothness", FC_AT_RATE, arm, seed, steps_for("fc", quick), quick),
            probe=SmoothnessProbe,
        )
        for arm in ("bn", "no_bn")
        for seed in range(counts["fc"])
    ]


def batch_sizes(quick: bool) -> tuple[int, ...]:
    return QUICK_BATCH_SIZES if quick else BATCH_SIZES


def batch_learning_rate(size: int) -> float:
    """FC_LEARNING_RATE at the Lesson's batch of 60, scaled linearly with the batch (Goyal et al. 2017): without BN
    every batch size then takes the same path in expectation, so what changes with the batch is BN's doing. At a
    fixed 0.1, batches of 2 failed with and without BN alike (measured: README, "Why does BN help?")."""
    return FC_LEARNING_RATE * size / FC_BASE["train"]["batch_size"]


def batch_specs(counts: dict[str, int], quick: bool) -> list[RunSpec]:
    """The FC net at each batch size for the same number of examples (the budget of batches of 60)."""
    examples = steps_for("fc", quick) * FC_BASE["train"]["batch_size"]
    return [
        RunSpec(
            run_key(f"batch/b{size}", arm, seed),
            config_of(
                "explain-batch",
                FC_BASE,
                arm,
                seed,
                examples // size,
                quick,
                {"train": {"batch_size": size, "learning_rate": batch_learning_rate(size)}},
            ),
        )
        for size in batch_sizes(quick)
        for arm in ARMS
        for seed in range(counts["fc"])
    ]


SPECS = {  # study -> the runs it needs, given the seed counts and quick
    "lr": lambda counts, quick: grid_specs("lr", counts, quick),
    "init": lambda counts, quick: grid_specs("init", counts, quick),
    "inside": inside_specs,
    "landscape": smoothness_specs,
    "ics": smoothness_specs,
    "batch": batch_specs,
}


def plan(studies: tuple[str, ...], counts: dict[str, int], quick: bool) -> list[RunSpec]:
    """Every run the studies need, each once, slowest first (so parallel workers finish together)."""
    unique = {spec.key: spec for study in studies for spec in SPECS[study](counts, quick)}
    return sorted(unique.values(), key=lambda spec: -expected_cost(spec.config))
