"""The measurements `diagnose` takes of a model, none of which changes it: its BN layers (any layer with moving
statistics), what each receives at inference on the data (per-channel mean and variance, recorded as the model
runs), how an output moves with the rest of its batch, and its outputs in training mode (`stateless_call`: no
moving statistic is assigned)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator

import keras
import numpy as np
import tensorflow as tf

from bn_mnist.core import traced

BATCH = 500  # examples per inference call while recording
TRAINING_BATCH = 128  # examples per training-mode batch: a common training batch; the gap grows as it shrinks
PROBES = 8  # examples whose outputs are compared alone and inside two different batches
COMPANIONS = 56  # the other examples of each of those batches (batches of 64)
SAMPLE = 64  # inputs of each BN layer kept for the training-mode check of a frozen layer


def bn_layers(model: keras.Layer) -> dict[str, keras.Layer]:
    """Path ("base/bn_1") -> layer, for every layer with moving statistics, nested models and layers included, each
    once however many paths reach it: Keras' BatchNormalization (synchronized or not), this project's NnBatchNorm,
    and custom ones alike."""
    found: dict[str, keras.Layer] = {}
    seen: set[int] = set()

    def walk(layer: keras.Layer, prefix: str) -> None:
        for sublayer in layer._layers:  # Keras 3 tracks every sublayer here (Layer._flatten_layers walks it too)
            if id(sublayer) in seen:
                continue
            seen.add(id(sublayer))
            path = f"{prefix}{sublayer.name}"
            if hasattr(sublayer, "moving_mean") and hasattr(sublayer, "moving_variance"):
                found[path] = sublayer
            walk(sublayer, f"{path}/")

    walk(model, "")
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
        return np.maximum(self.squares / self.count - np.square(self.mean), 0.0)  # float64: little cancellation


def channel_axis(layer: keras.Layer) -> int:
    """The axis a BN layer normalizes per entry of (Keras' `axis`; the last for layers without one)."""
    axis = getattr(layer, "axis", -1)
    return int(axis[0] if isinstance(axis, (list, tuple)) else axis)


@contextlib.contextmanager
def watching(layers: dict[str, keras.Layer], seen: Callable[[str, object], None]) -> Iterator[None]:
    """While open, every call of each layer first hands its inputs to `seen(path, inputs)`; the layers are left as
    found."""

    def watched(path: str, call: Callable) -> Callable:
        def call_seen(inputs, *args, **kwargs):
            seen(path, inputs)
            return call(inputs, *args, **kwargs)

        return call_seen

    try:
        for path, layer in layers.items():
            layer.call = watched(path, layer.call)  # an instance attribute: Layer.__call__ calls self.call
        yield
    finally:
        for layer in layers.values():
            vars(layer).pop("call", None)


@contextlib.contextmanager
def recording(layers: dict[str, keras.Layer]) -> Iterator[dict[str, Received]]:
    """While open, every call of each layer adds its inputs to its `Received`; the layers are left as found."""
    received = {path: Received(channel_axis(layer)) for path, layer in layers.items()}
    with watching(layers, lambda path, inputs: received[path].add(inputs)):
        yield received


def inference(model: keras.Model, x: np.ndarray, batch: int = BATCH) -> np.ndarray:
    """The model's outputs in inference mode, as `model(x)` gives them, batch by batch."""
    return np.concatenate([np.asarray(model(x[i : i + batch], training=False)) for i in range(0, len(x), batch)])


def training_mode(layer: keras.Layer, inputs) -> np.ndarray:
    """`layer`'s (or a model's) outputs in training mode, through `stateless_call`: the moving statistics it would
    update come back as values and are dropped."""
    trainable = [variable.value for variable in layer.trainable_variables]
    non_trainable = [variable.value for variable in layer.non_trainable_variables]
    return np.asarray(layer.stateless_call(trainable, non_trainable, inputs, training=True)[0])


def in_training_mode(model: keras.Model, name: str, each: Callable, signature: Callable, batches: np.ndarray):
    """`each(net, call, batch)` on each of `batches` (K, B, ...) in one compiled call, `call(batch)` being the net's
    training-mode forward pass through `stateless_call` (no moving statistic assigned), and `signature(net, batch)`
    the dtypes of what `each` returns. Traced once per model, batch shape and the Python values a trace reads as
    constants that callers change (each layer's `trainable`, a dropout layer's `rate`), for any number of batches;
    kept while the model lives (eagerly, a batch of a small network costs ms)."""
    constants = tuple((layer.trainable, getattr(layer, "rate", None)) for layer in model._flatten_layers())
    spec = tf.TensorSpec((None, *batches.shape[1:]), tf.as_dtype(batches.dtype))

    def make(of: Callable[[], keras.Model]) -> Callable:
        def each_in_training_mode(batches: tf.Tensor):
            net = of()
            trainable = [variable.value for variable in net.trainable_variables]
            non_trainable = [variable.value for variable in net.non_trainable_variables]
            call = lambda batch: net.stateless_call(trainable, non_trainable, batch, training=True)[0]  # noqa: E731
            batch = keras.KerasTensor(spec.shape[1:], spec.dtype)
            return tf.map_fn(lambda b: each(net, call, b), batches, fn_output_signature=signature(net, batch))

        return tf.function(each_in_training_mode, input_signature=[spec])

    return traced.for_model(model, f"{name} {spec} {constants}", make)(tf.constant(batches))


def training_outputs(model: keras.Model, batches: np.ndarray) -> np.ndarray:
    """`training_mode` on each of `batches` (K, B, ...), their outputs concatenated, in one compiled call."""

    def signature(net: keras.Model, batch: keras.KerasTensor) -> tf.DType:
        return tf.as_dtype(net.compute_output_spec(batch).dtype)

    outputs = np.asarray(in_training_mode(model, "training_outputs", lambda _, call, b: call(b), signature, batches))
    return outputs.reshape(-1, *outputs.shape[2:])


def moments(inputs, axis: int) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """A traced layer input's count of values per channel and their per-channel sum and sum of squares, in float64
    (what `Received.add` sums)."""
    x = tf.cast(inputs[0] if isinstance(inputs, (list, tuple)) else inputs, tf.float64)
    channels = tf.reshape(tf.experimental.numpy.moveaxis(x, axis, -1), (-1, x.shape[axis]))
    return tf.cast(tf.shape(channels)[0], tf.float64), tf.reduce_sum(channels, 0), tf.reduce_sum(tf.square(channels), 0)


def training_statistics(model: keras.Model, batches: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per BN layer, the per-channel mean and (biased) variance of what it receives in training mode on each of
    `batches` (K, B, ...), each (K, C), in float64 as `Received` gives them but for the order of its sums (they
    differ by about 1e-13 relative); one compiled call (eagerly, 100 batches of the FC net took a second)."""

    def each(net: keras.Model, call: Callable, batch: tf.Tensor) -> dict[str, tuple[tf.Tensor, tf.Tensor]]:
        layers, sums = bn_layers(net), {}

        def add(path: str, inputs) -> None:
            found = moments(inputs, channel_axis(layers[path]))
            sums[path] = [a + b for a, b in zip(sums.get(path, (0.0, 0.0, 0.0)), found)]

        with watching(layers, add):
            call(batch)
        return {
            path: (total / count, tf.maximum(squares / count - tf.square(total / count), 0.0))
            for path, (count, total, squares) in sums.items()
        }

    def signature(net: keras.Model, _) -> dict[str, tuple[tf.DType, tf.DType]]:
        return {path: (tf.float64, tf.float64) for path in bn_layers(net)}

    found = in_training_mode(model, "training_statistics", each, signature, batches)
    return {path: (np.asarray(mean), np.asarray(variance)) for path, (mean, variance) in found.items()}


def accuracies(model: keras.Model, x: np.ndarray, y: np.ndarray, batch: int = TRAINING_BATCH) -> tuple[float, float]:
    """Training- and inference-mode accuracy on the same examples: whole batches of `batch`, drawn in a fixed
    shuffled order (so a file sorted by class does not make one-class batches)."""
    order = np.random.default_rng(0).permutation(len(x))[: len(x) // batch * batch]
    batches = order.reshape(-1, batch)
    training = training_outputs(model, x[batches])
    inference_outputs = inference(model, x[order])
    training_accuracy, inference_accuracy = (
        np.mean(out.argmax(-1) == y[order]) for out in (training, inference_outputs)
    )
    return float(training_accuracy), float(inference_accuracy)


def batch_change(model: keras.Model, x: np.ndarray, alone: np.ndarray) -> float:
    """The largest change of an inference output of PROBES examples between alone (batches of one) and inside two
    different batches, relative to the largest output (`alone`: their outputs one at a time)."""
    probes, first, second = x[:PROBES], x[PROBES:][:COMPANIONS], x[PROBES + COMPANIONS :][:COMPANIONS]
    together = [inference(model, np.concatenate([probes, others]))[:PROBES] for others in (first, second)]
    scale = max(float(np.abs(alone).max()), np.finfo(np.float32).tiny)
    return max(float(np.abs(alone - outputs).max()) for outputs in together) / scale
