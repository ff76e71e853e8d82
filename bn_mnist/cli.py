"""The `bn-mnist` command line: a thin shell that parses options and calls one library function per command."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bn_mnist import api  # imports no TensorFlow: --help needs none
from bn_mnist.core.config import Config, shipped_configs
from bn_mnist.core.errors import BnMnistError
from bn_mnist.lab.names import Names
from bn_mnist.studies import REGISTRY


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a BnMnistError (or Ctrl-C, or an OSError) into one line on stderr and its exit code, without a
    traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except BnMnistError as error:
            click.echo(f"bn-mnist: {error.prefix}{error}", err=True)
            sys.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("bn-mnist: interrupted", err=True)
            sys.exit(130)
        except OSError as error:  # a write outside the writers that name what they keep (a directory made)
            where = f"{error.filename}: " if error.filename else ""
            click.echo(f"bn-mnist: error: {where}{error.strerror or error}", err=True)
            sys.exit(1)

    return wrapper


def run_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by `train` and `compare`; the command receives the resolved `config` (and `out`) instead of
    the options that make it (`api.resolve`)."""

    @functools.wraps(command)
    def with_config(
        config_name: str | None,
        overrides: tuple[str, ...],
        seed: int | None,
        data_dir: Path | None,
        replicas: int | None,
        bn: bool | None = None,
        **rest: Any,
    ) -> Any:
        return command(config=api.resolve(config_name, overrides, seed, bn, replicas, data_dir), **rest)

    options = [
        click.option(
            "--config",
            "config_name",
            metavar="NAME|PATH",
            help=f"A shipped config ({', '.join(shipped_configs())}) or a YAML file (default: conv).",
        ),
        click.option(
            "--set",
            "overrides",
            multiple=True,
            metavar="KEY=VALUE",
            help="Override a config key, e.g. --set train.steps=2000 (repeatable; the value is read as YAML).",
        ),
        click.option("--seed", type=click.IntRange(min=0), help="Seed for initial weights and batch order (seed)."),
        click.option(
            "--replicas",
            type=click.IntRange(min=1),
            help="Train data-parallel on N replicas of batch_size/N examples (distribute.replicas; N > 1 without a "
            "strategy: mirrored, on the GPUs or N logical CPU devices).",
        ),
        click.option(
            "--data-dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Directory with mnist.npz or the four IDX files (data.dir).",
        ),
        click.option(
            "--out",
            type=click.Path(file_okay=False, path_type=Path),
            help="Output directory (default: a new directory under runs/).",
        ),
    ]
    decorated = user_errors(with_config)
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


def backend_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--workers, --ray and --reuse-other-code for a command that trains many runs (the API connects to a Ray
    cluster once TensorFlow started: a bad address fails then, before anything is read or written)."""
    workers = click.option(
        "--workers",
        type=click.IntRange(min=1),
        help="Local parallel training processes (default: as many as the cores hold at train.threads each).",
    )
    ray = click.option(
        "--ray",
        envvar="RAY_ADDRESS",
        metavar="ADDRESS",
        help="Train on a Ray cluster: HOST:PORT of its head, auto (the cluster this machine is in) or local (a new "
        "one on this machine); default: $RAY_ADDRESS, else local processes. Needs the ray extra.",
    )
    reuse = click.option(
        "--reuse-other-code",
        is_flag=True,
        help="Reuse finished runs in --out that another version of bn-mnist trained (the results list them); by "
        "default they are set aside and trained again.",
    )
    return workers(ray(reuse(command)))


def plan_options(command_name: str, seeds: str, quick: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--seeds, --out, --quick, the back-end's options and --data-dir, for a command that trains a plan of runs."""
    options = (
        click.option("--seeds", type=click.IntRange(min=1), help=seeds),
        click.option(
            "--out",
            type=click.Path(file_okay=False, path_type=Path),
            help=f"Output directory; finished runs in it are reused (default: runs/{command_name}[-quick]).",
        ),
        click.option("--quick", is_flag=True, help=quick),
        backend_options,
        click.option(
            "--data-dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Directory with mnist.npz or the four IDX files.",
        ),
    )

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        command = user_errors(command)
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bn-mnist")
def main() -> None:
    """Show, measure and explain what batch normalization does to training on MNIST."""


@main.command("train")
@click.option("--bn/--no-bn", default=None, help="Train with or without batch normalization (config: bn.enabled).")
@run_options
def train_command(config: Config, out: Path | None) -> None:
    """Train one network, with or without BN, and write its run directory."""
    run = api.train(config, out=out or api.train_out(config))
    summary = run.summary
    click.echo(
        f"final validation accuracy {summary.final_val_accuracy:.4f}, "
        f"test accuracy {summary.final_test_accuracy:.4f}, "
        f"single-sample accuracy {summary.single_sample_accuracy:.2f}; run in {run.out}"
    )


@main.command("compare")
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Seeds per network, from --seed on: the table gives mean ± SD (min..max) over them.",
)
@click.option(
    "--arms",
    type=click.Choice(["bn", "norms", "sync"]),
    default="bn",
    show_default=True,
    help="bn: with and without BN. norms: BN, layer, group, instance (conv) and weight-standardized group norm, "
    "and no normalization with the default, He, LSUV and SELU + LeCun inits. sync: BN on one device against "
    "synchronized and per-replica BN on --replicas N replicas (the same global batch).",
)
@backend_options
@run_options
def compare_command(
    config: Config,
    out: Path | None,
    seeds: int,
    arms: str,
    workers: int | None,
    ray: str | None,
    reuse_other_code: bool,
) -> None:
    """Train the network with and without BN (or BN across replicas) from the same start, over seeds; plot and
    tabulate them. The same command with the same --out resumes."""
    out = out or api.compare_out(config, arms)
    summary = api.compare(
        config, seeds=seeds, arms=arms, out=out, workers=workers, ray=ray, reuse_other_code=reuse_other_code
    )
    from bn_mnist.studies import compare as comparison  # TensorFlow is started (quietly) by now

    click.echo(comparison.console_table(summary))
    click.echo(f"plot: {out / comparison.PLOT_FILE}  report: {out / comparison.REPORT_FILE}")


@main.command("data")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory with mnist.npz or the four IDX files to verify instead of the cache.",
)
@user_errors
def data_command(data_dir: Path | None) -> None:
    """Get, verify and cache MNIST (train and compare also do this by themselves)."""
    from bn_mnist.core.data import load_mnist
    from bn_mnist.core.data.sources import cache_dir

    mnist = load_mnist(data_dir)
    click.echo(
        f"MNIST ok: {len(mnist.train_x)} train, {len(mnist.val_x)} validation, {len(mnist.test_x)} test "
        f"(cache: {cache_dir()})"
    )


def add_study(names: Names) -> None:
    """The command of a study in the registry (`bn_mnist.studies`): its parts as the argument, the plan options, and
    the line the study prints when it is done."""
    if names.many:
        argument = click.argument("chosen", nargs=-1, type=click.Choice(names.parts))
    else:
        argument = click.argument("chosen", type=click.Choice(["all", *names.parts]), default="all")

    def command(chosen: str | tuple[str, ...], out: Path | None, quick: bool, **options: Any) -> None:
        out = out or api.plan_out(names.command, quick)
        results = getattr(api, names.command)(chosen, quick=quick, out=out, **options)
        from bn_mnist import studies  # TensorFlow is started (quietly) by now

        click.echo(studies.load(names.command).console(results, out))

    decorated = plan_options(names.command, seeds=names.seeds_help, quick=names.quick_help)(command)
    main.command(names.command, help=names.summary)(argument(decorated))


for study_names in REGISTRY.values():
    add_study(study_names)


@main.command("report")
@click.argument("out_dir", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@user_errors
def report_command(out_dir: Path) -> None:
    """Make report.md and the figures of a compare, reproduce, explain or pitfalls output DIR again from its
    results.json or summary.json alone (after a change to the report's code, or on results copied without their
    runs)."""
    from bn_mnist.rebuild import rebuild

    written = rebuild(out_dir)
    click.echo(f"rebuilt {len(written)} files in {out_dir}: {', '.join(path.name for path in written)}")


@main.command("diagnose")
@click.argument("model", metavar="MODEL", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    help="An .npz with x (and y, labels) or a directory with MNIST (default: MNIST's test set, for 28x28 inputs).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@user_errors
def diagnose_command(model: Path, data: Path | None, as_json: bool) -> None:
    """Find what is wrong with the BN layers of a saved Keras 3 MODEL (.keras, any model); the file is only read.
    Exit 0: nothing found; 1: something found; 2: bad input."""
    diagnosis = api.diagnose(model, data)
    click.echo(diagnosis.to_json() if as_json else "\n".join(diagnosis.lines()))
    sys.exit(diagnosis.exit_code)
