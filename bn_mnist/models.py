"""The tutorial's two networks, with or without batch normalization.

Without BN a hidden layer is `layer(bias) -> activation`; with BN it is `layer(no bias) -> BN -> activation`
(tutorial-facts §2, §3). The output layer never has BN. Every kernel initializer is seeded from the run seed and
the layer's index only, so the BN and the non-BN network of one seed start from the same weights.
"""

from __future__ import annotations

import keras

from bn_mnist.config import BNConfig, ModelConfig

FC_UNITS = (100, 100, 100)  # the BN paper's MNIST net
CONV_LAYERS = 19  # the Solutions code builds 19 (its text says 20)
CONV_DENSE_UNITS = 100


def kernel_initializer(model: ModelConfig, seed: int, index: int) -> keras.initializers.Initializer:
    """A fresh initializer per layer, seeded by (run seed, layer index) so both networks draw the same kernels."""
    layer_seed = seed * 1000 + index
    if model.weight_init == "normal":
        return keras.initializers.RandomNormal(stddev=model.init_std, seed=layer_seed)
    if model.weight_init == "truncated_normal":
        return keras.initializers.TruncatedNormal(stddev=model.init_std, seed=layer_seed)
    return keras.initializers.GlorotUniform(seed=layer_seed)


def normalize_and_activate(x, bn: BNConfig, activation: str, name: str):
    """BN (when enabled) then the activation: the tutorial puts BN before the non-linearity."""
    if bn.enabled:
        x = keras.layers.BatchNormalization(
            momentum=bn.momentum, epsilon=bn.epsilon, center=bn.center, scale=bn.scale, name=f"bn_{name}"
        )(x)
    return keras.layers.Activation(activation, name=f"act_{name}")(x)


def hidden_dense(x, units: int, model: ModelConfig, bn: BNConfig, seed: int, index: int):
    """Dense -> [BN] -> activation; the bias is dropped under BN, whose beta replaces it."""
    x = keras.layers.Dense(
        units, use_bias=not bn.enabled, kernel_initializer=kernel_initializer(model, seed, index), name=f"dense{index}"
    )(x)
    return normalize_and_activate(x, bn, model.activation, f"dense{index}")


def conv_block(x, index: int, model: ModelConfig, bn: BNConfig, seed: int):
    """Conv 3x3 with 4*i filters, stride 2 when i % 3 == 0, 'same' padding -> [BN] -> activation."""
    x = keras.layers.Conv2D(
        4 * index,
        3,
        strides=2 if index % 3 == 0 else 1,
        padding="same",
        use_bias=not bn.enabled,
        kernel_initializer=kernel_initializer(model, seed, index),
        name=f"conv{index}",
    )(x)
    return normalize_and_activate(x, bn, model.activation, f"conv{index}")


def build_model(model: ModelConfig, bn: BNConfig, seed: int) -> keras.Model:
    """Build the config's network on (28, 28, 1) images; it outputs 10 logits."""
    images = keras.Input((28, 28, 1), name="images")
    if model.arch == "fc":
        x = keras.layers.Flatten(name="flatten")(images)  # (B, 784)
        for index, units in enumerate(FC_UNITS, start=1):
            x = hidden_dense(x, units, model, bn, seed, index)
    else:
        x = images
        for index in range(1, CONV_LAYERS + 1):
            x = conv_block(x, index, model, bn, seed)  # (B, 4, 4, 76) after the 19th
        x = keras.layers.Flatten(name="flatten")(x)
        x = hidden_dense(x, CONV_DENSE_UNITS, model, bn, seed, CONV_LAYERS + 1)
    logits = keras.layers.Dense(10, kernel_initializer=kernel_initializer(model, seed, 99), name="logits")(x)
    name = f"{model.arch}_{'bn' if bn.enabled else 'no_bn'}"
    return keras.Model(images, logits, name=name)
