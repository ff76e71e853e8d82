"""The measurements `diagnose` takes of a model, none of which changes it: its BN layers (any layer with moving
statistics), what each receives at inference on the data (per-channel mean and variance, recorded as the model
runs), how an output moves with the rest of its batch, and its outputs in training mode (`stateless_call`: no
moving statistic is assigned)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import keras
import numpy as np

BATCH = 500  # examples per inference call while recording
TRAINING_BATCH = 128  # examples per training-mode batch: a common training batch; the gap grows as it shrinks
PROBES = 8  # examples whose outputs are compared alone and inside two different batches
COMPANIONS = 56  # the other examples of each of those batches (batches of 64)
SAMPLE = 64  # inputs of each BN layer kept for the training-mode check of a frozen layer


def bn_layers(model: keras.Layer, prefix: str = "") -> dict[str, keras.Layer]:
    """Path ("base/bn_1") -> layer, for every layer with moving statistics, nested models and layers included:
    Keras' BatchNormalization (synchronized or not), this project's NnBatchNorm, and custom ones alike."""
    found = {}
    for layer in model._layers:  # Keras 3 tracks every sublayer here (Layer._flatten_layers walks the same list)
        path = f"{prefix}{layer.name}"
        if hasattr(layer, "moving_mean") and hasattr(layer, "moving_variance"):
            found[path] = layer
        found.update(bn_layers(layer, f"{path}/"))
    return found


@dataclasses.dataclass
class Received:
    """What one BN layer received over the data at inference: per-channel sums, and its first inputs."""

    axis: int
    count: int = 0
    total: np.ndarray | float = 0.0
    squares: np.ndarray | float = 0.0
    sample: object = None  # the layer's first call's inputs (at most SAMPLE examples), as it took them

    def add(self, inputs) -> None:
        x = np.asarray(inputs[0] if isinstance(inputs, (list, tuple)) else inputs, np.float64)
        channels = np.moveaxis(x, self.axis, -1).reshape(-1, x.shape[self.axis])  # (examples x positions, C)
        self.count += len(channels)
        self.total = self.total + channels.sum(0)
        self.squares = self.squares + np.square(channels).sum(0)
        if self.sample is None:
            self.sample = keras.tree.map_structure(lambda t: t[:SAMPLE], inputs)

    @property
    def mean(self) -> np.ndarray:
        return self.total / self.count

    @property
    def variance(self) -> np.ndarray:
        return np.maximum(self.squares / self.count - np.square(self.mean), 0.0)  # in float64: no cancellation


def channel_axis(layer: keras.Layer) -> int:
    axis = getattr(layer, "axis", -1)
    return int(axis[0] if isinstance(axis, (list, tuple)) else axis)


@contextlib.contextmanager
def recording(layers: dict[str, keras.Layer]) -> Iterator[dict[str, Received]]:
    """While open, every call of each layer adds its inputs to its `Received`; the layers are left as found."""
    received = {path: Received(channel_axis(layer)) for path, layer in layers.items()}

    def recorder(layer: keras.Layer, into: Received):
        call = layer.call

        def recorded(inputs, *args, **kwargs):
            into.add(inputs)
            return call(inputs, *args, **kwargs)

        return recorded

    for path, layer in layers.items():
        layer.call = recorder(layer, received[path])  # an instance attribute: Layer.__call__ calls self.call
    try:
        yield received
    finally:
        for layer in layers.values():
            del layer.call


def inference(model: keras.Model, x: np.ndarray, batch: int = BATCH) -> np.ndarray:
    """The model's outputs in inference mode, as `model(x)` gives them, batch by batch."""
    return np.concatenate([np.asarray(model(x[i : i + batch], training=False)) for i in range(0, len(x), batch)])


def training_mode(layer: keras.Layer, inputs, batch: int | None = None) -> np.ndarray:
    """`layer`'s (or a model's) outputs in training mode, in batches of `batch` (all at once when None), through
    `stateless_call`: the moving statistics it would update come back as values and are dropped."""
    trainable = [variable.value for variable in layer.trainable_variables]
    non_trainable = [variable.value for variable in layer.non_trainable_variables]

    def outputs(part):
        return np.asarray(layer.stateless_call(trainable, non_trainable, part, training=True)[0])

    if batch is None:
        return outputs(inputs)
    return np.concatenate([outputs(inputs[i : i + batch]) for i in range(0, len(inputs) // batch * batch, batch)])


def batch_change(model: keras.Model, x: np.ndarray) -> float:
    """The largest change of an inference output of PROBES examples between alone (batches of one) and inside two
    different batches, relative to the largest output. Raises what the model raises on a batch of one."""
    probes, first, second = x[:PROBES], x[PROBES:][:COMPANIONS], x[PROBES + COMPANIONS :][:COMPANIONS]
    alone = inference(model, probes, batch=1)
    together = [inference(model, np.concatenate([probes, others]))[:PROBES] for others in (first, second)]
    scale = max(float(np.abs(alone).max()), np.finfo(np.float32).tiny)
    return max(float(np.abs(alone - outputs).max()) for outputs in together) / scale
