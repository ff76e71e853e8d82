"""`compare.run(config, out_dir)`: the same network trained with and without BN, from the same start, over seeds
(or, with `lab.arms.across_replicas`, BN on one device against synchronized and per-replica BN on N replicas).

For each seed every arm starts from the same kernels (seeded per layer in `nets/models.py`) and draws the identical
sequence of batches (`engine.batch_order`): the difference between the arms is the one setting they change. The runs
train in parallel worker processes (`training/runner.py`), as `reproduce` trains its runs. One seed is one sample:
the table says so, and `--seeds N` gives the spread. summary.json holds everything the table, report.md and the
figure show, so `rebuild` makes them again from it alone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from bn_mnist.core import files, provenance, records, runfiles
from bn_mnist.core.config import Config
from bn_mnist.core.console import Log, stderr_log
from bn_mnist.core.data import Mnist
from bn_mnist.core.errors import ConfigError, OutputError, ResultsError
from bn_mnist.core.plots import save
from bn_mnist.core.plots.convergence import convergence_figure, curves_of
from bn_mnist.core.plots.seed_curves import Curve, Series
from bn_mnist.core.provenance import CodeVersion
from bn_mnist.core.records import SCHEMA_VERSION, Record, optional
from bn_mnist.core.runfiles import Execution, RunSummary
from bn_mnist.core.tensorboard import images
from bn_mnist.core.training import runner
from bn_mnist.core.training.runspec import RunSpec
from bn_mnist.lab import stats
from bn_mnist.lab.arms import WITH_AND_WITHOUT, Arm, across_replicas, norm_arms
from bn_mnist.lab.meta import REPORT_FILE, RESULTS_FILE
from bn_mnist.lab.plan import seed_key
from bn_mnist.lab.runs import other_code_runs, trained
from bn_mnist.lab.text import code_lines, notebook_markdown

THRESHOLDS = (0.5, 0.9, 0.95)
PLOT_FILE = "convergence.png"
CURVES = (runfiles.VAL_ACCURACY, runfiles.TRAIN_LOSS)  # what the figure draws
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


def arms_for(kind: str, config: Config) -> tuple[Arm, ...]:
    """`--arms`: bn (with and without BN), norms (every normalization and BN-free init: lab/arms.py) or sync (one
    device against the config's distribute.replicas)."""
    if kind == "bn":
        return WITH_AND_WITHOUT
    if kind == "norms":
        return norm_arms(config.model.arch)
    if config.distribute.replicas == 1:
        raise ConfigError("--arms sync compares N replicas with one device: give --replicas N (N > 1)")
    return across_replicas(config.distribute.replicas, config.train.batch_size)


@dataclass(frozen=True)
class CompareSummary(Record):
    """A comparison's summary.json: the config's name, the seeds, each arm's run summary per seed, per
    validation-accuracy threshold each arm's first logged step at or above it, per seed (None: never); and what the
    report and figure need besides (each arm's label and colour, the titles, every seed's curves)."""

    config: str
    seeds: list[int]
    runs: dict[str, list[RunSummary]]  # arm -> one summary per seed, in `seeds` order
    steps_to_accuracy: dict[str, dict[str, list[int | None]]]  # str(threshold) -> arm -> per seed
    labels: dict[str, str] = field(default_factory=lambda: {arm.key: arm.label for arm in WITH_AND_WITHOUT})
    colours: dict[str, str] = field(default_factory=lambda: {arm.key: arm.colour for arm in WITH_AND_WITHOUT})
    network: str = ""  # e.g. "conv net, 800 steps"
    title: str = ""  # the figure's
    curves: dict[str, list[dict[str, Curve]]] = field(default_factory=dict)  # arm -> per seed -> metric -> curve
    code: CodeVersion | None = optional()  # the code that made it (None: from before it was kept)
    other_code_runs: list[str] = field(default_factory=list)  # reused runs that other code trained (when asked)
    schema: int = SCHEMA_VERSION

    def _repr_markdown_(self) -> str:
        """The report, as a notebook shows it (the figure: `figure()`)."""
        return notebook_markdown(markdown_report(self))

    def figure(self) -> Figure:
        """The convergence figure: every seed's validation accuracy and training loss, one colour per arm."""
        return figure(self)

    def write(self, out_dir: Path) -> None:
        records.write_json(out_dir / runfiles.SUMMARY_FILE, self.to_dict())

    @classmethod
    def read(cls, out_dir: Path) -> CompareSummary:
        return cls.from_dict(records.read_json(out_dir / runfiles.SUMMARY_FILE))


def plan(config: Config, seeds: int, arms: tuple[Arm, ...] = WITH_AND_WITHOUT) -> list[RunSpec]:
    """Every arm for seeds config.seed .. config.seed + seeds - 1."""
    return [
        RunSpec(seed_key(arm.key, seed), arm.configure(dataclasses.replace(config, seed=seed)))
        for seed in range(config.seed, config.seed + seeds)
        for arm in arms
    ]


def formatted(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def cell(values: list[Any], spec: str) -> str:
    """One value as it is; several as mean ± SD (min..max), or per seed when they are steps."""
    if len(values) == 1:
        return formatted(values[0], spec)
    if spec == "d":
        return " / ".join(formatted(v, spec) for v in values)
    found = stats.spread(values)
    if found is None:
        return "-"
    mean, sd, low, high = (formatted(value, spec) for value in (found.mean, found.sd, found.min, found.max))
    return f"{mean} ± {sd} ({low}..{high})"


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


def markdown_report(summary: CompareSummary) -> str:
    arms = list(summary.labels)
    lines = [
        f"# {' vs '.join(summary.labels.values())}: {summary.config} ({summary.network})",
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
        f"Runs: {', '.join(f'`{seed_key(arm, s)}/`' for s in summary.seeds for arm in arms)} "
        "(`tensorboard --logdir .` shows them all); the resolved config is in each `config.yaml`.",
        "",
        f"Executed with: {execution_line(summary.runs[arms[0]][0].execution)}.",
        *(["", *code_lines(summary.code, summary.other_code_runs)] if summary.code else []),
    ]
    return "\n".join(lines) + "\n"


def run(
    config: Config,
    out_dir: Path,
    mnist: Mnist | None = None,
    log: Log = stderr_log,
    seeds: int = 1,
    backend: runner.Backend | None = None,
    arms: tuple[Arm, ...] = WITH_AND_WITHOUT,
    reuse_other_code: bool = False,
) -> CompareSummary:
    """Train every arm (default: the network with and without BN) for `seeds` seeds from config.seed on, in parallel
    on `backend` (default: local worker processes); write every run, convergence.png, summary.json and report.md.
    The same command into the same out_dir resumes: finished runs are reused."""
    specs = plan(config, seeds, arms)  # a bad arm config fails here, before anything is read or written
    refuse_other_output(Path(out_dir))
    with trained(specs, Path(out_dir), log, backend, config.data.dir, mnist, reuse_other_code) as done:
        summary = comparison_summary(config, out_dir, seeds, done.summaries, arms)
        summary.write(out_dir)
        render(summary, out_dir)
        images.write_plots(out_dir, {"convergence": out_dir / PLOT_FILE})
        return summary


def comparison_summary(
    config: Config, out_dir: Path, seeds: int, summaries: dict[str, RunSummary], arms: tuple[Arm, ...]
) -> CompareSummary:
    """The finished runs as one summary: their summaries, steps to each threshold, and every seed's curves."""
    seed_list = list(range(config.seed, config.seed + seeds))
    metrics = {arm.key: [runfiles.read_metrics(out_dir / seed_key(arm.key, s)) for s in seed_list] for arm in arms}
    seeds_text = f"seed {seed_list[0]}, one sample" if seeds == 1 else f"seeds {seed_list[0]}..{seed_list[-1]}"
    return CompareSummary(
        config=config.name,
        seeds=seed_list,
        runs={arm.key: [summaries[seed_key(arm.key, s)] for s in seed_list] for arm in arms},
        steps_to_accuracy={
            str(t): {arm: [runfiles.first_step_reaching(m, t) for m in found] for arm, found in metrics.items()}
            for t in THRESHOLDS
        },
        labels={arm.key: arm.label for arm in arms},
        colours={arm.key: arm.colour for arm in arms},
        network=f"{config.model.arch} net, {config.train.steps} steps",
        title=(
            f"{config.name}: {config.model.arch} net, {config.model.activation}, lr {config.train.learning_rate} "
            f"({seeds_text})"
        ),
        curves={arm: [{name: curves_of(m, name) for name in CURVES} for m in found] for arm, found in metrics.items()},
        code=provenance.current(),
        other_code_runs=other_code_runs(summaries),
    )


def refuse_other_output(out_dir: Path) -> None:
    """A comparison resumes in its own directory only: never over a run of `train`, a reproduction or an explain.

    Raises:
        OutputError: out_dir holds another command's output (nothing was written).
    """
    for name, what in ((runfiles.CONFIG_FILE, "a run of train"), (RESULTS_FILE, "a reproduce or explain output")):
        if (out_dir / name).exists():
            raise OutputError(f"{out_dir} holds {what}: choose another --out (nothing was written)")


def figure(summary: CompareSummary) -> Figure:
    """The convergence figure: every seed's validation accuracy and training loss, one colour per arm."""
    if not summary.curves:
        raise ResultsError(f"{runfiles.SUMMARY_FILE}: made before summaries kept their curves; rerun compare")

    def series(name: str) -> list[Series]:
        return [
            Series(summary.labels[arm], summary.colours[arm], [curves[name] for curves in summary.curves[arm]])
            for arm in summary.labels
        ]

    return convergence_figure(series(runfiles.VAL_ACCURACY), series(runfiles.TRAIN_LOSS), summary.title)


def render(summary: CompareSummary, out_dir: Path) -> list[Path]:
    """convergence.png and report.md of a comparison; returns the files written."""
    save(figure(summary), out_dir / PLOT_FILE)
    files.write_text(out_dir / REPORT_FILE, markdown_report(summary))
    return [out_dir / PLOT_FILE, out_dir / REPORT_FILE]


def rebuild(out_dir: Path, raw: dict[str, Any]) -> list[Path]:
    """The figure and report.md again, from summary.json alone; returns the files written."""
    return render(CompareSummary.from_dict(raw), out_dir)
