"""`compare.run(config, out_dir)`: the same network trained with and without BN, from the same start.

Both runs use one seed, so every kernel they share starts equal (seeded per layer in `models.py`) and both
draw the identical sequence of batches (`loop.batch_order`): the difference between the curves is BN alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bn_mnist.config import Config, with_bn
from bn_mnist.console import Log, stderr_log
from bn_mnist.data import Mnist, load_mnist
from bn_mnist.plots.convergence import plot_convergence
from bn_mnist.training import runlog, trainer

RUNS = {"bn": True, "no_bn": False}  # sub-directory -> bn.enabled
LABELS = {"bn": "With Batch Norm", "no_bn": "Without Batch Norm"}
THRESHOLDS = (0.5, 0.9, 0.95)
PLOT_FILE = "convergence.png"
REPORT_FILE = "report.md"


def steps_to_accuracy(records: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, int | None]]:
    """For each threshold, the first logged step at which each run's validation accuracy reached it."""
    return {
        str(threshold): {key: runlog.first_step_reaching(runs, threshold) for key, runs in records.items()}
        for threshold in THRESHOLDS
    }


def table_rows(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(quantity, with BN, without BN) rows shared by the console table and report.md."""

    def fmt(value: Any, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    def run_row(title: str, field: str, spec: str) -> tuple[str, str, str]:
        return (title, *(fmt(summary["runs"][key].get(field), spec) for key in RUNS))

    return [
        run_row("final validation accuracy", "final_val_accuracy", ".4f"),
        run_row("final test accuracy", "final_test_accuracy", ".4f"),
        run_row("single-sample accuracy (100 test images)", "single_sample_accuracy", ".2f"),
        run_row("training accuracy (last logged batches)", "final_train_accuracy", ".4f"),
        *(
            (f"first step with val. accuracy >= {float(threshold):.0%}", *(fmt(steps[key], "d") for key in RUNS))
            for threshold, steps in summary["steps_to_accuracy"].items()
        ),
        run_row("diverged at step", "diverged_at_step", "d"),
        run_row("training steps/s", "steps_per_second", ",.0f"),
        run_row("training seconds", "train_seconds", ".1f"),
    ]


def console_table(rows: list[tuple[str, str, str]]) -> str:
    header = ("", LABELS["bn"], LABELS["no_bn"])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    return "\n".join(
        "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        for row in [header, *rows]
    )


def markdown_report(config: Config, summary: dict[str, Any]) -> str:
    lines = [
        f"# BN vs no BN: {config.name} ({config.model.arch} net, {config.train.steps} steps, seed {config.seed})",
        "",
        "Both runs start from the same initial weights and see the same batches; only BN differs.",
        "",
        f"| | {LABELS['bn']} | {LABELS['no_bn']} |",
        "|---|---:|---:|",
        *(f"| {a} | {b} | {c} |" for a, b, c in table_rows(summary)),
        "",
        f"![convergence]({PLOT_FILE})",
        "",
        "Runs: `bn/` and `no_bn/` (`tensorboard --logdir .` shows both); the resolved config is in each `config.yaml`.",
    ]
    return "\n".join(lines) + "\n"


def run(config: Config, out_dir: Path, mnist: Mnist | None = None, log: Log = stderr_log) -> dict[str, Any]:
    """Train the BN and the non-BN network; write both runs, convergence.png, summary.json and report.md."""
    runlog.refuse_used_out_dir(Path(out_dir))
    mnist = mnist or load_mnist(config.data.dir, log)  # bad input fails here, before anything is written
    out_dir = runlog.claim_out_dir(Path(out_dir))
    summaries = {key: trainer.run(with_bn(config, enabled), out_dir / key, mnist, log) for key, enabled in RUNS.items()}
    records = {key: runlog.read_metrics(out_dir / key) for key in RUNS}
    summary = {"config": config.name, "runs": summaries, "steps_to_accuracy": steps_to_accuracy(records)}
    title = f"{config.name}: {config.model.arch} net, {config.model.activation}, lr {config.train.learning_rate}"
    plot_convergence({LABELS[key]: records[key] for key in RUNS}, out_dir / PLOT_FILE, title)
    runlog.write_json(out_dir / runlog.SUMMARY_FILE, summary)
    (out_dir / REPORT_FILE).write_text(markdown_report(config, summary), encoding="utf-8")
    return summary
