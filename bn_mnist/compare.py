"""`compare.run(config, out_dir)`: the same network trained with and without BN, from the same start, over seeds
(or, with `sync_arms`, BN on one device against synchronized and per-replica BN on N replicas).

For each seed every arm starts from the same kernels (seeded per layer in `nets/models.py`) and draws the identical
sequence of batches (`engine.batch_order`): the difference between the arms is the one setting they change. The runs
train in parallel worker processes (`training/runner.py`), as `reproduce` trains its runs. One seed is one sample:
the table says so, and `--seeds N` gives the spread.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bn_mnist import outdir, stats
from bn_mnist.config import Config, with_bn, with_bn_on_replicas
from bn_mnist.console import Log, stderr_log
from bn_mnist.data import Mnist, load_mnist
from bn_mnist.errors import ConfigError
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
class Arm:
    """One column of a comparison: its label, and the config it trains, made from the command's config."""

    label: str
    configure: Callable[[Config], Config]


BN_ARMS = {  # the default comparison: the config with and without BN (sub-directory -> arm)
    arm: Arm(label, lambda config, enabled=(arm == "bn"): with_bn(config, enabled)) for arm, label in ARMS.items()
}


def sync_arms(replicas: int, batch_size: int) -> dict[str, Arm]:
    """BN over the global batch on one device, against N replicas with synchronized and with per-replica BN: the
    same batches and updates, only whose statistics BN normalises with differs."""

    def bn_on(count: int, sync: bool) -> Callable[[Config], Config]:
        return lambda config: with_bn_on_replicas(config, count, sync)

    share = batch_size // replicas
    return {
        "one_device": Arm(f"BN, one device (batch {batch_size})", bn_on(1, True)),
        "sync": Arm(f"synchronized BN, {replicas} x {share}", bn_on(replicas, True)),
        "per_replica": Arm(f"per-replica BN, {replicas} x {share}", bn_on(replicas, False)),
    }


def arms_for(kind: str, config: Config) -> dict[str, Arm]:
    """`--arms`: bn (with and without BN) or sync (one device against the config's distribute.replicas)."""
    if kind == "bn":
        return BN_ARMS
    if config.distribute.replicas == 1:
        raise ConfigError("--arms sync compares N replicas with one device: give --replicas N (N > 1)")
    return sync_arms(config.distribute.replicas, config.train.batch_size)


@dataclass(frozen=True)
class CompareSummary:
    """A comparison's summary.json: the config's name, the seeds, each arm's run summary per seed, and per
    validation-accuracy threshold each arm's first logged step at or above it, per seed (None: never)."""

    config: str
    seeds: list[int]
    runs: dict[str, list[RunSummary]]  # arm -> one summary per seed, in `seeds` order
    steps_to_accuracy: dict[str, dict[str, list[int | None]]]  # str(threshold) -> arm -> per seed
    labels: dict[str, str] = field(default_factory=lambda: dict(ARMS))  # arm -> its column title

    def write(self, out_dir: Path) -> None:
        runlog.write_json(out_dir / runlog.SUMMARY_FILE, dataclasses.asdict(self))

    @classmethod
    def read(cls, out_dir: Path) -> CompareSummary:
        raw = runlog.read_json(out_dir / runlog.SUMMARY_FILE)
        runs = {arm: [RunSummary.from_dict(run) for run in seeds] for arm, seeds in raw["runs"].items()}
        return cls(**{**raw, "runs": runs})


def run_key(arm: str, seed: int) -> str:
    return f"{arm}-seed{seed}"


def plan(config: Config, seeds: int, arms: dict[str, Arm] = BN_ARMS) -> list[runner.RunSpec]:
    """Every arm for seeds config.seed .. config.seed + seeds - 1."""
    return [
        runner.RunSpec(run_key(key, seed), arm.configure(dataclasses.replace(config, seed=seed)))
        for seed in range(config.seed, config.seed + seeds)
        for key, arm in arms.items()
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


def table_rows(summary: CompareSummary) -> list[tuple[str, ...]]:
    """(quantity, one cell per arm) rows shared by the console table and report.md."""
    rows = [
        (title, *(cell([getattr(run, name) for run in summary.runs[arm]], spec) for arm in summary.labels))
        for title, name, spec in QUANTITIES
    ]
    reach = [
        (f"first step with val. accuracy >= {float(threshold):.0%}", *(cell(steps[arm], "d") for arm in summary.labels))
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
    header = ("", *summary.labels.values())
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
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
    arms, net = list(summary.labels), f"{config.model.arch} net, {config.train.steps} steps"
    lines = [
        f"# {' vs '.join(summary.labels.values())}: {config.name} ({net})",
        "",
        "For each seed every run starts from the same initial weights and sees the same batches; only the compared "
        f"setting differs. {sample_note(summary).capitalize()}.",
        "",
        f"| | {' | '.join(summary.labels.values())} |",
        "|---|" + "---:|" * len(arms),
        *("| " + " | ".join(row) + " |" for row in table_rows(summary)),
        "",
        f"![convergence]({PLOT_FILE})",
        "",
        f"Runs: {', '.join(f'`{run_key(arm, s)}/`' for s in summary.seeds for arm in arms)} "
        "(`tensorboard --logdir .` shows them all); the resolved config is in each `config.yaml`.",
        "",
        f"Executed with: {execution_line(summary.runs[arms[0]][0].execution)}.",
    ]
    return "\n".join(lines) + "\n"


def run(
    config: Config,
    out_dir: Path,
    mnist: Mnist | None = None,
    log: Log = stderr_log,
    seeds: int = 1,
    backend: runner.Backend | None = None,
    arms: dict[str, Arm] = BN_ARMS,
) -> CompareSummary:
    """Train every arm (default: the network with and without BN) for `seeds` seeds from config.seed on, in parallel
    on `backend` (default: local worker processes); write every run, convergence.png, summary.json and report.md."""
    specs = plan(config, seeds, arms)  # a bad arm config fails here, before anything is read or written
    outdir.refuse_used_out_dir(Path(out_dir))
    mnist = mnist or load_mnist(config.data.dir, log)  # bad input fails here, before anything is written
    with outdir.claimed(Path(out_dir)) as out_dir:
        summaries = runner.run_all(specs, out_dir, mnist, log, backend)
        return summarise(config, out_dir, seeds, summaries, {key: arm.label for key, arm in arms.items()})


def summarise(
    config: Config, out_dir: Path, seeds: int, summaries: dict[str, RunSummary], labels: dict[str, str]
) -> CompareSummary:
    """Tabulate and plot the finished runs; write convergence.png, summary.json and report.md."""
    seed_list = list(range(config.seed, config.seed + seeds))
    records = {arm: [runlog.read_metrics(out_dir / run_key(arm, s)) for s in seed_list] for arm in labels}
    summary = CompareSummary(
        config.name,
        seed_list,
        {arm: [summaries[run_key(arm, s)] for s in seed_list] for arm in labels},
        {str(t): {arm: [runlog.first_step_reaching(r, t) for r in records[arm]] for arm in labels} for t in THRESHOLDS},
        labels,
    )
    seeds_text = f"seed {seed_list[0]}, one sample" if seeds == 1 else f"seeds {seed_list[0]}..{seed_list[-1]}"
    title = (
        f"{config.name}: {config.model.arch} net, {config.model.activation}, lr {config.train.learning_rate} "
        f"({seeds_text})"
    )
    plot_convergence(
        {labels[arm]: [curves_of(r, runlog.VAL_ACCURACY) for r in records[arm]] for arm in labels},
        {labels[arm]: [curves_of(r, runlog.TRAIN_LOSS) for r in records[arm]] for arm in labels},
        out_dir / PLOT_FILE,
        title,
    )
    images.write_plots(out_dir, {"convergence": out_dir / PLOT_FILE})
    summary.write(out_dir)
    (out_dir / REPORT_FILE).write_text(markdown_report(config, summary), encoding="utf-8")
    return summary
