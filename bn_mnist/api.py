"""The Python API: `train`, `compare`, `reproduce`, `explain`, `pitfalls` and `diagnose`, with the options of their
commands, for notebooks and scripts. The CLI calls these same functions; each returns its typed result, which a notebook
shows as a table (`_repr_markdown_`) and whose `figure()` is a matplotlib Figure. Progress lines go to stderr, as on
a terminal (a notebook shows them under the cell). Nothing here imports TensorFlow until a function runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from bn_mnist import studies
from bn_mnist.core import runfiles
from bn_mnist.core.config import Config, load_config, with_replicas
from bn_mnist.core.console import Log, stderr_log
from bn_mnist.core.errors import ConfigError
from bn_mnist.core.outdir import new_run_dir
from bn_mnist.lab.arms import BN, NO_BN
from bn_mnist.lab.names import Names

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bn_mnist.studies.compare import CompareSummary
    from bn_mnist.studies.explain.results import Results as ExplainResults
    from bn_mnist.studies.pitfalls.results import Results as PitfallResults
    from bn_mnist.studies.reproduce.results import Results as ReproduceResults
    from bn_mnist.tools.diagnose.findings import Diagnosis

RUNS_ROOT = Path("runs")  # where outputs go unless `out` says otherwise (relative to the working directory)
Overrides = Sequence[str] | Mapping[str, Any]  # "KEY=VALUE" texts (read as YAML, as --set), or key -> typed value
R = TypeVar("R")  # a study's typed results


@dataclasses.dataclass(frozen=True)
class Run:
    """A trained run as `train` returns it: its directory, summary.json and metrics.jsonl."""

    out: Path
    summary: runfiles.RunSummary
    metrics: list[dict[str, Any]]

    def _repr_markdown_(self) -> str:
        summary = self.summary
        rows = [
            ("final validation accuracy", f"{summary.final_val_accuracy:.4f}"),
            ("final test accuracy", f"{summary.final_test_accuracy:.4f}"),
            ("single-sample accuracy (inference mode)", f"{summary.single_sample_accuracy:.2f}"),
            ("first step with val. accuracy >= 90%", str(runfiles.first_step_reaching(self.metrics, 0.9) or "-")),
            ("steps, steps/s", f"{summary.steps:,}, {summary.steps_per_second:,.0f}"),
        ]
        table = [f"| {name} | {value} |" for name, value in rows]
        return "\n".join([f"**{self.title()}** ({self.out})", "", "| | |", "|---|---:|", *table])

    def figure(self) -> Figure:
        """Validation accuracy and training loss against step."""
        from bn_mnist.core.plots.convergence import convergence_figure, curves_of
        from bn_mnist.core.plots.seed_curves import Series

        arm = BN if self.summary.bn else NO_BN
        accuracy, loss = (
            [Series(arm.label, arm.colour, [curves_of(self.metrics, name)])]
            for name in (runfiles.VAL_ACCURACY, runfiles.TRAIN_LOSS)
        )
        return convergence_figure(accuracy, loss, self.title())

    def title(self) -> str:
        """'fc net, With Batch Norm, seed 0'."""
        return f"{self.summary.arch} net, {BN.label if self.summary.bn else NO_BN.label}, seed {self.summary.seed}"


def resolve(
    config: str | Path | Config | None,
    overrides: Overrides,
    seed: int | None = None,
    bn: bool | None = None,
    replicas: int | None = None,
    data_dir: str | Path | None = None,
) -> Config:
    """The config a command trains: the file (a shipped name or a path; a Config as it is; None: the conv
    tutorial), the overrides, then the dedicated options as typed values (never re-read as YAML)."""
    if isinstance(overrides, str):
        raise ConfigError(f"overrides: expected a list of KEY=VALUE texts or a mapping, got the text {overrides!r}")
    texts = () if isinstance(overrides, Mapping) else tuple(overrides)
    flags = {"seed": seed, "data.dir": None if data_dir is None else str(Path(data_dir).expanduser()), "bn.enabled": bn}
    typed = {**(overrides if isinstance(overrides, Mapping) else {}), **flags}
    resolved = load_config(config, texts, {key: value for key, value in typed.items() if value is not None})
    return resolved if replicas is None else with_replicas(resolved, replicas)


def train_out(config: Config) -> Path:
    """`train`'s default output: a new directory under runs/."""
    return new_run_dir(RUNS_ROOT, f"{config.name}-{'bn' if config.bn.enabled else 'no_bn'}")


def compare_out(config: Config, arms: str) -> Path:
    """`compare`'s default output: a new directory under runs/."""
    return new_run_dir(RUNS_ROOT, f"{config.name}-compare{'' if arms == 'bn' else f'-{arms}'}")


def plan_out(command: str, quick: bool) -> Path:
    """A study's default output: runs/COMMAND (runs/COMMAND-quick), where a rerun resumes."""
    return RUNS_ROOT / f"{command}{'-quick' if quick else ''}"


def train(
    config: str | Path | Config | None = None,
    *,
    overrides: Overrides = (),
    bn: bool | None = None,
    seed: int | None = None,
    replicas: int | None = None,
    data_dir: str | Path | None = None,
    out: str | Path | None = None,
    log: Log = stderr_log,
) -> Run:
    """Train one network, with or without BN, and write its run directory (`bn-mnist train`).

    Args:
        config: a shipped config ("fc", "conv", ...), a YAML file or a Config; None: the conv tutorial.
        overrides: config keys to change, as "KEY=VALUE" texts (`--set`) or a mapping such as {"train.steps": 500}.
        bn: with (True) or without (False) batch normalization; None: as the config says (`--bn/--no-bn`).
        seed: the seed of initial weights and batch order (`--seed`).
        replicas: train data-parallel on N replicas of batch_size/N examples (`--replicas`).
        data_dir: a directory with mnist.npz or the four IDX files; None: the cache, else a download.
        out: the run directory, new or empty; None: a new directory under runs/.
        log: where progress lines go (default: stderr).
    """
    from bn_mnist.core.tf_startup import start_tensorflow

    resolved = resolve(config, overrides, seed, bn, replicas, data_dir)
    start_tensorflow(resolved.train.threads, resolved.distribute)  # before anything imports TensorFlow: quietly
    from bn_mnist.core.training import trainer

    run_dir = Path(out) if out else train_out(resolved)
    summary = trainer.run(resolved, run_dir, log=log)
    written = (run_dir / runfiles.METRICS_FILE).exists()  # a multi-worker run's other workers write nothing
    return Run(run_dir, summary, runfiles.read_metrics(run_dir) if written else [])


def compare(
    config: str | Path | Config | None = None,
    *,
    overrides: Overrides = (),
    seed: int | None = None,
    seeds: int = 1,
    arms: str = "bn",
    replicas: int | None = None,
    data_dir: str | Path | None = None,
    out: str | Path | None = None,
    workers: int | None = None,
    ray: str | None = None,
    reuse_other_code: bool = False,
    log: Log = stderr_log,
) -> CompareSummary:
    """Train the network with and without BN (or BN across replicas) from the same start, over seeds; write each run,
    convergence.png, summary.json and report.md (`bn-mnist compare`). The same call into the same `out` resumes.

    Args:
        config: a shipped config ("fc", "conv", ...), a YAML file or a Config; None: the conv tutorial.
        overrides: config keys to change, as "KEY=VALUE" texts (`--set`) or a mapping such as {"train.steps": 500}.
        seed: the first seed (`--seed`).
        seeds: seeds per network, from `seed` on; the table gives mean ± SD (min..max) over them.
        arms: "bn" (with and without BN), "norms" (every normalization and BN-free init: `lab.arms.NORM_ARMS`) or
            "sync" (BN on one device against synchronized and per-replica BN on `replicas` replicas).
        replicas: train data-parallel on N replicas of batch_size/N examples (`--replicas`).
        data_dir: a directory with mnist.npz or the four IDX files; None: the cache, else a download.
        out: the output directory; None: a new directory under runs/.
        workers: local training processes (default: as many as the cores hold at train.threads each).
        ray: train on a Ray cluster: "HOST:PORT" of its head, "auto" or "local" (needs the ray extra).
        reuse_other_code: reuse finished runs in `out` that another version of bn-mnist trained (the results list
            them); by default they are set aside and trained again.
        log: where progress lines go (default: stderr).
    """
    from bn_mnist.core.training import runner  # the runs train in workers: this process starts no TensorFlow
    from bn_mnist.studies import compare as comparison

    resolved = resolve(config, overrides, seed, None, replicas, data_dir)

    chosen = comparison.arms_for(arms, resolved)
    out_dir = Path(out) if out else compare_out(resolved, arms)
    backend = runner.backend(ray, workers)
    return comparison.run(
        resolved, out_dir, log=log, seeds=seeds, backend=backend, arms=chosen, reuse_other_code=reuse_other_code
    )


def chosen_names(asked: str | Sequence[str], known: tuple[str, ...], what: str) -> tuple[str, ...]:
    """'all', one name or several, in `known`'s order.

    Raises:
        ConfigError: a name that is not in `known`.
    """
    names = [asked] if isinstance(asked, str) else list(asked)
    if names == ["all"] or not names:
        return known
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(f"{what} {unknown[0]!r}: expected all or any of {', '.join(known)}")
    return tuple(name for name in known if name in names)


class StudyCommand(Generic[R]):
    """A study's command as a Python function (`bn_mnist.reproduce`, `explain`, `pitfalls`): train (or reuse) its
    runs in `out`, judge them, write results.json, report.md and the figures, and return the typed results."""

    def __init__(self, names: Names) -> None:
        self.names = names
        self.__name__ = self.__qualname__ = names.command
        self.__doc__ = study_doc(names)

    def __call__(
        self,
        chosen: str | Sequence[str] = "all",
        *,
        seeds: int | None = None,
        quick: bool = False,
        out: str | Path | None = None,
        workers: int | None = None,
        ray: str | None = None,
        data_dir: str | Path | None = None,
        reuse_other_code: bool = False,
        log: Log = stderr_log,
    ) -> R:
        picked = chosen_names(chosen, self.names.parts, self.names.part)
        from bn_mnist.core.training import runner  # the runs train in workers: this process starts no TensorFlow
        from bn_mnist.lab import pipeline

        study = studies.load(self.names.command)
        out_dir = Path(out) if out else plan_out(self.names.command, quick)
        where = runner.backend(ray, workers), Path(data_dir) if data_dir else None
        budget = study.budget(seeds, quick)
        results: R = pipeline.run(study, picked, budget, out_dir, *where, log, reuse_other_code=reuse_other_code)
        return results


def study_doc(names: Names) -> str:
    """A study command's docstring, from the texts its CLI command shows."""
    return f"""{names.summary} (`bn-mnist {names.command}`). Finished runs in `out` are reused.

    Args:
        chosen: "all", or any of {", ".join(map(repr, names.parts))}.
        seeds: {names.seeds_help}
        quick: {names.quick_help}
        out: the output directory; None: runs/{names.command} (runs/{names.command}-quick).
        workers: local training processes (default: as many as the cores hold at one thread each).
        ray: train on a Ray cluster: "HOST:PORT" of its head, "auto" or "local" (needs the ray extra).
        data_dir: a directory with mnist.npz or the four IDX files; None: the cache, else a download.
        reuse_other_code: reuse finished runs in `out` that another version of bn-mnist trained (the results list
            them); by default they are set aside and trained again.
        log: where progress lines go (default: stderr).
    """


reproduce: StudyCommand[ReproduceResults] = StudyCommand(studies.REGISTRY["reproduce"])
explain: StudyCommand[ExplainResults] = StudyCommand(studies.REGISTRY["explain"])
pitfalls: StudyCommand[PitfallResults] = StudyCommand(studies.REGISTRY["pitfalls"])


def diagnose(model: str | Path, data: str | Path | None = None, log: Log = stderr_log) -> Diagnosis:
    """What is wrong with the BN layers of a saved Keras 3 model, measured on data (`bn-mnist diagnose`); the file
    is only read.

    Args:
        model: a .keras file (any Keras 3 model of one input, not only this tool's).
        data: an .npz with `x` (and `y`, labels) or a directory with MNIST; None: MNIST's test set, for a model
            that takes 28x28 images.
        log: where progress lines go (default: stderr).
    """
    from bn_mnist.core.tf_startup import start_tensorflow

    start_tensorflow()  # before anything imports TensorFlow: quietly, on every core
    from bn_mnist.tools.diagnose.diagnose import diagnose as diagnosed

    return diagnosed(model, data, log)
