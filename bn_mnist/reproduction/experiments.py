"""The tutorial's published experiments as data (tutorial-facts §2, §3; checked against the English notebooks) and
the configs that rerun them.

Each run of a reproduction is a `RunSpec`: where it lives under the output directory and its full config.
Lesson rows that repeat a setting (4/5, 13/17, 15/18) share their runs: a repeat is another draw of luck, which
the seeds provide. The tutorial evaluates after the step whose index is a multiple of 100 (or 500, 50): its
"batch k" point follows k + 1 training steps, ours at step k follows k; the report pairs them and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from bn_mnist.config import Config, ModelConfig, find_config, from_dict, merged, read_config_file
from bn_mnist.reproduction.probes import PaperProbe
from bn_mnist.training.runlog import ARMS
from bn_mnist.training.runner import RunSpec

LESSON_STEPS = 50_000  # the Lesson's default run
QUICK_LESSON_STEPS = 5_000  # --quick: the 50,000-batch runs cut to a tenth (2,000-batch rows stay as they are)
SHORT_STEPS = 2_000  # the Lesson's "short" rows
NETWORKS = ("no_bn", "bn")  # the Lesson's two networks, sub-directory names
NETWORK_LABELS = ARMS
# Seeds per kind of run. The conv runs (800 steps), the 2,000-step rows and the pitfall are cheap: 10 seeds. The
# 50,000-step runs get 5, which keeps `reproduce all` within an hour on 2 cores (measured: see the report).
DEFAULT_SEEDS = {"conv": 10, "short": 10, "long": 5}

LESSON_BASE = read_config_file(find_config("fc"))  # the Lesson's FC net and training (tutorial-facts §2): row 1
BAD_INIT_STD = 5.0  # the Lesson's "bad" weights; "good" ones have the schema's default std (0.05)
# The BN paper's MNIST net (Ioffe & Szegedy 2015, §4.1): the Lesson's 3x100 net with sigmoids, 50,000 steps of 60,
# "28x28 binary image" input. The paper gives no learning rate; 0.1 lets the baseline learn the way the paper's
# Figure 1(a) shows (here, seed 0: 0.71 validation accuracy at step 4,500, 0.91 at 9,500, 0.95 at 21,000), where
# the Lesson's 0.01 leaves it below 0.85 after 50,000 steps.
PAPER_SETTING = {
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
    said: str

    @property
    def setting(self) -> str:
        weights = "bad" if self.bad_weights else "good"
        return f"{weights}-lr{self.learning_rate:g}-{self.activation}" + ("-2k" if self.short else "")

    @property
    def title(self) -> str:
        weights = "bad" if self.bad_weights else "good"
        batches = "2,000" if self.short else "50,000"
        return f"{weights} weights, lr {self.learning_rate:g}, {self.activation}, {batches} batches"


LESSON = (
    LessonRow(
        1,
        False,
        0.01,
        "relu",
        False,
        (0.9730, 0.9748),
        (0.9832, 0.9803),
        "BN >90% almost at once; no-BN needs ~3k steps for 90%",
    ),
    LessonRow(
        2, False, 0.01, "relu", True, (0.8286, 0.8262), (0.9578, 0.9525), "BN >90% near step 500; no-BN 80% at ~1,750"
    ),
    LessonRow(
        3,
        False,
        0.01,
        "sigmoid",
        False,
        (0.8344, 0.8271),
        (0.9756, 0.9732),
        "no-BN needs >45k steps for 80%; BN 90% in ~1k",
    ),
    LessonRow(4, False, 1, "relu", False, (0.0958, 0.0980), (0.9844, 0.9834), "no-BN crashes part way (dead ReLUs)"),
    LessonRow(5, False, 1, "relu", False, (0.0986, 0.1010), (0.9840, 0.9822), "same, crashes later"),
    LessonRow(6, False, 1, "sigmoid", False, (0.9784, 0.9752), (0.9838, 0.9812), "both fine"),
    LessonRow(7, False, 1, "sigmoid", True, (0.9208, 0.9227), (0.9518, 0.9463), "BN 90% in ~400, no-BN >1,700"),
    LessonRow(8, False, 2, "relu", False, (0.0986, 0.1010), (0.9828, 0.9827), "no-BN does not learn"),
    LessonRow(9, False, 2, "sigmoid", False, (0.9796, 0.9782), (0.9804, 0.9782), "both fine"),
    LessonRow(10, False, 2, "sigmoid", True, (0.9384, 0.9360), (0.9574, 0.9524), "BN faster"),
    LessonRow(11, True, 0.01, "relu", False, (0.0958, 0.0980), (0.7946, 0.7990), "no-BN never learns; BN ~80%"),
    LessonRow(12, True, 0.01, "sigmoid", False, (0.2202, 0.2270), (0.8592, 0.8527), "no-BN would take very long"),
    LessonRow(13, True, 1, "relu", False, (0.1126, 0.1135), (0.9244, 0.9208), "BN >90% at ~30k; no-BN nowhere"),
    LessonRow(14, True, 1, "sigmoid", False, (0.8970, 0.8957), (0.9570, 0.9505), "no-BN stuck ~90%, erratic"),
    LessonRow(
        15, True, 2, "relu", False, (0.0958, 0.0980), (0.9128, 0.9054), 'BN gets 90% but bounces; "a bit of luck"'
    ),
    LessonRow(16, True, 2, "sigmoid", False, (0.9094, 0.9066), (0.9614, 0.9583), "BN faster and higher"),
    LessonRow(
        17, True, 1, "relu", False, (0.1126, 0.1135), (0.0988, 0.1010), '"BN doesn\'t fix everything": BN fails too'
    ),
    LessonRow(18, True, 2, "relu", False, (0.0958, 0.0980), (0.0986, 0.1010), "BN almost starts, then breaks down"),
)


def lesson_settings() -> dict[str, LessonRow]:
    """Each distinct Lesson setting once, with its first row."""
    settings: dict[str, LessonRow] = {}
    for row in LESSON:
        settings.setdefault(row.setting, row)
    return settings


ROUNDOFF = "bn_keras_threads2"  # the Keras BN conv run again with 2 threads: the same seed, other round-off
ROUNDOFF_SEEDS = 3
PITFALL_ROW = LESSON[1]  # the Lesson's inference demonstration uses row 2's BN net
PITFALL_IMAGES = 200  # ... on its first 200 test images, one at a time


@dataclass(frozen=True)
class ConvRow:
    """One row of the Solutions table: validation accuracy at batches 0, 100, ..., 700, then final val / test /
    100 single samples."""

    key: str
    label: str
    curve: tuple[float, ...]
    val: float
    test: float
    single: float


CONV_STEPS = tuple(range(0, 800, 100))  # the tutorial's "batch k" evaluation follows k + 1 steps; ours at step k
CONV = (
    ConvRow("no_bn", "no BN", (0.0958, 0.1070, 0.0986, 0.0924, 0.1126, 0.1100, 0.0924, 0.0986), 0.1142, 0.1219, 0.13),
    ConvRow(
        "bn_keras",
        "BN, high-level layer",
        (0.0986, 0.1126, 0.2088, 0.7110, 0.8520, 0.9378, 0.9578, 0.9530),
        0.9746,
        0.9745,
        0.98,
    ),
    ConvRow(
        "bn_nn",
        "BN, low-level tf.nn",
        (0.0986, 0.0990, 0.0990, 0.1630, 0.3914, 0.7532, 0.9490, 0.9230),
        0.9578,
        0.9605,
        0.98,
    ),
)
CONV_SETTINGS = {  # the shipped configs: the schema's defaults are the Solutions' high-level net (conv.yaml)
    "no_bn": merged(read_config_file(find_config("conv")), {"bn": {"enabled": False}}),
    "bn_keras": read_config_file(find_config("conv")),
    "bn_nn": read_config_file(find_config("conv-nn")),
}


def seed_counts(seeds: int | None, quick: bool) -> dict[str, int]:
    """Seeds per kind of run: `seeds` for all when given, one in a quick run, else DEFAULT_SEEDS."""
    if seeds is not None:
        return dict.fromkeys(DEFAULT_SEEDS, seeds)
    return dict.fromkeys(DEFAULT_SEEDS, 1) if quick else dict(DEFAULT_SEEDS)


def run_key(group: str, network: str, seed: int) -> str:
    return f"{group}/{network}-seed{seed}"


def long_run(setting: dict, network: str, seed: int, steps: int) -> Config:
    """A Lesson-net config: the Lesson's base, a setting on top, one network and seed; 100 evaluations per run."""
    every = 50 if steps == SHORT_STEPS else steps // 100  # 500 for the full runs, 50 for the short ones: as the Lesson
    run = {
        "seed": seed,
        "bn": {"enabled": network == "bn"},
        "train": {"steps": steps, "eval_every": every, "log_every": every},
    }
    return from_dict(Config, merged(merged(LESSON_BASE, setting), run))


def lesson_config(row: LessonRow, network: str, seed: int, quick: bool) -> Config:
    """The Lesson's config for one row and network; both networks of a seed start from the same weights."""
    steps = SHORT_STEPS if row.short else QUICK_LESSON_STEPS if quick else LESSON_STEPS
    init_std = BAD_INIT_STD if row.bad_weights else ModelConfig.init_std
    setting = {
        "name": f"lesson-{row.setting}",
        "model": {"activation": row.activation, "init_std": init_std},
        "train": {"learning_rate": row.learning_rate},
    }
    return long_run(setting, network, seed, steps)


def paper_config(network: str, seed: int, quick: bool) -> Config:
    return long_run(PAPER_SETTING, network, seed, QUICK_LESSON_STEPS if quick else LESSON_STEPS)


def conv_config(key: str, seed: int) -> Config:
    """One of the Solutions' three conv runs (800 batches of 64, Adam 0.002, sigmoid cross-entropy)."""
    return from_dict(Config, merged(CONV_SETTINGS[key], {"name": f"conv-{key}", "seed": seed}))


def roundoff_config(seed: int) -> Config:
    """The Keras BN conv run of `seed` with 2 threads instead of 1: how far round-off alone moves one run."""
    return from_dict(
        Config, merged(CONV_SETTINGS["bn_keras"], {"name": "conv-roundoff", "seed": seed, "train": {"threads": 2}})
    )


def row_seeds(row: LessonRow, counts: dict[str, int]) -> range:
    return range(counts["short" if row.short else "long"])


def lesson_specs(
    rows: tuple[LessonRow, ...], networks: tuple[str, ...], counts: dict[str, int], quick: bool
) -> list[RunSpec]:
    return [
        RunSpec(run_key(f"lesson/{row.setting}", network, seed), lesson_config(row, network, seed, quick))
        for row in rows
        for network in networks
        for seed in row_seeds(row, counts)
    ]


def plan(experiments: tuple[str, ...], counts: dict[str, int], quick: bool) -> list[RunSpec]:
    """Every run the experiments need, each once, slowest first (so parallel workers finish together)."""
    specs: list[RunSpec] = []
    if "conv" in experiments:
        specs += [
            RunSpec(run_key("conv", row.key, seed), conv_config(row.key, seed))
            for row in CONV
            for seed in range(counts["conv"])
        ]
        specs += [
            RunSpec(run_key("conv", ROUNDOFF, s), roundoff_config(s))
            for s in range(min(ROUNDOFF_SEEDS, counts["conv"]))
        ]
    if "lesson" in experiments:
        specs += lesson_specs(LESSON, NETWORKS, counts, quick)
    if "paper" in experiments:
        specs += [
            RunSpec(run_key("paper", net, seed), paper_config(net, seed, quick), probe=PaperProbe)
            for net in NETWORKS
            for seed in range(counts["long"])
        ]
    if "pitfall" in experiments:
        specs += lesson_specs((PITFALL_ROW,), ("bn",), counts, quick)
    unique = list({spec.key: spec for spec in specs}.values())
    return sorted(unique, key=lambda spec: -expected_cost(spec.config))


def expected_cost(config: Config) -> float:
    """Rough training time in FC-step units: a conv step costs ~80 FC steps here (scripts/bench.py)."""
    return config.train.steps * (80 if config.model.arch == "conv" else 1)
