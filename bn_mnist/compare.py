"""`compare.run(config, out_dir)`: the same network trained with and without BN, from the same start.

Both runs use one seed, so every kernel they share starts equal (seeded per layer in `nets/models.py`) and both
draw the identical sequence of batches (`engine.batch_order`): the difference between the curves is BN alone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bn_mnist.config import Config, with_bn
from bn_mnist.console import Log, stderr_log
from bn_mnist.data import Mnist, load_mnist
from bn_mnist.plots.convergence import plot_convergence
from bn_mnist.training import runlog, trainer
from bn_mnist.training.runlog import ARMS, RunSummary

THRESHOLDS = (0.5, 0.9, 0.95)
PLOT_FILE = "convergence.png"
REPORT_FILE = "report.md"


@dataclass(frozen=True)
class CompareSummary:
    """A comparison's summary.json: the config's name, each arm's run summary, and per validation-accuracy
    threshold the first logged step of each arm at or above it (None: never)."""

    config: str
    runs: dict[str, RunSummary]  # keyed by ARMS
    steps_to_accuracy: dict[str, dict[str, int | None]]  # str(threshold) -> arm -> step

    def write(self, out_dir: Path) -> None:
        runlog.write_json(out_dir / runlog.SUMMARY_FILE, dataclasses.asdict(self))

    @classmethod
    def read(cls, out_dir: Path) -> CompareSummary:
        raw = runlog.read_json(out_dir / runlog.SUMMARY_FILE)
        return cls(**{**raw, "runs": {arm: RunSummary(**run) for arm, run in raw["runs"].items()}})


def steps_to_accuracy(records: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, int | None]]:
    """For each threshold, the first logged step at which each run's validation accuracy reached it."""
    return {
        str(threshold): {key: runlog.first_step_reaching(runs, threshold) for key, runs in records.items()}
        for threshold in THRESHOLDS
    }


def table_rows(summary: CompareSummary) -> list[tuple[str, str, str]]:
    """(quantity, with BN, without BN) rows shared by the console table and report.md."""

    def fmt(value: Any, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    def run_row(title: str, field: str, spec: str) -> tuple[str, str, str]:
        return (title, *(fmt(getattr(summary.runs[arm], field), spec) for arm in ARMS))

    return [
        run_row("final validation accuracy", "final_val_accuracy", ".4f"),
        run_row("final test accuracy", "final_test_accuracy", ".4f"),
        run_row("single-sample accuracy (100 test images)", "single_sample_accuracy", ".2f"),
        run_row("training accuracy (last logged batches)", "final_train_accuracy", ".4f"),
        *(
            (f"first step with val. accuracy >= {float(threshold):.0%}", *(fmt(steps[arm], "d") for arm in ARMS))
            for threshold, steps in summary.steps_to_accuracy.items()
        ),
        run_row("diverged at step", "diverged_at_step", "d"),
        run_row("training steps/s (after compilation)", "steps_per_second", ",.0f"),
        run_row("training seconds", "train_seconds", ".1f"),
        run_row("compilation seconds", "compile_seconds", ".1f"),
    ]


def console_table(rows: list[tuple[str, str, str]]) -> str:
    header = ("", *ARMS.values())
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    return "\n".join(
        "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        for row in [header, *rows]
    )


def markdown_report(config: Config, summary: CompareSummary) -> str:
    lines = [
        f"# BN vs no BN: {config.name} ({config.model.arch} net, {config.train.steps} steps, seed {config.seed})",
        "",
        "Both runs start from the same initial weights and see the same batches; only BN differs.",
        "",
        f"| | {' | '.join(ARMS.values())} |",
        "|---|---:|---:|",
        *(f"| {a} | {b} | {c} |" for a, b, c in table_rows(summary)),
        "",
        f"![convergence]({PLOT_FILE})",
        "",
        "Runs: `bn/` and `no_bn/` (`tensorboard --logdir .` shows both); the resolved config is in each `config.yaml`.",
    ]
    return "\n".join(lines) + "\n"


def run(config: Config, out_dir: Path, mnist: Mnist | None = None, log: Log = stderr_log) -> CompareSummary:
    """Train the BN and the non-BN network; write both runs, convergence.png, summary.json and report.md."""
    runlog.refuse_used_out_dir(Path(out_dir))
    mnist = mnist or load_mnist(config.data.dir, log)  # bad input fails here, before anything is written
    out_dir = runlog.claim_out_dir(Path(out_dir))
    runs = {arm: trainer.run(with_bn(config, arm == "bn"), out_dir / arm, mnist, log) for arm in ARMS}
    records = {arm: runlog.read_metrics(out_dir / arm) for arm in ARMS}
    summary = CompareSummary(config.name, runs, steps_to_accuracy(records))
    title = f"{config.name}: {config.model.arch} net, {config.model.activation}, lr {config.train.learning_rate}"
    plot_convergence({ARMS[arm]: records[arm] for arm in ARMS}, out_dir / PLOT_FILE, title)
    summary.write(out_dir)
    (out_dir / REPORT_FILE).write_text(markdown_report(config, summary), encoding="utf-8")
    return summary
