"""The tutorial's published experiments as data (tutorial-facts §2, §3; checked against the English notebooks) and
the configs that rerun them.

Each run of a reproduction is in its `Plan` (what it is for, where it lives under the output directory, its full
config); its `Budget` (seeds per kind of run, the Lesson's long-run length) is chosen once. Lesson rows that repeat
a setting (4/5, 13/17, 15/18) share their runs: a repeat is another draw of luck, which the seeds provide. The
tutorial evaluates after the step whose index is a multiple of 100 (or 500, 50): its "batch k" point follows k + 1
training steps, ours at step k follows k; the report pairs them and says so.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bn_mnist.core.config import Config, ModelConfig, find_config, from_dict, merged, read_config_file
from bn_mnist.lab.arms import BN, BN_KERAS, BN_NN, NO_BN, ROUNDOFF, Arm
from bn_mnist.lab.plan import Plan, RunId
from bn_mnist.lab.study import Budget as BaseBudget

if TYPE_CHECKING:
    from bn_mnist.core.training.measurement import Measurement

LESSON_STEPS = 50_000  # the Lesson's default run
QUICK_LESSON_STEPS = 5_000  # --quick: the 50,000-batch runs cut to a tenth (2,000-batch rows stay as they are)
SHORT_STEPS = 2_000  # the Lesson's "short" rows
LESSON_ARMS = (NO_BN, BN)  # the Lesson's two networks, in its tables' order
# Seeds per kind of run: 20 everywhere, the fewest with which a two-sided rank test at 0.10 can flag a published
# value (ranktests.py; 19 is the minimum). `reproduce all` then trains 723 runs (see the report for its cost).
DEFAULT_SEEDS = {"conv": 20, "short": 20, "long": 20}
QUICK_SEEDS = 1


@dataclass(frozen=True, kw_only=True)
class Budget(BaseBudget):
    """How much a reproduction trains. Its seeds per kind of run: conv, short (2,000-step rows, the pitfall), long
    (50,000 steps, paper)."""

    lesson_steps: int  # the Lesson's long rows and the paper's runs


FULL = Budget(seeds=DEFAULT_SEEDS, lesson_steps=LESSON_STEPS)
QUICK = Budget(seeds=dict.fromkeys(DEFAULT_SEEDS, QUICK_SEEDS), lesson_steps=QUICK_LESSON_STEPS, quick=True)
BUDGETS = (FULL, QUICK)
LESSON_BASE = read_config_file(find_config("fc"))  # the Lesson's FC net and training (tutorial-facts §2): row 1
BAD_INIT_STD = 5.0  # the Lesson's "bad" weights; "good" ones have the schema's default std (0.05)
# The BN paper's MNIST net (Ioffe & Szegedy 2015, §4.1): the Lesson's 3x100 net with sigmoids, 50,000 steps of 60,
# "28x28 binary image" input. The paper gives no learning rate; 0.1 lets the baseline learn the way the paper's
# Figure 1(a) shows (here, seed 0: 0.71 validation accuracy at step 4,500, 0.91 at 9,500, 0.95 at 21,000), where
# the Lesson's 0.01 leaves it below 0.85 after 50,000 steps.
PAPER_SETTING: dict[str, Any] = {
    "name": "paper",
    "model": {"activation": "sigmoid"},
    "data": {"binarize": True},
    "train": {"learning_rate": 0.1},
}


@dataclass(frozen=True)
class LessonRow:
    """One row of the Lesson's results table: its arguments and the published validation / test accuracy."""

    row: int
    bad_weights: bool
    learning_rate: float
    activation: str
    short: bool  # 2,000 batches instead of 50,000
    no_bn: tuple[float, float]
    bn: tuple[float, float]

    @property
    def setting(self) -> str:
        weights = "bad" if self.bad_weights else "good"
        return f"{weights}-lr{self.learning_rate:g}-{self.activation}" + ("-2k" if self.short else "")

    def published(self, arm: Arm) -> tuple[float, float]:
        """The validation and test accuracy the row printed for one of its two networks."""
        return self.bn if arm == BN else self.no_bn

    @property
    def title(self) -> str:
        weights = "bad" if self.bad_weights else "good"
        batches = "2,000" if self.short else "50,000"
        return f"{weights} weights, lr {self.learning_rate:g}, {self.activation}, {batches} batches"


LESSON = (
    LessonRow(1, False, 0.01, "relu", False, (0.9730, 0.9748), (0.9832, 0.9803)),
    LessonRow(2, False, 0.01, "relu", True, (0.8286, 0.8262), (0.9578, 0.9525)),
    LessonRow(3, False, 0.01, "sigmoid", False, (0.8344, 0.8271), (0.9756, 0.9732)),
    LessonRow(4, False, 1, "relu", False, (0.0958, 0.0980), (0.9844, 0.9834)),
    LessonRow(5, False, 1, "relu", False, (0.0986, 0.1010), (0.9840, 0.9822)),
    LessonRow(6, False, 1, "sigmoid", False, (0.9784, 0.9752), (0.9838, 0.9812)),
    LessonRow(7, False, 1, "sigmoid", True, (0.9208, 0.9227), (0.9518, 0.9463)),
    LessonRow(8, False, 2, "relu", False, (0.0986, 0.1010), (0.9828, 0.9827)),
    LessonRow(9, False, 2, "sigmoid", False, (0.9796, 0.9782), (0.9804, 0.9782)),
    LessonRow(10, False, 2, "sigmoid", True, (0.9384, 0.9360), (0.9574, 0.9524)),
    LessonRow(11, True, 0.01, "relu", False, (0.0958, 0.0980), (0.7946, 0.7990)),
    LessonRow(12, True, 0.01, "sigmoid", False, (0.2202, 0.2270), (0.8592, 0.8527)),
    LessonRow(13, True, 1, "relu", False, (0.1126, 0.1135), (0.9244, 0.9208)),
    LessonRow(14, True, 1, "sigmoid", False, (0.8970, 0.8957), (0.9570, 0.9505)),
    LessonRow(15, True, 2, "relu", False, (0.0958, 0.0980), (0.9128, 0.9054)),
    LessonRow(16, True, 2, "sigmoid", False, (0.9094, 0.9066), (0.9614, 0.9583)),
    LessonRow(17, True, 1, "relu", False, (0.1126, 0.1135), (0.0988, 0.1010)),
    LessonRow(18, True, 2, "relu", False, (0.0958, 0.0980), (0.0986, 0.1010)),
)


def lesson_settings() -> dict[str, LessonRow]:
    """Each distinct Lesson setting once, with its first row."""
    settings: dict[str, LessonRow] = {}
    for row in LESSON:
        settings.setdefault(row.setting, row)
    return settings


ROUNDOFF_SEEDS = 3
# The BN paper's Figure 1 (b, c), measured at every evaluation of the paper's runs (reproduction/probes.py).
UNIT = 0  # the unit whose percentiles are logged (the paper's figure shows one)
BATCH = 1000  # the fixed evaluation batch: the first 1,000 validation images
PERCENTILES = (15, 50, 85)
DRIFT_WINDOW = 10  # evaluations averaged at each end of the run (5,000 steps of a 50,000-step run)
PITFALL_ROW = LESSON[1]  # the Lesson's inference demonstration uses row 2's BN net
PITFALL_IMAGES = 200  # ... on its first 200 test images, one at a time
PITFALL_SEED_OFFSET = 10_000  # the batch-statistics trainings' seeds: seed + this


@dataclass(frozen=True)
class ConvRow:
    """One row of the Solutions table: validation accuracy at batches 0, 100, ..., 700, then final val / test /
    100 single samples."""

    arm: Arm
    label: str  # the tutorial's name of the row
    curve: tuple[float, ...]
    val: float
    test: float
    single: float


CONV_STEPS = tuple(range(0, 800, 100))  # the tutorial's "batch k" evaluation follows k + 1 steps; ours at step k
CONV = (
    ConvRow(NO_BN, "no BN", (0.0958, 0.1070, 0.0986, 0.0924, 0.1126, 0.1100, 0.0924, 0.0986), 0.1142, 0.1219, 0.13),
    ConvRow(
        BN_KERAS,
        "BN, high-level layer",
        (0.0986, 0.1126, 0.2088, 0.7110, 0.8520, 0.9378, 0.9578, 0.9530),
        0.9746,
        0.9745,
        0.98,
    ),
    ConvRow(
        BN_NN,
        "BN, low-level tf.nn",
        (0.0986, 0.0990, 0.0990, 0.1630, 0.3914, 0.7532, 0.9490, 0.9230),
        0.9578,
        0.9605,
        0.98,
    ),
)
CONV_SETTINGS = {  # the shipped configs: the schema's defaults are the Solutions' high-level net (conv.yaml)
    NO_BN.key: merged(read_config_file(find_config("conv")), {"bn": {"enabled": False}}),
    BN_KERAS.key: read_config_file(find_config("conv")),
    BN_NN.key: read_config_file(find_config("conv-nn")),
}


def long_run(setting: dict, arm: Arm, seed: int, steps: int) -> Config:
    """A Lesson-net config: the Lesson's base, a setting on top, one network and seed; 100 evaluations per run."""
    every = 50 if steps == SHORT_STEPS else steps // 100  # 500 for the full runs, 50 for the short ones: as the Lesson
    run = {"seed": seed, "train": {"steps": steps, "eval_every": every, "log_every": every}}
    return arm.configure(from_dict(Config, merged(merged(LESSON_BASE, setting), run)))


def lesson_config(row: LessonRow, arm: Arm, seed: int, budget: Budget) -> Config:
    """The Lesson's config for one row and network; both networks of a seed start from the same weights."""
    steps = SHORT_STEPS if row.short else budget.lesson_steps
    init_std = BAD_INIT_STD if row.bad_weights else ModelConfig.init_std
    setting = {
        "name": f"lesson-{row.setting}",
        "model": {"activation": row.activation, "init_std": init_std},
        "train": {"learning_rate": row.learning_rate},
    }
    return long_run(setting, arm, seed, steps)


def paper_config(arm: Arm, seed: int, budget: Budget) -> Config:
    return long_run(PAPER_SETTING, arm, seed, budget.lesson_steps)


def conv_config(arm: Arm, seed: int) -> Config:
    """One of the Solutions' three conv runs (800 batches of 64, Adam 0.002, sigmoid cross-entropy)."""
    return from_dict(Config, merged(CONV_SETTINGS[arm.key], {"name": f"conv-{arm.key}", "seed": seed}))


def roundoff_config(seed: int) -> Config:
    """The Keras BN conv run of `seed` with 2 threads instead of 1: how far round-off alone moves one run."""
    return ROUNDOFF.configure(dataclasses.replace(conv_config(BN_KERAS, seed), name="conv-roundoff"))


def row_seeds(row: LessonRow, budget: Budget) -> range:
    return range(budget.seeds["short" if row.short else "long"])


def lesson_scope(setting: str) -> str:
    """The directory group of a Lesson setting's runs, and the scope of its records and claims."""
    return f"lesson/{setting}"


def plan_conv(plan: Plan, budget: Budget) -> None:
    for row in CONV:
        for seed in range(budget.seeds["conv"]):
            plan.add(RunId("conv", row.arm.key, seed), "conv", conv_config(row.arm, seed))
    for seed in range(min(ROUNDOFF_SEEDS, budget.seeds["conv"])):
        plan.add(RunId("conv", ROUNDOFF.key, seed), "conv", roundoff_config(seed))


def plan_lesson(plan: Plan, budget: Budget) -> None:
    for setting, row in lesson_settings().items():
        for arm in LESSON_ARMS:
            for seed in row_seeds(row, budget):
                config = lesson_config(row, arm, seed, budget)
                plan.add(RunId("lesson", arm.key, seed, setting), lesson_scope(setting), config)


def pitfall_seed(seed: int) -> int:
    """The seed of the pitfall's batch-statistics training: another draw than any Lesson run's seed."""
    return PITFALL_SEED_OFFSET + seed


def plan_pitfall(plan: Plan, budget: Budget) -> None:
    """The Lesson's two trainings per seed (cells 71 and 73): row 2's BN runs, shared with the Lesson's experiment,
    tested with the moving averages; and as many others, tested with batch statistics."""
    for seed in row_seeds(PITFALL_ROW, budget):
        config = lesson_config(PITFALL_ROW, BN, seed, budget)
        plan.add(RunId("pitfall", BN.key, seed), lesson_scope(PITFALL_ROW.setting), config)
        batch = dataclasses.replace(lesson_config(PITFALL_ROW, BN, pitfall_seed(seed), budget), name="pitfall")
        plan.add(RunId("pitfall", BN.key, pitfall_seed(seed)), "pitfall", batch)


def paper_probe() -> Measurement:
    """The paper runs' probe (imported here, when a worker builds it: planning needs no TensorFlow)."""
    from bn_mnist.studies.reproduce.probes import PaperProbe

    return PaperProbe()


def plan_paper(plan: Plan, budget: Budget) -> None:
    for arm in LESSON_ARMS:
        for seed in range(budget.seeds["long"]):
            plan.add(RunId("paper", arm.key, seed), "paper", paper_config(arm, seed, budget), probe=paper_probe)


PLANNERS = {"conv": plan_conv, "lesson": plan_lesson, "paper": plan_paper, "pitfall": plan_pitfall}


def plan(experiments: tuple[str, ...], budget: Budget) -> Plan:
    """Every run the experiments need, each once."""
    planned = Plan()
    for experiment in ("conv", "lesson", "paper", "pitfall"):
        if experiment in experiments:
            PLANNERS[experiment](planned, budget)
    return planned
