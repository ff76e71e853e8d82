"""Inside the network at every evaluation point: what each layer receives, holds and learns.

Per layer: histograms of the activation's input on a fixed validation batch (the BN paper's percentile plot,
generalised to every layer), of the kernel, and of BN's gamma, beta, moving mean and moving variance; scalars of the
kernel's norm, its gradient's norm, the mean and standard deviation of the layer's output and the fraction of dead
ReLUs among the units that receive a signal. These show why the 19-layer conv net without BN does not learn in 800
steps. Everything comes from one training-mode forward and backward pass on the fixed batch (what a training step
computes: BN normalises with the batch's statistics), taken through `stateless_call`, so measuring never changes
training: no BN statistic, weight or optimizer slot moves.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from bn_mnist.core.nets import naming
from bn_mnist.core.tensorboard import tags
from bn_mnist.core.training.measurement import Context, Measured


class Inspector:
    """Measures one model at each evaluation point (a `Measurement`) on the fixed batch of the first
    `tags.INSPECT_BATCH` validation images; built on its first call, its traced function serves every later run of
    the same network (`warm.Entry`)."""

    wants_test_accuracy = False

    def __init__(self) -> None:
        self._measure = None

    def _build(self, context: Context) -> None:
        model = self.model = context.model
        self.loss = context.loss
        self.layers = naming.weighted_layers(model)
        self.activated = [layer.name for layer in self.layers if naming.activation_of(model, layer.name)]  # no logits
        activations = [naming.activation_of(model, name) for name in self.activated]
        self.inside = keras.Model(  # the same layers and variables as the model, more outputs
            model.inputs, [model.output, [act.input for act in activations], [act.output for act in activations]]
        )
        self.relu = context.activation == "relu"
        trainable = self.inside.trainable_variables
        self.kernel_index = [next(i for i, v in enumerate(trainable) if v is layer.kernel) for layer in self.layers]
        self._measure = tf.function(self._measure_fn, autograph=False)  # no Python control flow on tensors

    def _measure_fn(self, inputs, labels):
        trainable = [variable.value for variable in self.inside.trainable_variables]
        non_trainable = [variable.value for variable in self.inside.non_trainable_variables]
        with tf.GradientTape() as tape:
            tape.watch(trainable)
            # stateless: BN's updated moving statistics come back as values and are dropped, never assigned
            (logits, preactivations, activations), _ = self.inside.stateless_call(
                trainable, non_trainable, inputs, training=True
            )
            loss = self.loss(labels, logits)
        gradients = tape.gradient(loss, [trainable[i] for i in self.kernel_index])
        dead = [dead_fraction(*pair) for pair in zip(preactivations, activations)] if self.relu else []
        moments = [tf.nn.moments(output, axes=list(range(output.shape.rank))) for output in [*activations, logits]]
        kernels = [tf.convert_to_tensor(layer.kernel) for layer in self.layers]
        return {
            "preactivations": preactivations,
            "dead": dead,
            "gradient_norms": [tf.norm(gradient) for gradient in gradients],
            "means": [mean for mean, _ in moments],
            "stds": [tf.sqrt(variance) for _, variance in moments],
            "kernels": kernels,
            "kernel_norms": [tf.norm(kernel) for kernel in kernels],
            "statistics": {tag: tf.convert_to_tensor(value) for tag, value in bn_statistics(self.model).items()},
        }

    def __call__(self, context: Context) -> Measured:
        if self._measure is None:
            self._build(context)
        batch = context.validation_batch(tags.INSPECT_BATCH)  # this run's: its data may be prepared otherwise
        out = tf.nest.map_structure(np.asarray, self._measure(batch.inputs, batch.labels))  # one call, one copy each
        scalars, histograms = {}, {}
        for name, mean, std in zip([*self.activated, "logits"], out["means"], out["stds"]):
            scalars[tags.per_layer(tags.ACTIVATION_MEAN, name)] = float(mean)
            scalars[tags.per_layer(tags.ACTIVATION_STD, name)] = float(std)
        for layer, kernel, norm, gradient_norm in zip(
            self.layers, out["kernels"], out["kernel_norms"], out["gradient_norms"]
        ):
            scalars[tags.per_layer(tags.WEIGHT_NORM, layer.name)] = float(norm)
            scalars[tags.per_layer(tags.GRADIENT_NORM, layer.name)] = float(gradient_norm)
            histograms[tags.per_layer(tags.WEIGHTS, layer.name)] = kernel
        for name, values in zip(self.activated, out["preactivations"]):
            histograms[tags.per_layer(tags.PREACTIVATION, name)] = values
        for name, fraction in zip(self.activated, out["dead"]):  # none unless the activation is ReLU
            scalars[tags.per_layer(tags.DEAD_RELU, name)] = float(fraction)
        histograms.update(out["statistics"])
        return Measured(scalars, histograms)


def dead_fraction(preactivation: tf.Tensor, relu_output: tf.Tensor) -> tf.Tensor:
    """Fraction of the units that receive a signal (every position of every channel whose pre-activation varies over
    the batch) that output 0 for every example. A unit whose input is the same for every image, as where MNIST's
    blank border fills its receptive field, gets a constant pre-activation: it is not counted, dead or alive."""
    varies = tf.reduce_max(preactivation, axis=0) > tf.reduce_min(preactivation, axis=0)  # (units...)
    dead = tf.logical_and(varies, tf.logical_not(tf.reduce_any(relu_output > 0, axis=0)))
    receiving = tf.reduce_sum(tf.cast(varies, tf.float32))
    return tf.reduce_sum(tf.cast(dead, tf.float32)) / tf.maximum(receiving, 1.0)


def bn_statistics(model: keras.Model) -> dict[str, keras.Variable]:
    """gamma, beta, moving mean and moving variance of every BN layer that has them (gamma and beta of the other
    normalizations), by their histogram tags."""
    return {
        tags.bn_tag(statistic, name): getattr(layer, statistic)
        for name, layer in naming.normalization_layers(model).items()
        for statistic in tags.BN_STATISTICS
        if getattr(layer, statistic, None) is not None
    }
