"""From finished runs to the reproduction's numbers: one flat record per seed and scope (what `claims.py` judges,
through `judging.py`), their statistics, and every run's curves."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from bn_mnist.core import runfiles
from bn_mnist.core.config import TrainConfig
from bn_mnist.core.data import Mnist
from bn_mnist.core.plots.seed_curves import Curve
from bn_mnist.core.tensorboard import tags
from bn_mnist.lab import stats
from bn_mnist.lab.arms import BN, ROUNDOFF
from bn_mnist.lab.plan import Plan
from bn_mnist.lab.runs import RunFiles
from bn_mnist.lab.study import Finished
from bn_mnist.studies.reproduce import experiments, fields, rules
from bn_mnist.studies.reproduce.experiments import (
    CONV,
    CONV_STEPS,
    LESSON_ARMS,
    PITFALL_IMAGES,
    PITFALL_ROW,
    Budget,
    lesson_scope,
    lesson_settings,
    row_seeds,
)
from bn_mnist.studies.reproduce.fields import SeedRecord


def run_record(run: RunFiles) -> SeedRecord:
    """What the rules and tables need from one finished run."""
    summary, metrics = run
    logged = runfiles.series(metrics, runfiles.VAL_ACCURACY)
    steps, accuracies = map(list, zip(*[(s, v) for s, v in zip(*logged) if math.isfinite(v)]))  # step 0 always is
    return {
        fields.VAL: summary.final_val_accuracy,
        fields.TEST: summary.final_test_accuracy,
        fields.SINGLE: summary.single_sample_accuracy,
        fields.DIVERGED: summary.diverged_at_step,
        fields.VAL_LAST: statistics.fmean(accuracies[-fields.LAST_K :]),
        fields.MAX_VAL: max(accuracies),
        fields.NEAR_MAX_STEP: rules.near_max_step(steps, accuracies),
        fields.BOUNCES: rules.drops(accuracies, rules.BOUNCE),
        fields.WILD_BOUNCES: rules.drops(accuracies, rules.WILD_BOUNCE),
        fields.STUCK: rules.stuck_steps(steps, accuracies),
        **{name: runfiles.first_step_reaching(metrics, threshold) for threshold, name in fields.REACH.items()},
    }


def curve(run: RunFiles, name: str = runfiles.VAL_ACCURACY) -> Curve:
    steps, values = runfiles.series(run.metrics, name)
    return Curve(steps, [runfiles.finite_or_none(v) for v in values])


def conv_records(plan: Plan, runs: dict[str, RunFiles], budget: Budget) -> list[SeedRecord]:
    seed_records = []
    for seed in range(budget.seeds["conv"]):
        parts = {}
        for row in CONV:
            run = runs[plan.key("conv", row.arm.key, seed)]
            validation = curve(run)
            at = dict(zip(validation.step, validation.value))
            parts[row.arm.key] = {**run_record(run), **{fields.val_at(step): at.get(step) for step in CONV_STEPS}}
        if plan.has("conv", ROUNDOFF.key, seed):  # the same seed with 2 threads
            parts[ROUNDOFF.key] = run_record(runs[plan.key("conv", ROUNDOFF.key, seed)])
        seed_records.append(fields.flat(parts, seed))
    return seed_records


def lesson_records(plan: Plan, runs: dict[str, RunFiles], budget: Budget) -> dict[str, list[SeedRecord]]:
    """One scope per Lesson setting; rows that repeat a setting read the same records."""
    return {
        lesson_scope(setting): [
            fields.flat(
                {arm.key: run_record(runs[plan.key("lesson", arm.key, seed, setting)]) for arm in LESSON_ARMS}, seed
            )
            for seed in row_seeds(row, budget)
        ]
        for setting, row in lesson_settings().items()
    }


def pitfall_record(model_path: Path, mnist: Mnist, training: bool) -> dict[str, Any]:
    """A trained BN net on single test examples and on the full test set, with batch statistics (`training`) or
    the moving averages."""
    from bn_mnist.core.tf_startup import start_tensorflow

    start_tensorflow(TrainConfig.threads)  # this process's first TensorFlow (quietly), at the runs' thread count
    import keras

    model = keras.models.load_model(model_path)
    images, labels = mnist.test_x[:PITFALL_IMAGES], mnist.test_y[:PITFALL_IMAGES]
    single = np.array([int(np.argmax(model(image[None], training=training))) for image in images])
    full = float(np.mean(np.argmax(model(mnist.test_x, training=training), axis=1) == mnist.test_y))
    if not training:
        return {fields.FULL_POPULATION: full, fields.SINGLE_POPULATION: float(np.mean(single == labels))}
    classes = Counter(single.tolist())
    return {
        fields.FULL_BATCH_STATS: full,
        fields.SINGLE_BATCH_STATS: float(np.mean(single == labels)),
        fields.SINGLE_BATCH_STATS_CLASSES: len(classes),
        fields.SINGLE_BATCH_STATS_CLASS: classes.most_common(1)[0][0],
    }


def pitfall_records(
    plan: Plan, runs: dict[str, RunFiles], out_dir: Path, budget: Budget, mnist: Mnist
) -> list[SeedRecord]:
    """Per seed, the Lesson's two trainings: one tested with batch statistics, one with the moving averages."""
    seed_records = []
    for seed in row_seeds(PITFALL_ROW, budget):
        batch_run = plan.key("pitfall", BN.key, experiments.pitfall_seed(seed))
        population_run = plan.key("pitfall", BN.key, seed)
        seed_records.append(
            {
                "seed": seed,
                fields.key(fields.BATCH_RUN, fields.VAL): runs[batch_run].summary.final_val_accuracy,
                fields.key(fields.POPULATION_RUN, fields.VAL): runs[population_run].summary.final_val_accuracy,
                **pitfall_record(out_dir / batch_run / runfiles.MODEL_FILE, mnist, training=True),
                **pitfall_record(out_dir / population_run / runfiles.MODEL_FILE, mnist, training=False),
            }
        )
    return seed_records


def paper_records(plan: Plan, runs: dict[str, RunFiles], budget: Budget) -> list[SeedRecord]:
    seed_records = []
    for seed in range(budget.seeds["long"]):
        parts = {}
        for arm in LESSON_ARMS:
            run = runs[plan.key("paper", arm.key, seed)]
            drifts = runfiles.series(run.metrics, tags.DRIFT)[1]
            parts[arm.key] = {
                fields.TEST: run.summary.final_test_accuracy,
                fields.DRIFT: runfiles.finite_or_none(drifts[-1]) if drifts else None,
                fields.REACH90_TEST: runfiles.first_step_reaching(run.metrics, 0.9, runfiles.TEST_ACCURACY),
            }
        seed_records.append(fields.flat(parts, seed))
    return seed_records


def scope_statistics(seed_records: list[SeedRecord]) -> dict[str, stats.Spread | None]:
    """Mean, sample SD, min..max and n of every numeric field over the seeds (None where no seed has a number)."""
    keys = {key: None for record in seed_records for key in record if key != "seed"}  # some only in the first seeds
    return {key: stats.spread(record.get(key) for record in seed_records) for key in keys}


def curves(plan: Plan, runs: dict[str, RunFiles]) -> dict[str, dict[str, Curve]]:
    """Validation curves of every run (and, for the paper's runs, test accuracy and percentiles)."""
    probed = [runfiles.TEST_ACCURACY, tags.DRIFT, *map(tags.percentile_tag, experiments.PERCENTILES)]
    return {
        spec.key: {"val": curve(runs[spec.key]), **{name: curve(runs[spec.key], name) for name in probed if spec.probe}}
        for spec in plan.specs()
    }


def collect(
    chosen: tuple[str, ...], plan: Plan, budget: Budget, runs: dict[str, RunFiles], out_dir: Path, mnist: Mnist
) -> dict[str, list[SeedRecord]]:
    """Per-scope records of every chosen experiment (all their runs are finished)."""
    scopes: dict[str, list[SeedRecord]] = {}
    if "conv" in chosen:
        scopes["conv"] = conv_records(plan, runs, budget)
    if "lesson" in chosen:
        scopes.update(lesson_records(plan, runs, budget))
    if "pitfall" in chosen:
        scopes["pitfall"] = pitfall_records(plan, runs, out_dir, budget, mnist)
    if "paper" in chosen:
        scopes["paper"] = paper_records(plan, runs, budget)
    return scopes


class Analysis(NamedTuple):
    """The reproduction's numbers: per scope one flat record per seed, their statistics, and every run's curves."""

    records: dict[str, list[SeedRecord]]  # scope -> one record per seed
    statistics: dict[str, dict[str, stats.Spread | None]]  # scope -> record key -> over seeds
    curves: dict[str, dict[str, Curve]]  # run key -> metric -> its curve


def analyse(done: Finished[Budget]) -> Analysis:
    """The chosen experiments' records, statistics and curves, from their finished runs."""
    scopes = collect(done.chosen, done.plan, done.budget, done.runs, done.out_dir, done.mnist)
    spreads = {scope: scope_statistics(seed_records) for scope, seed_records in scopes.items()}
    return Analysis(scopes, spreads, curves(done.plan, done.runs))
