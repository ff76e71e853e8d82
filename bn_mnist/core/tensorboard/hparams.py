"""Every run's settings and outcome for TensorBoard's HParams dashboard (filter, sort, parallel coordinates).

A run writes its session (its settings) when it starts and its outcome scalars (`tags.FINAL_*`) when it finishes;
a multi-run command writes the experiment (every setting's values and the outcome metrics) once at the root of its
output. Settings and domains come from the same table, `HPARAMS`, so a run's value is always in its domain (the
dashboard hides sessions whose value is outside the domain).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tensorboard.compat.proto import summary_pb2
from tensorboard.plugins.hparams import metadata, plugin_data_pb2
from tensorboard.plugins.hparams import summary_v2 as hp  # the summaries as protos: no TensorFlow needed

from bn_mnist.core import files, runfiles
from bn_mnist.core.config import GROUPED, Config, load_config
from bn_mnist.core.errors import ConfigError
from bn_mnist.core.tensorboard import events, tags

if TYPE_CHECKING:
    from bn_mnist.core.tensorboard.writer import RunLog

EXPERIMENT_SUFFIX = ".hparams"  # the root's experiment event file: replaced, never added to, when written again
HPARAMS: dict[str, Callable[[Config], Any]] = {  # the settings that define a run, as the dashboard names them
    "name": lambda c: c.name,  # the config's (or reproduction row's) name
    "arch": lambda c: c.model.arch,
    "activation": lambda c: c.model.activation,
    "bn": lambda c: c.bn.enabled,
    "bn.kind": lambda c: c.bn.kind if c.bn.enabled else "none",  # batch, layer, group, instance, ws_group
    "bn.groups": lambda c: c.bn.groups if c.bn.enabled and c.bn.kind in GROUPED else 0,
    "bn.impl": lambda c: c.bn.impl if c.bn.enabled else "none",
    "bn.placement": lambda c: c.bn.placement if c.bn.enabled else "none",
    "bn.renorm": lambda c: c.bn.enabled and c.bn.renorm,
    "bn.update_moving_stats": lambda c: c.bn.enabled and c.bn.update_moving_stats,
    "bn.sync": lambda c: c.bn.enabled and c.distributed and c.bn.sync,  # statistics over all replicas
    "distribute": lambda c: c.distribute.strategy,
    "replicas": lambda c: c.distribute.replicas,
    "weight_init": lambda c: c.model.weight_init,
    "init_std": lambda c: c.model.init_std,
    "optimizer": lambda c: c.train.optimizer,
    "learning_rate": lambda c: c.train.learning_rate,
    "loss": lambda c: c.train.loss,
    "batch_size": lambda c: c.train.batch_size,
    "steps": lambda c: c.train.steps,
    "seed": lambda c: c.seed,
    "threads": lambda c: c.train.threads,  # the execution settings a config controls (summary.json has the rest)
    "xla": lambda config: config.xla,
}
METRICS = (  # (tag, display name)
    (tags.FINAL_VAL_ACCURACY, "final val. accuracy"),
    (tags.FINAL_TEST_ACCURACY, "final test accuracy"),
    (tags.FINAL_SINGLE_SAMPLE_ACCURACY, "single-sample accuracy"),
    (tags.FINAL_STEPS_TO_90, "first step with val. accuracy >= 90%"),
    (tags.FINAL_DIVERGED, "diverged"),
)


def session(config: Config) -> dict[str, Any]:
    """The run's value of every setting in HPARAMS."""
    return {name: value(config) for name, value in HPARAMS.items()}


def write_session(log_file: RunLog, config: Config) -> None:
    log_file.write_summary(0, hp.hparams_pb(session(config)))


def outcome(summary: runfiles.RunSummary, records: list[dict[str, Any]]) -> dict[str, float]:
    """A finished run's outcome metrics (steps to 90% is left out when the run never got there)."""
    values = {
        tags.FINAL_VAL_ACCURACY: summary.final_val_accuracy,
        tags.FINAL_TEST_ACCURACY: summary.final_test_accuracy,
        tags.FINAL_SINGLE_SAMPLE_ACCURACY: summary.single_sample_accuracy,
        tags.FINAL_STEPS_TO_90: runfiles.first_step_reaching(records, 0.9),
        tags.FINAL_DIVERGED: float(summary.diverged_at_step is not None),
    }
    return {tag: float(value) for tag, value in values.items() if value is not None}


def write_outcome(log_file: RunLog, summary: runfiles.RunSummary) -> None:
    """At the run's last step, when it finished (an interrupted run has no outcome)."""
    if not summary.interrupted:
        log_file.write_to_tensorboard(summary.steps, outcome(summary, runfiles.read_metrics(log_file.run_dir)))


def experiment_summary(configs: Iterable[Config]) -> summary_pb2.Summary:
    """Every setting with the values these runs take (its domain), and the outcome metrics, as the summary
    `hp.hparams_config` writes, with each setting that takes several values marked `differs`: the dashboard lists
    (and first shows) those, the ones to filter by, before the ones held fixed."""
    values: dict[str, set] = {name: set() for name in HPARAMS}
    for config in configs:
        for name, value in session(config).items():
            values[name].add(value)
    hparams = [hp.HParam(name, hp.Discrete(sorted(found))) for name, found in values.items()]
    metrics = [hp.Metric(tag, display_name=name) for tag, name in METRICS]
    summary = hp.hparams_config_pb(hparams=hparams, metrics=metrics)
    value = summary.value[0]
    written = metadata.parse_experiment_plugin_data(value.metadata.plugin_data.content)
    for info in written.hparam_infos:
        info.differs = len(info.domain_discrete.values) > 1
    value.metadata.CopyFrom(metadata.create_summary_metadata(plugin_data_pb2.HParamsPluginData(experiment=written)))
    return summary


def write_experiment(out_dir: Path, planned: dict[str, Config]) -> None:
    """The experiment at the root of a multi-run output, over the planned runs (key -> config) and every other run
    already under out_dir (an earlier command into the same directory may have added them); the previous
    experiment file is replaced. A planned run's saved config is its plan's (the runner refuses any other)."""
    saved = sorted(path for path in out_dir.glob(f"**/{runfiles.CONFIG_FILE}") if not files.is_set_aside(path))
    others = [readable_config(path) for path in saved if path.parent.relative_to(out_dir).as_posix() not in planned]
    found = [*planned.values(), *(config for config in others if config is not None)]
    events.replace_event_file(out_dir, EXPERIMENT_SUFFIX, [experiment_summary(found)])


def readable_config(path: Path) -> Config | None:
    """Another run's config, or None when it cannot be read (a damaged run set aside is no run to describe)."""
    try:
        return load_config(path)
    except ConfigError:
        return None
