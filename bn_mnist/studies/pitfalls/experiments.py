"""The pitfalls as data: each one's cause and fix in words, its arms (the broken setting and its fixes, from the same
start and the same batches), the probe that measures it, its figure's panels, and the `Budget` and `plan` of runs.

Every pitfall trains the Lesson's FC net (784-100-100-100-10, ReLU, batches of 60) with SGD at 0.1, the rate at which
it learns in 2,000 steps with and without BN (`explain`'s), on MNIST. A run is keyed `<pitfall>/<arm>-seed<n>`; the
arms of a seed share its initial weights and batch order (models.py). The rules that judge each pitfall are in
`claims.py`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bn_mnist.core.config import Config, find_config, from_dict, merged, read_config_file
from bn_mnist.lab.arms import GROUP_NORM, RENORM, Arm, unchanged
from bn_mnist.lab.plan import Plan, RunId
from bn_mnist.lab.study import Budget as BaseBudget

if TYPE_CHECKING:
    from bn_mnist.core.training.measurement import Measurement

RECOMPUTE_BATCHES = (1, 3, 10, 30, 100)  # training batches whose statistics replace the moving ones (lag's fix)
REGIMES = ("all", "frozen", "frozen_bn_training", "adabn")  # the frozen pitfall's fine-tuning, in report order
BASE = merged(read_config_file(find_config("fc")), {"train": {"learning_rate": 0.1}})
SHORT = 20  # the lag pitfall's short runs: a twentieth of the budget's steps (100 of 2,000: the window of 0.99)


def changed(section: str, **values: object) -> Callable[[Config], Config]:
    """An arm's config change: `values` in one config section."""

    def configure(config: Config) -> Config:
        return dataclasses.replace(config, **{section: dataclasses.replace(getattr(config, section), **values)})

    return configure


def then(*changes: Callable[[Config], Config]) -> Callable[[Config], Config]:
    return functools.reduce(lambda first, second: lambda config: second(first(config)), changes)


def short(config: Config) -> Config:
    """A run of a twentieth of the steps, evaluated as often."""
    steps = max(1, config.train.steps // SHORT)
    every = max(1, steps // max(1, config.train.steps // config.train.eval_every))
    return changed("train", steps=steps, eval_every=every, log_every=every)(config)


def dropped_rate(config: Config) -> Config:
    """The rate falls tenfold a twentieth of the run before its end (at 1,900 of 2,000): the last evaluation comes
    right after the drop."""
    return changed("train", lr_drop_at=config.train.steps - config.train.steps // SHORT, lr_drop_factor=0.1)(config)


def arm(key: str, label: str, colour: str, *changes: Callable[[Config], Config]) -> Arm:
    return Arm(key, label, label, colour, then(*changes) if changes else unchanged)


@dataclass(frozen=True)
class Panel:
    """One panel of a pitfall's figure: `measures` of `arms`, each seed a dot and the mean a bar."""

    title: str
    measures: tuple[str, ...]
    ylabel: str
    arms: tuple[str, ...] = ()  # none: every arm of the pitfall


@dataclass(frozen=True)
class Pitfall:
    name: str
    title: str
    cause: str  # two sentences
    fix: str
    references: tuple[str, ...]
    arms: tuple[Arm, ...]
    panels: tuple[Panel, ...]
    probed: bool = True  # measured by its probe (`probe_of`)


def probe_of(name: str, config: Config) -> Measurement:
    """A pitfall's probe (`probes.PROBES`), made from the run's config in the worker that trains it: planning needs
    no TensorFlow."""
    from bn_mnist.studies.pitfalls.probes import PROBES

    return PROBES[name](config)


KERAS_BN = arm("bn", "BN (Keras)", "tab:blue")
MIXED = changed("model", precision="mixed_float16")
NN = changed("bn", impl="nn")
FLOAT16_STATISTICS = changed("bn", impl="nn", statistics_dtype="compute")
RAW = changed("data", pixel_max=255.0)


def classes(count: int) -> Callable[[Config], Config]:
    return changed("data", classes_per_batch=count)


def momentum(value: float) -> Callable[[Config], Config]:
    return changed("bn", momentum=value)


ACCURACY = "validation accuracy"
MODES = ("training_mode_accuracy", "val_accuracy", "recomputed_accuracy_100")  # the lag pitfall's accuracies
PITFALLS = (
    Pitfall(
        "frozen",
        "Frozen BN under a domain shift",
        "Since TensorFlow 2.0 a BN layer with trainable=False runs in inference mode, with the moving statistics of "
        "the data it was trained on (Keras 2 kept training mode). Fine-tuned on other data, the frozen base "
        "normalises with statistics that no longer describe its inputs.",
        "Recompute the frozen BN layers' statistics on the new data before fine-tuning (AdaBN), or let the BN layers "
        "keep training mode while the rest stays frozen.",
        ("keras-team/keras#9214", "keras-team/keras#9965", "keras-team/keras#13892", "Li et al. 2016 (AdaBN)"),
        (KERAS_BN,),
        (
            Panel(
                "low-contrast digits after fine-tuning",
                ("new_domain_accuracy", *(f"finetune_{regime}_accuracy" for regime in REGIMES)),
                ACCURACY,
            ),
            Panel(
                "moving vs received mean (SDs)",
                tuple(f"gap_{regime}" for regime in ("before", *REGIMES) if regime != "all"),
                "mean over BN layers",
            ),
        ),
    ),
    Pitfall(
        "lag",
        "Moving statistics that lag the weights",
        "Inference normalises with moving averages whose window is 1/(1 - momentum) steps: 100 at Keras' default "
        "0.99. On a run not much longer than that window, or while the weights still move fast, they describe "
        "earlier weights and inference accuracy falls below what fit() reports in training mode.",
        "A lower momentum on short runs, or population statistics recomputed after training: a pass over some "
        "training batches in training mode that changes no weight.",
        (
            "keras-team/keras#6977",
            "keras-team/keras#7265",
            "tensorflow/tensorflow#33031",
            "tensorflow/tensorflow#44568",
        ),
        (
            arm("m0.99_short", "momentum 0.99, short run", "tab:red", short),
            arm("m0.9_short", "momentum 0.9, short run", "tab:green", short, momentum(0.9)),
            arm("m0.999_short", "momentum 0.999, short run", "tab:purple", short, momentum(0.999)),
            arm("m0.99", "momentum 0.99", "tab:blue"),
            arm("m0.9", "momentum 0.9", "tab:olive", momentum(0.9)),
            arm("m0.999", "momentum 0.999", "tab:pink", momentum(0.999)),
            arm("m0.99_drop", "momentum 0.99, rate / 10 near the end", "tab:gray", dropped_rate),
        ),
        (
            Panel("short runs", MODES, ACCURACY, ("m0.9_short", "m0.99_short", "m0.999_short")),
            Panel("full runs", MODES, ACCURACY, ("m0.9", "m0.99", "m0.999", "m0.99_drop")),
            Panel(
                "recomputed over N batches (short, 0.99)",
                tuple(f"recomputed_accuracy_{count}" for count in RECOMPUTE_BATCHES),
                ACCURACY,
                ("m0.99_short",),
            ),
        ),
    ),
    Pitfall(
        "batch",
        "Training-mode inference",
        "Called with training=True, BN normalises each example with its batch's statistics: a prediction depends on "
        "what else is in the batch. Alone, an example is normalised by itself: every unit's input becomes beta, and "
        "every image gets the same class.",
        "Predict in inference mode (model(x, training=False), model.predict): the moving statistics, whatever the "
        "batch.",
        ("keras-team/keras#3078", "keras-team/keras#12400"),
        (KERAS_BN,),
        (
            Panel(
                "100 images one at a time",
                ("alone_inference_accuracy", "batch_of_one_accuracy"),
                "accuracy (inference / training mode)",
            ),
            Panel(
                "one example as its batch changes",
                ("batch_change", "prediction_flips", "inference_batch_change"),
                "relative change / fraction",
            ),
        ),
    ),
    Pitfall(
        "non_iid",
        "Batches of one or two classes",
        "When every batch holds one or two classes, BN's batch statistics describe those classes, not the data: "
        "training normalises each example against its batch-mates, inference against averages over every class, "
        "so the two modes compute different features. This is Ioffe (2017)'s case for Batch Renormalization.",
        "Shuffle so that batches are i.i.d.; if they cannot be, Batch Renormalization, or a normalization that uses "
        "one example alone (group norm).",
        ("Ioffe 2017 (Batch Renormalization)",),
        (
            arm("bn_iid", "BN, shuffled", "tab:blue"),
            arm("bn_k2", "BN, 2 classes a batch", "tab:red", classes(2)),
            arm("renorm_k2", "Batch Renorm, 2 classes", "tab:cyan", RENORM.configure, classes(2)),
            arm("group_k2", "Group Norm, 2 classes", "tab:green", GROUP_NORM.configure, classes(2)),
            arm("bn_k1", "BN, 1 class a batch", "tab:orange", classes(1)),
            arm("renorm_k1", "Batch Renorm, 1 class", "tab:purple", RENORM.configure, classes(1)),
            arm("group_k1", "Group Norm, 1 class", "tab:olive", GROUP_NORM.configure, classes(1)),
        ),
        (
            Panel("what fit() reports and what inference gives", ("train_accuracy", "val_accuracy"), "accuracy"),
            Panel(
                "validation images in batches like training's",
                ("class_batch_training_accuracy", "class_batch_inference_accuracy"),
                "accuracy (training / inference mode)",
            ),
        ),
    ),
    Pitfall(
        "dropout",
        "Dropout before BN",
        "Dropout scales what it keeps by 1/(1 - rate) in training and passes everything at inference, so a BN layer "
        "after it receives a larger variance in training than at inference. Its moving variance is then too large "
        "for inference: Li et al. (2019)'s variance shift.",
        "Dropout only after the last BN layer (before the output layer), or BN's statistics recomputed with dropout "
        "off after training.",
        ("Li et al., CVPR 2019",),
        (
            arm("none", "no dropout", "tab:blue"),
            arm("every", "dropout 0.5 before each BN", "tab:red", changed("model", dropout=0.5)),
            arm(
                "last",
                "dropout 0.5 after the last BN",
                "tab:green",
                changed("model", dropout=0.5, dropout_at="last_hidden"),
            ),
        ),
        (
            Panel("variance shift, BN layers 2-3", ("variance_shift_decades",), "log10 training / inference variance"),
            Panel(
                "statistics recomputed with dropout on and off",
                ("val_accuracy", "recomputed_accuracy_100", "recomputed_without_dropout_accuracy"),
                ACCURACY,
            ),
        ),
    ),
    Pitfall(
        "precision",
        "Mixed precision",
        "Under Keras' mixed_float16 policy layers compute in float16, whose largest number is 65,504. Keras' "
        "BatchNormalization casts its inputs to float32 for the statistics; a layer that sums a batch's squared "
        "deviations in float16 overflows as soon as they add up past 65,504, as with pixels left in 0..255.",
        "Statistics in float32 (Keras' layer does it; a hand-written layer must cast first), and inputs scaled.",
        ("tensorflow/tensorflow#30230",),
        (
            arm("float32", "float32", "tab:blue"),
            arm("keras", "mixed, Keras BN", "tab:green", MIXED),
            arm("nn_float32", "mixed, nn, float32 statistics", "tab:olive", MIXED, NN),
            arm("nn_float16", "mixed, nn, float16 statistics", "tab:orange", MIXED, FLOAT16_STATISTICS),
            arm(
                "nn_float16_eps1e-5",
                "mixed, nn, float16, eps 1e-5",
                "tab:brown",
                MIXED,
                FLOAT16_STATISTICS,
                changed("bn", epsilon=1e-5),
            ),
            arm("raw_float32", "0..255 pixels, float32", "tab:cyan", RAW),
            arm("raw_keras", "0..255, mixed, Keras BN", "tab:purple", RAW, MIXED),
            arm("raw_nn_float32", "0..255, mixed, nn, float32 stat.", "tab:gray", RAW, MIXED, NN),
            arm("raw_nn_float16", "0..255, mixed, nn, float16 stat.", "tab:red", RAW, MIXED, FLOAT16_STATISTICS),
        ),
        (
            Panel(
                "pixels in 0..1",
                ("val_accuracy",),
                ACCURACY,
                ("float32", "keras", "nn_float32", "nn_float16", "nn_float16_eps1e-5"),
            ),
            Panel(
                "pixels in 0..255",
                ("val_accuracy",),
                ACCURACY,
                ("raw_float32", "raw_keras", "raw_nn_float32", "raw_nn_float16"),
            ),
        ),
        probed=False,
    ),
)
BY_NAME = {pitfall.name: pitfall for pitfall in PITFALLS}


@dataclass(frozen=True, kw_only=True)
class Budget(BaseBudget):
    """How much `pitfalls` trains (its seeds: one kind of run here, fc)."""

    steps: int
    evaluations: int


FULL = Budget(seeds={"fc": 10}, steps=2_000, evaluations=10)  # 10 seeds: paired intervals with 9 degrees of freedom
QUICK = Budget(seeds={"fc": 2}, steps=400, evaluations=4, quick=True)  # a smoke run of every pitfall
BUDGETS = (FULL, QUICK)


def config_of(pitfall: Pitfall, arm: Arm, seed: int, budget: Budget) -> Config:
    every = max(1, budget.steps // budget.evaluations)
    run = {
        "name": f"pitfall-{pitfall.name}",
        "seed": seed,
        "train": {"steps": budget.steps, "eval_every": every, "log_every": every},
        "log": {"histograms": False},
    }
    return arm.configure(from_dict(Config, merged(BASE, run)))


def plan(chosen: tuple[str, ...], budget: Budget) -> Plan:
    """Every run of the chosen pitfalls, each once."""
    planned = Plan()
    for name in chosen:
        pitfall = BY_NAME[name]
        for arm_ in pitfall.arms:
            for seed in range(budget.seeds["fc"]):
                config = config_of(pitfall, arm_, seed, budget)
                probe = functools.partial(probe_of, name, config) if pitfall.probed else None
                planned.add(RunId(name, arm_.key, seed), name, config, probe)
    return planned
