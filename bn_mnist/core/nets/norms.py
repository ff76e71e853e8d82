"""The normalization a hidden layer gets (`bn.kind`), and weight standardization.

Wu & He (2018) put them in one frame: each normalizes x by the mean and variance over a set of axes, then scales
and shifts per channel. Batch norm: over the batch and the pixels (nets/bn.py). The others use one example alone,
so training and inference compute the same thing: layer norm over all of a layer's channels and pixels (Ba et al.
2016; group norm with one group, which keeps Wu & He's per-channel scale and shift where
keras.layers.LayerNormalization over (H, W, C) would learn one per pixel), group norm over groups of channels and
the pixels, instance norm over each channel's pixels (one channel per group; none where a channel has one pixel).
`ws_group` standardizes each conv and dense kernel per output channel before use and adds group norm (Qiao et al.
2019).
"""

from __future__ import annotations

import keras
from keras import ops

from bn_mnist.core.config import BNConfig
from bn_mnist.core.errors import ConfigError
from bn_mnist.core.nets import naming
from bn_mnist.core.nets.bn import batch_norm

WS_EPSILON = 1e-5  # added to a kernel's variance before standardizing it (Qiao et al.'s code)


def normalizes(bn: BNConfig, pixels: int) -> bool:
    """Whether a hidden layer gets a normalization: instance norm has none where a channel holds one value (a dense
    unit, or a 1x1 feature map: conv15-conv19 here), since it would replace every input by beta."""
    return bn.enabled and not (bn.kind == "instance" and pixels == 1)


def groups_of(bn: BNConfig, layer: str, channels: int) -> int:
    """The groups a batch-independent kind splits `channels` into; a ConfigError when bn.groups does not divide
    them."""
    groups = {"layer": 1, "instance": channels}.get(bn.kind, bn.groups)
    if channels % groups:
        raise ConfigError(
            f"bn.groups = {groups} does not divide the {channels} channels of {layer}: choose a divisor of every "
            "layer's channels (4i filters for conv i, 100 units for a dense layer)"
        )
    return groups


def normalization(bn: BNConfig, layer: str, channels: int, seed: int = 0) -> keras.layers.Layer:
    """The layer that normalizes `layer`'s output: named bn_<layer> for batch norm, norm_<layer> for the others
    (`seed`: batch norm's noise, when it has any)."""
    if bn.kind == "batch":
        return batch_norm(bn, naming.bn_name(layer), seed)
    return keras.layers.GroupNormalization(
        groups=groups_of(bn, layer, channels),
        epsilon=bn.epsilon,
        center=bn.center,
        scale=bn.scale,
        name=naming.norm_name(layer),
    )


def standardized(kernel):
    """A kernel with zero mean and unit variance per output channel (over every axis but the last)."""
    axes = tuple(range(len(kernel.shape) - 1))
    mean = ops.mean(kernel, axis=axes, keepdims=True)
    variance = ops.var(kernel, axis=axes, keepdims=True)
    return (kernel - mean) / ops.sqrt(variance + WS_EPSILON)


@keras.saving.register_keras_serializable(package="bn_mnist")
class StandardizedConv2D(keras.layers.Conv2D):
    """Conv2D with a weight-standardized kernel (the stored kernel is free; the standardized one is used)."""

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, standardized(kernel))


@keras.saving.register_keras_serializable(package="bn_mnist")
class StandardizedDense(keras.layers.Dense):
    """Dense with a weight-standardized kernel."""

    def call(self, inputs, training=None):
        x = ops.matmul(inputs, standardized(self.kernel))
        if self.bias is not None:
            x = ops.add(x, self.bias)
        return x if self.activation is None else self.activation(x)


def conv_layer(bn: BNConfig) -> type[keras.layers.Conv2D]:
    return StandardizedConv2D if bn.enabled and bn.kind == "ws_group" else keras.layers.Conv2D


def dense_layer(bn: BNConfig) -> type[keras.layers.Dense]:
    return StandardizedDense if bn.enabled and bn.kind == "ws_group" else keras.layers.Dense
