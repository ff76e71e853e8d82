"""Reading a run's TensorBoard event files back, by plugin, with TensorBoard's own loader (tests only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.util import tensor_util


def accumulator(run_dir: Path) -> EventAccumulator:
    events = EventAccumulator(str(run_dir), size_guidance={"tensors": 0})
    events.Reload()
    return events


def tensors(run_dir: Path, plugin: str) -> dict[str, dict[int, np.ndarray]]:
    """{tag: {step: value}} of every summary the plugin ("scalars", "histograms", "images", "hparams") owns."""
    events = accumulator(run_dir)
    return {
        tag: {event.step: tensor_util.make_ndarray(event.tensor_proto) for event in events.Tensors(tag)}
        for tag in events.Tags()["tensors"]
        if events.SummaryMetadata(tag).plugin_data.plugin_name == plugin
    }


def scalars(run_dir: Path) -> dict[str, dict[int, float]]:
    return {
        tag: {step: float(value) for step, value in values.items()}
        for tag, values in tensors(run_dir, "scalars").items()
    }


def session(run_dir: Path) -> dict:
    """The run's HParams session: {setting: value}."""
    content = accumulator(run_dir).SummaryMetadata(hparams_metadata.SESSION_START_INFO_TAG).plugin_data.content
    info = hparams_metadata.parse_session_start_info_plugin_data(content)
    return {name: getattr(value, value.WhichOneof("kind")) for name, value in info.hparams.items()}


def experiment(out_dir: Path) -> api_pb2.Experiment:
    """The HParams experiment written at the root of a multi-run output."""
    content = accumulator(out_dir).SummaryMetadata(hparams_metadata.EXPERIMENT_TAG).plugin_data.content
    return hparams_metadata.parse_experiment_plugin_data(content)


def domains(out_dir: Path) -> dict[str, list]:
    """{setting: its discrete domain} of the root's experiment."""
    return {
        info.name: [getattr(value, value.WhichOneof("kind")) for value in info.domain_discrete.values]
        for info in experiment(out_dir).hparam_infos
    }
