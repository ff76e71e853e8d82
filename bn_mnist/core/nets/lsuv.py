"""Layer-sequential unit-variance initialisation (Mishkin & Matas 2016, Algorithm 1).

The kernels start orthogonal (`model.weight_init: lsuv`); then, input side first, each weighted layer's kernel is
divided by the SD of that layer's output on one calibration batch, until the output variance is within TOLERANCE
of 1 (at most MAX_ITERATIONS times). The batch is the first BATCH training images in their stored order, the same
for every seed and arm, so every arm that uses LSUV starts from the same weights for a seed. Runs once, before
step 0; biases stay zero.
"""

from __future__ import annotations

import keras
import numpy as np

from bn_mnist.core.nets import naming

BATCH = 256  # calibration images: the first 256 of the training set
TOLERANCE = 0.05  # |output variance - 1| at which a layer is done (the paper uses 0.1)
MAX_ITERATIONS = 10  # the paper's T_max


def initialize(model: keras.Model, images: np.ndarray) -> dict[str, float]:
    """Scale each weighted layer to unit output variance on `images`; returns each layer's final variance."""
    layers = naming.weighted_layers(model)
    probe = keras.Model(model.inputs, [layer.output for layer in layers])  # pre-normalization, pre-activation
    inputs = [images, np.ones(len(images), np.float32)][: len(model.inputs)]  # unit weights for weighted batch norm
    variances = {}
    for index, layer in enumerate(layers):
        for _ in range(MAX_ITERATIONS):
            variance = float(np.var(np.asarray(probe(inputs, training=False)[index])))
            if abs(variance - 1) < TOLERANCE or variance == 0:  # done, or a dead layer no scale can help
                break
            layer.kernel.assign(layer.kernel / np.sqrt(variance))
        variances[layer.name] = float(np.var(np.asarray(probe(inputs, training=False)[index])))
    return variances
