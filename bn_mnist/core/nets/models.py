"""The tutorial's two networks, with or without batch normalization (or another one: `bn.kind`).

Without BN a hidden layer is `layer(bias) -> activation`; with BN it is `layer(no bias) -> BN -> activation`
(tutorial-facts §2, §3), or one of the alternative orders `bn.placement` and `bn.use_bias` select; the other
normalizations (nets/norms.py) take BN's place by the same rules. The output layer is never normalized. Layers
are named as `naming.py` says. With `bn.batch_weights` the model takes `[images, example_weights]`. Every kernel
initializer is seeded from the run seed and the layer's index only, so the BN and the non-BN network of one seed
start from the same weights.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import keras
import numpy as np

from bn_mnist.core.config import BNConfig, ModelConfig
from bn_mnist.core.nets import naming, norms

IMAGE_SHAPE = (28, 28, 1)  # MNIST, NHWC
FC_UNITS = (100, 100, 100)  # the BN paper's MNIST net
CONV_LAYERS = 19  # the Solutions code builds 19 (its text says 20)
CONV_DENSE_UNITS = 100
LOGITS_INDEX = 99  # the output layer's index in its seed


def layer_seed(seed: int, index: int) -> int:
    """A layer's own seed, from the run's seed and the layer's index: the same in the BN and the non-BN network."""
    return seed * 1000 + index


def kernel_initializer(
    model: ModelConfig, seed: int, index: int, dense: bool = False
) -> keras.initializers.Initializer:
    """A fresh initializer per layer, seeded by (run seed, layer index) so both networks draw the same kernels;
    a dense layer follows `model.dense_init` when it is set."""
    own = layer_seed(seed, index)
    init = model.dense_init if dense and model.dense_init is not None else model.weight_init
    if init == "normal":
        return keras.initializers.RandomNormal(stddev=model.init_std, seed=own)
    if init == "truncated_normal":
        return keras.initializers.TruncatedNormal(stddev=model.init_std, seed=own)
    if init == "he_normal":
        return keras.initializers.HeNormal(seed=own)
    if init == "lecun_normal":
        return keras.initializers.LecunNormal(seed=own)
    if init == "lsuv":  # orthogonal here; nets/lsuv.py scales each layer on a batch before step 0
        return keras.initializers.Orthogonal(seed=own)
    return keras.initializers.GlorotUniform(seed=own)


def layer_index(name: str) -> int:
    """The index in a weighted layer's name (`naming.py`): dense3 -> 3, conv7 -> 7, logits -> LOGITS_INDEX."""
    return LOGITS_INDEX if name == "logits" else int(name.removeprefix("dense").removeprefix("conv"))


def reinitialize(net: keras.Model, model: ModelConfig, seed: int) -> None:
    """Give a built network the kernels and random states a new build for `seed` and `model`'s initializers would
    have, by assignment (its traced functions stay valid); its other variables are the caller's to restore."""
    for layer in naming.weighted_layers(net):
        init = kernel_initializer(model, seed, layer_index(layer.name), dense=isinstance(layer, keras.layers.Dense))
        layer.kernel_initializer = init  # what model.keras records
        layer.kernel.assign(init(layer.kernel.shape, dtype=layer.kernel.dtype))
    for layer in net.layers:
        if isinstance(layer, keras.layers.Dropout):
            attribute = "seed"
        elif hasattr(layer, "noise_seed"):  # this project's BN (nets/bn.py), which records it without noise too
            attribute = "noise_seed"
        else:
            continue
        own = layer_seed(seed, layer_index(layer.name.split("_", 1)[1]))  # drop_dense2, bn_conv5: their layer's
        setattr(layer, attribute, own)  # what model.keras records
        generator = getattr(layer, "seed_generator", None) or getattr(layer, "noise_generator", None)
        if generator is not None:
            generator.state.assign(np.array([own, 0], generator.state.dtype))


def has_bias(bn: BNConfig, pixels: int) -> bool:
    """A layer keeps its bias when it is not normalized, and when normalized only if `bn.use_bias` asks for the
    redundant one. `pixels`: of each of its output channels (1 for a dense layer)."""
    return not norms.normalizes(bn, pixels) or bn.use_bias


def conv_pixels(x, index: int) -> int:
    """The pixels per channel of conv `index`'s output ('same' padding: stride 2 halves, rounding up)."""
    height, width = int(x.shape[1]), int(x.shape[2])
    stride = 2 if index % 3 == 0 else 1
    return -(-height // stride) * -(-width // stride)


def normalize_and_activate(x, bn: BNConfig, activation: str, name: str, weights=None, seed: int = 0):
    """The normalization then the activation (the tutorial's order), or the activation then the normalization
    (`after_activation`); `seed` seeds BN's noise, if any."""
    activate = keras.layers.Activation(activation, name=naming.activation_name(name))
    pixels = int(x.shape[1]) * int(x.shape[2]) if len(x.shape) == 4 else 1
    if not norms.normalizes(bn, pixels):
        return activate(x)
    normalize = norms.normalization(bn, name, int(x.shape[-1]), seed)

    def normalized(y):
        return normalize(y if weights is None else [y, weights])

    if bn.placement == "after_activation":
        return normalized(activate(x))
    return activate(normalized(x))


def hidden_dense(x, units: int, model: ModelConfig, bn: BNConfig, seed: int, index: int, weights=None):
    """Dense -> BN -> activation (or another order); the bias is dropped under BN, whose beta replaces it."""
    x = norms.dense_layer(bn)(
        units,
        use_bias=has_bias(bn, pixels=1),
        kernel_initializer=kernel_initializer(model, seed, index, dense=True),
        name=f"dense{index}",
    )(x)
    return normalize_and_activate(x, bn, model.activation, f"dense{index}", weights, layer_seed(seed, index))


def conv_block(x, index: int, model: ModelConfig, bn: BNConfig, seed: int, weights=None):
    """Conv 3x3 with 4*i filters, stride 2 when i % 3 == 0, 'same' padding -> BN -> activation (or another order)."""
    x = norms.conv_layer(bn)(
        4 * index,
        3,
        strides=2 if index % 3 == 0 else 1,
        padding="same",
        use_bias=has_bias(bn, conv_pixels(x, index)),
        kernel_initializer=kernel_initializer(model, seed, index),
        name=f"conv{index}",
    )(x)
    return normalize_and_activate(x, bn, model.activation, f"conv{index}", weights, layer_seed(seed, index))


def dropped(x, model: ModelConfig, seed: int, layer: str, index: int, last: bool):
    """A hidden layer's output through dropout, where `model.dropout_at` puts it (seeded per layer, as its kernel)."""
    if model.dropout == 0 or (model.dropout_at == "last_hidden" and not last):
        return x
    return keras.layers.Dropout(model.dropout, seed=layer_seed(seed, index), name=naming.dropout_name(layer))(x)


@contextlib.contextmanager
def dtype_policy(precision: str) -> Iterator[None]:
    """Layers made inside take `precision` as their Keras dtype policy; the global policy is restored after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def build_model(model: ModelConfig, bn: BNConfig, seed: int, distributed: bool = False) -> keras.Model:
    """Build the config's network on (28, 28, 1) images; it outputs 10 logits (in float32 under a mixed precision
    policy, as Keras' guide advises for the loss). `distributed`: the model will train under a tf.distribute
    strategy, where `bn.sync` applies (on one device there is nothing to synchronise). In float32 the layers take
    the global dtype policy (a test's float64 too)."""
    if model.precision == "float32":
        return network(model, bn, seed, distributed)
    with dtype_policy(model.precision):
        return network(model, bn, seed, distributed)


def network(model: ModelConfig, bn: BNConfig, seed: int, distributed: bool) -> keras.Model:
    bn = dataclasses.replace(bn, sync=bn.sync and distributed)
    images = keras.Input(IMAGE_SHAPE, name="images")
    weights = keras.Input((), name="example_weights") if uses_example_weights(bn) else None  # (B,)
    if model.arch == "fc":
        x = keras.layers.Flatten(name="flatten")(images)  # (B, 784)
        for index, units in enumerate(FC_UNITS, start=1):
            x = hidden_dense(x, units, model, bn, seed, index, weights)
            x = dropped(x, model, seed, f"dense{index}", index, last=index == len(FC_UNITS))
    else:
        x = images
        for index in range(1, CONV_LAYERS + 1):
            x = conv_block(x, index, model, bn, seed, weights)
            x = dropped(x, model, seed, f"conv{index}", index, last=False)
        x = keras.layers.Flatten(name="flatten")(x)  # (B, 4 * 4 * 76)
        x = hidden_dense(x, CONV_DENSE_UNITS, model, bn, seed, CONV_LAYERS + 1, weights)
        x = dropped(x, model, seed, f"dense{CONV_LAYERS + 1}", CONV_LAYERS + 1, last=True)
    init = kernel_initializer(model, seed, LOGITS_INDEX, dense=True)
    logits_dtype = None if model.precision == "float32" else "float32"  # a mixed policy's output stays float32
    logits = keras.layers.Dense(10, kernel_initializer=init, name="logits", dtype=logits_dtype)(x)
    name = f"{model.arch}_{(bn.kind if bn.kind != 'batch' else 'bn') if bn.enabled else 'no_bn'}"
    return keras.Model(images if weights is None else [images, weights], logits, name=name)


def uses_example_weights(bn: BNConfig) -> bool:
    """Weighted batch statistics need each example's weight as a second model input."""
    return bn.enabled and bn.kind == "batch" and bn.batch_weights != "none"
