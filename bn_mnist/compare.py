"""`compare.run(config, out_dir)`: the same network trained with and without BN, from the same start, over seeds.

For each seed both runs start from the same kernels (seeded per layer in `nets/models.py`) and draw the identical
sequence of batches (`engine.batch_order`): the difference between a pair is BN alone. The runs train in parallel
worker processes (`training/runner.py`), as `reproduce` trains its runs. One seed is one sample: the table says
so, and `--seeds N` gives the spread.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bn_mnist import outdir, stats
from bn_mnist.config import Config, with_bn
from bn_mnist.console import Log, stderr_log
from bn_mnist.data import Mnist, load_mnist
from bn_mnist.plots.convergence import curves_of, plot_convergence
from bn_mnist.tensorboard import images
from bn_mnist.training import runlog, runner
from bn_mnist.training.execution import Execution
from bn_mnist.training.runlog import ARMS, RunSummary

THRESHOLDS = (0.5, 0.9, 0.95)
PLOT_FILE = "convergence.png"
REPORT_FILE = "report.md"
QUANTITIES = (  # (row title, RunSummary field, format)
    ("final validation accuracy", "final_val_accuracy", ".4f"),
    ("final test accuracy", "final_test_accuracy", ".4f"),
    ("single-sample accuracy (100 test images)", "single_sample_accuracy", ".2f"),
    ("training accuracy (last logged batches)", "final_train_accuracy", ".4f"),
    ("diverged at step", "diverged_at_step", "d"),
    ("training steps/s (after compilation)", "steps_per_second", ",.0f"),
    ("training seconds", "train_seconds", ".1f"),
    ("compilation seconds", "compile_seconds", ".1f"),
)


@dataclass(frozen=True)
class CompareSummary:
    """A comparison's summary.json: the config's name, the seeds, each arm's run summary per seed, and per
    validation-accuracy threshold each arm's first logged step at or above it, per seed (None: never)."""

    config: str
    seeds: list[int]
    runs: dict[str, list[RunSummary]]  # arm -> one summary per seed, in `seeds` order
    steps_to_accuracy: dict[str, dict[str, list[int | None]]]  # str(threshold) -> arm -> per seed

    def write(self, out_dir: Path) -> None:
        runlog.write_json(out_dir / runlog.SUMMARY_FILE, dataclasses.asdict(self))

    @classmethod
    def read(cls, out_dir: Path) -> CompareSummary:
        raw = runlog.read_json(out_dir / runlog.SUMMARY_FILE)
        runs = {arm: [RunSummary.from_dict(run) for run in seeds] for arm, seeds in raw["runs"].items()}
        return cls(**{**raw, "runs": runs})


def run_key(arm: str, seed: int) -> str:
    return f"{arm}-seed{seed}"


def plan(config: Config, seeds: int) -> list[runner.RunSpec]:
    """Both arms for seeds config.seed .. config.seed + seeds - 1."""
    return [
        runner.RunSpec(run_key(arm, seed), with_bn(dataclasses.replace(config, seed=seed), arm == "bn"))
        for seed in range(config.seed, config.seed + seeds)
        for arm in ARMS
    ]


def fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def cell(values: list[Any], spec: str) -> str:
    """One value as it is; several as mean ± SD (min..max), or per seed when they are steps."""
    if len(values) == 1:
        return fmt(values[0], spec)
    if spec == "d":
        return " / ".join(fmt(v, spec) for v in values)
    found = stats.spread(values)
    if found is None:
        return "-"
    return f"{fmt(found.mean, spec)} ± {fmt(found.sd, spec)} ({fmt(found.min, spec)}..{fmt(found.max, spec)})"


def table_rows(summary: CompareSummary) -> list[tuple[str, str, str]]:
    """(quantity, with BN, without BN) rows shared by the console table and report.md."""
    rows = [
        (title, *(cell([getattr(run, field) for run in summary.runs[arm]], spec) for arm in ARMS))
        for title, field, spec in QUANTITIES
    ]
    reach = [
        (f"first step with val. accuracy >= {float(threshold):.0%}", *(cell(steps[arm], "d") for arm in ARMS))
        for threshold, steps in summary.steps_to_accuracy.items()
    ]
    return rows[:4] + reach + rows[4:]


def sample_note(summary: CompareSummary) -> str:
    if len(summary.seeds) == 1:
        return f"seed {summary.seeds[0]}: one sample; see --seeds for the spread over seeds"
    return (
        f"seeds {summary.seeds[0]}..{summary.seeds[-1]}: mean ± sample SD (min..max) over {len(summary.seeds)} "
        "seeds; steps per seed"
    )


def console_table(summary: CompareSummary) -> str:
    rows = table_rows(summary)
    header = ("", *ARMS.values())
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    lines = [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
        for row in [header, *rows]
    ]
    return "\n".join([*lines, f"({sample_note(summary)})"])


def execution_line(execution: Execution | None) -> str:
    if execution is None:
        return "execution settings: not recorded"
    return (
        f"{execution.intra_op_threads} intra-op / {execution.inter_op_threads} inter-op threads, XLA "
        f"{'on' if execution.xla else 'off'}, oneDNN {'on' if execution.onednn else 'off'}, {execution.device} "
        f"({execution.cpu}; {' '.join(execution.cpu_flags)}), TensorFlow {execution.tensorflow}, Keras "
        f"{execution.keras}, NumPy {execution.numpy}"
    )


def markdown_report(config: Config, summary: CompareSummary) -> str:
    lines = [
        f"# BN vs no BN: {config.name} ({config.model.arch} net, {config.train.steps} steps)",
        "",
        "Each pair of runs starts from the same initial weights and sees the same batches; only BN differs. "
        f"{sample_note(summary).capitalize()}.",
        "",
        f"| | {' | '.join(ARMS.values())} |",
        "|---|---:|---:|",
        *(f"| {a} | {b} | {c} |" for a, b, c in table_rows(summary)),
        "",
        f"![convergence]({PLOT_FILE})",
        "",
        f"Runs: {', '.join(f'`{run_key(arm, s)}/`' for s in summary.seeds for arm in ARMS)} "
        "(`tensorboard --logdir .` shows them all); the resolved config is in each `config.yaml`.",
        "",
        f"Executed with: {execution_line(summary.runs['bn'][0].execution)}.",
    ]
    return "\n".join(lines) + "\n"


def run(
    config: Config,
    out_dir: Path,
    mnist: Mnist | None = None,
    log: Log = stderr_log,
    seeds: int = 1,
    backend: runner.Backend | None = None,
) -> CompareSummary:
    """Train the BN and the non-BN network for `seeds` seeds from config.seed on, in parallel on `backend`
    (default: local worker processes); write every run, convergence.png, summary.json and report.md."""
    outdir.refuse_used_out_dir(Path(out_dir))
    mnist = mnist or load_mnist(config.data.dir, log)  # bad input fails here, before anything is written
    with outdir.claimed(Path(out_dir)) as out_dir:
        summaries = runner.run_all(plan(config, seeds), out_dir, mnist, log, backend)
        return summarise(config, out_dir, seeds, summaries)


def summarise(config: Config, out_dir: Path, seeds: int, summaries: dict[str, RunSummary]) -> CompareSummary:
    """Tabulate and plot the finished runs; write convergence.png, summary.json and report.md."""
    seed_list = list(range(config.seed, config.seed + seeds))
    records = {arm: [runlog.read_metrics(out_dir / run_key(arm, s)) for s in seed_list] for arm in ARMS}
    summary = CompareSummary(
        config.name,
        seed_list,
        {arm: [summaries[run_key(arm, s)] for s in seed_list] for arm in ARMS},
        {str(t): {arm: [runlog.first_step_reaching(r, t) for r in records[arm]] for arm in ARMS} for t in THRESHOLDS},
    )
    seeds_text = f"seed {seed_list[0]}, one sample" if seeds == 1 else f"seeds {seed_list[0]}..{seed_list[-1]}"
    title = (
        f"{config.name}: {config.model.arch} net, {config.model.activation}, lr {config.train.learning_rate} "
        f"({seeds_text})"
    )
    plot_convergence(
        {ARMS[arm]: [curves_of(r, runlog.VAL_ACCURACY) for r in records[arm]] for arm in ARMS},
        {ARMS[arm]: [curves_of(r, runlog.TRAIN_LOSS) for r in records[arm]] for arm in ARMS},
        out_dir / PLOT_FILE,
        title,
    )
    images.write_plots(out_dir, {"convergence": out_dir / PLOT_FILE})
    summary.write(out_dir)
    (out_dir / REPORT_FILE).write_text(markdown_report(config, summary), encoding="utf-8")
    return summary
