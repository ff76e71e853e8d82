"""`reproduce.run(...)`: rerun the tutorial's published experiments over seeds and judge every published claim.

Runs are planned in `experiments.py` and trained (or reused) by `runner.py`. This module turns finished runs
into one flat record per seed and scope (what `claims.py` judges), statistics, curves for the figures, and
results.json; `figures.py` and `report.py` make the figures and report.md from results.json alone.
"""

from __future__ import annotations

import dataclasses
import platform
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

import keras
import numpy as np

from bn_mnist import outdir, stats
from bn_mnist.console import Log, stderr_log
from bn_mnist.data import Mnist, load_mnist
from bn_mnist.reproduction import EXPERIMENTS, claims, figures, probes, records, report
from bn_mnist.reproduction.experiments import (
    CONV,
    CONV_STEPS,
    NETWORKS,
    PITFALL_IMAGES,
    PITFALL_ROW,
    QUICK_LESSON_STEPS,
    ROUNDOFF,
    RunSpec,
    lesson_settings,
    plan,
    row_seeds,
    run_key,
    seed_counts,
)
from bn_mnist.reproduction.records import Record
from bn_mnist.tensorboard import images
from bn_mnist.training import runlog, runner

RESULTS_FILE = "results.json"
REPORT_FILE = "report.md"


class RunFiles(NamedTuple):
    """One finished run's summary.json and metrics.jsonl, read once for every record, curve and figure."""

    summary: runlog.RunSummary
    metrics: list[dict[str, Any]]


def read_runs(out_dir: Path, specs: list[RunSpec]) -> dict[str, RunFiles]:
    return {
        spec.key: RunFiles(runlog.RunSummary.read(out_dir / spec.key), runlog.read_metrics(out_dir / spec.key))
        for spec in specs
    }


def run_record(run: RunFiles) -> Record:
    """What the rules and tables need from one finished run."""
    summary, metrics = run
    accuracies = runlog.series(metrics, runlog.VAL_ACCURACY)[1]
    return {
        records.VAL: summary.final_val_accuracy,
        records.TEST: summary.final_test_accuracy,
        records.SINGLE: summary.single_sample_accuracy,
        records.DIVERGED: summary.diverged_at_step,
        records.VAL_LAST: statistics.fmean(accuracies[-records.LAST_K :]),
        records.MAX_VAL: max(accuracies),
        **{name: runlog.first_step_reaching(metrics, threshold) for threshold, name in records.REACH.items()},
    }


def curve(run: RunFiles, name: str = runlog.VAL_ACCURACY) -> dict[str, list]:
    steps, values = runlog.series(run.metrics, name)
    return {"step": steps, "value": [runlog.finite_or_none(v) for v in values]}


def conv_records(runs: dict[str, RunFiles], seeds: range) -> list[Record]:
    seed_records = []
    for seed in seeds:
        parts = {}
        for row in CONV:
            run = runs[run_key("conv", row.key, seed)]
            at = dict(zip(*curve(run).values()))
            parts[row.key] = {**run_record(run), **{records.val_at(step): at.get(step) for step in CONV_STEPS}}
        if run_key("conv", ROUNDOFF, seed) in runs:  # the same seed with 2 threads
            parts[ROUNDOFF] = run_record(runs[run_key("conv", ROUNDOFF, seed)])
        seed_records.append(records.flat(parts, seed))
    return seed_records


def lesson_records(runs: dict[str, RunFiles], counts: dict[str, int]) -> dict[str, list[Record]]:
    """One scope per Lesson setting ("lesson/<setting>"); rows that repeat a setting read the same records."""
    return {
        f"lesson/{setting}": [
            records.flat({net: run_record(runs[run_key(f"lesson/{setting}", net, seed)]) for net in NETWORKS}, seed)
            for seed in row_seeds(row, counts)
        ]
        for setting, row in lesson_settings().items()
    }


def single_example_predictions(model: keras.Model, images: np.ndarray, training: bool) -> np.ndarray:
    return np.array([int(np.argmax(model(image[None], training=training))) for image in images])


def pitfall_record(model_path: Path, mnist: Mnist) -> dict[str, Any]:
    """A trained BN net on single test examples and on the full test set, with batch vs population statistics."""
    model = keras.models.load_model(model_path)
    images, labels = mnist.test_x[:PITFALL_IMAGES], mnist.test_y[:PITFALL_IMAGES]

    def accuracy(predicted: np.ndarray, truth: np.ndarray) -> float:
        return float(np.mean(predicted == truth))

    def full_batch(training: bool) -> float:
        return accuracy(np.argmax(model(mnist.test_x, training=training), axis=1), mnist.test_y)

    # Population statistics first: in Keras 3, training=True also moves the moving averages.
    record = {
        records.SINGLE_POPULATION: accuracy(single_example_predictions(model, images, False), labels),
        records.FULL_POPULATION: full_batch(False),
    }
    batch_stats = single_example_predictions(model, images, True)
    class_counts = Counter(batch_stats.tolist())
    return {
        **record,
        records.SINGLE_BATCH_STATS: accuracy(batch_stats, labels),
        records.SINGLE_BATCH_STATS_CLASSES: len(class_counts),
        records.SINGLE_BATCH_STATS_CLASS: class_counts.most_common(1)[0][0],
        records.FULL_BATCH_STATS: full_batch(True),
    }


def pitfall_records(out_dir: Path, seeds: range, mnist: Mnist) -> list[dict[str, Any]]:
    return [
        {
            "seed": seed,
            **pitfall_record(out_dir / run_key(f"lesson/{PITFALL_ROW.setting}", "bn", seed) / runlog.MODEL_FILE, mnist),
        }
        for seed in seeds
    ]


def paper_records(runs: dict[str, RunFiles], seeds: range) -> list[Record]:
    seed_records = []
    for seed in seeds:
        parts = {}
        for net in NETWORKS:
            run = runs[run_key("paper", net, seed)]
            drifts = runlog.series(run.metrics, probes.DRIFT)[1]
            parts[net] = {
                records.TEST: run.summary.final_test_accuracy,
                records.DRIFT: runlog.finite_or_none(drifts[-1]) if drifts else None,
                records.REACH90_TEST: runlog.first_step_reaching(run.metrics, 0.9, runlog.TEST_ACCURACY),
            }
        seed_records.append(records.flat(parts, seed))
    return seed_records


def scope_statistics(seed_records: list[Record]) -> dict[str, Any]:
    """Mean, sample SD, min..max and n of every numeric field over the seeds (None where no seed has a number)."""
    keys = {key: None for record in seed_records for key in record if key != "seed"}  # some only in the first seeds
    spreads = {key: stats.spread(record.get(key) for record in seed_records) for key in keys}
    return {key: None if spread is None else dataclasses.asdict(spread) for key, spread in spreads.items()}


def curves(specs: list[RunSpec], runs: dict[str, RunFiles]) -> dict[str, dict[str, list]]:
    """Validation curves of every run (and, for the paper's runs, test accuracy and percentiles)."""
    probed = [runlog.TEST_ACCURACY, probes.DRIFT, *map(probes.percentile_tag, probes.PERCENTILES)]
    result = {}
    for spec in specs:
        run = runs[spec.key]
        result[spec.key] = {"val": curve(run), **{name: curve(run, name) for name in probed if spec.probe}}
    return result


def collect(
    experiments: tuple[str, ...], counts: dict[str, int], runs: dict[str, RunFiles], out_dir: Path, mnist: Mnist
) -> dict[str, list[Record]]:
    """Per-scope records of every selected experiment (all their runs are finished)."""
    scopes: dict[str, list[Record]] = {}
    if "conv" in experiments:
        scopes["conv"] = conv_records(runs, range(counts["conv"]))
    if "lesson" in experiments:
        scopes.update(lesson_records(runs, counts))
    if "pitfall" in experiments:
        scopes["pitfall"] = pitfall_records(out_dir, row_seeds(PITFALL_ROW, counts), mnist)
    if "paper" in experiments:
        scopes["paper"] = paper_records(runs, range(counts["long"]))
    return scopes


def software() -> dict[str, str]:
    from importlib.metadata import version

    import click
    import matplotlib
    import tensorflow as tf

    return {
        "bn-mnist": version("bn-mnist"),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "matplotlib": matplotlib.__version__,
        "click": click.__version__,
        "platform": platform.platform(),
    }


def execution_of(runs: dict[str, RunFiles]) -> dict[str, Any] | None:
    """The execution settings of the runs (the runner gives every run the same), as recorded by the first."""
    execution = next(iter(runs.values())).summary.execution if runs else None
    return dataclasses.asdict(execution) if execution else None


def reported_experiments(asked: tuple[str, ...], counts: dict[str, int], out_dir: Path, quick: bool) -> tuple[str, ...]:
    """The experiments asked for, and every other one already complete in out_dir: `reproduce conv` after
    `reproduce lesson` reports both."""
    return tuple(e for e in EXPERIMENTS if e in asked or runner.all_finished(plan((e,), counts, quick), out_dir))


def command_line(command: str, selected: str, seeds: int | None, out_dir: Path, quick: bool) -> str:
    """The command that (re)creates these results: `bn-mnist <command> <selected> [--seeds N] --out DIR [--quick]`."""
    options = (f" --seeds {seeds}" if seeds else "") + f" --out {out_dir}" + (" --quick" if quick else "")
    return f"bn-mnist {command}{' ' + selected if selected else ''}{options}"


def run(
    experiments: tuple[str, ...],
    seeds: int | None,
    out_dir: Path,
    quick: bool = False,
    backend: runner.Backend | None = None,
    data_dir: Path | None = None,
    log: Log = stderr_log,
    specs: list[RunSpec] | None = None,
    mnist: Mnist | None = None,
) -> dict[str, Any]:
    """Train (or reuse) every run the experiments need, judge the published claims, and write results.json,
    report.md and the figures into out_dir. `specs` replaces the planned runs (same keys, other configs: a test's
    short runs); `mnist` replaces the data of data_dir or the cache.

    Raises:
        Interrupted: on Ctrl-C; finished runs stay and a rerun of the same command resumes.
    """
    started = time.perf_counter()
    outdir.refuse_in_use(out_dir)  # before the inputs load; `locked` below makes sure
    mnist = mnist or load_mnist(data_dir, log)  # verified once; the workers get it from here
    planned = specs or plan(experiments, seed_counts(seeds, quick), quick)
    with outdir.locked(out_dir):
        runner.run_all(planned, out_dir, mnist, log, backend)
        return write_results(experiments, seeds, out_dir, quick, specs, mnist, started)


def write_results(
    experiments: tuple[str, ...],
    seeds: int | None,
    out_dir: Path,
    quick: bool,
    specs: list[RunSpec] | None,
    mnist: Mnist,
    started: float,
) -> dict[str, Any]:
    """Judge the claims on the finished runs; write results.json, report.md and the figures (see `run`)."""
    counts = seed_counts(seeds, quick)
    reported = experiments if specs else reported_experiments(experiments, counts, out_dir, quick)
    reported_runs = specs or plan(reported, counts, quick)
    runs = read_runs(out_dir, reported_runs)
    scopes = collect(reported, counts, runs, out_dir, mnist)
    judged = claims.judge(scopes)
    results = {
        "meta": {
            "experiments": list(reported),
            "seeds": counts,
            "quick": quick,
            "quick_lesson_steps": QUICK_LESSON_STEPS if quick else None,
            "runs": len(reported_runs),
            "train_seconds": sum(run.summary.train_seconds for run in runs.values()),
            "command": command_line(
                "reproduce", "all" if experiments == EXPERIMENTS else " ".join(experiments), seeds, out_dir, quick
            ),
            "software": software(),
            "execution": execution_of(runs),
            "wall_seconds": None,
        },
        "records": scopes,
        "statistics": {scope: scope_statistics(seed_records) for scope, seed_records in scopes.items()},
        **judged,
        "counts": claims.count_verdicts(judged),
        "curves": curves(reported_runs, runs),
    }
    results["figures"] = figures.figures(results, out_dir)
    images.write_plots(out_dir, {name: out_dir / file for name, file in results["figures"].items()})
    results["meta"]["wall_seconds"] = time.perf_counter() - started
    runlog.write_json(out_dir / RESULTS_FILE, results)
    (out_dir / REPORT_FILE).write_text(report.markdown(results), encoding="utf-8")
    return results
