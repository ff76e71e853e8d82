"""The landscape and internal-covariate-shift probe of `explain`'s smoothness runs (studies 4 and 5).

At every evaluation point of a run it measures the network as it stands, on the training batch the next step trains
on: `measures.landscape` at the same distances for every net, its scale-invariant variant `relative_landscape`, and
`measures.covariate_shift`; and the landscape again on a held-out batch of as many validation images. The loss is a
training-mode call (BN normalises with the batch's statistics, as the step that trains does) through
`stateless_call`: BN's updated moving statistics come back as values and are dropped, and no variable or optimizer
slot is assigned, so the run trains exactly as without it (tested).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from bn_mnist.core import traced
from bn_mnist.core.nets import naming
from bn_mnist.core.tensorboard import tags
from bn_mnist.core.training.measurement import Batch, Context, Measured
from bn_mnist.studies.explain import measures
from bn_mnist.studies.explain.smoothness import KERNEL_FRACTIONS, LANDSCAPE_DISTANCES


def layer_parameters(model: keras.Model) -> tuple[list[list[int]], list[int], list[str]]:
    """Per weighted layer, input side first: the indices (in model.trainable_variables) of its parameters, its BN's
    (or other normalization's) included; the index of its kernel; its name."""
    index = {id(variable): i for i, variable in enumerate(model.trainable_variables)}
    groups, kernels, names = [], [], []
    for layer in naming.weighted_layers(model):
        norm = naming.normalization_of(model, layer.name)
        owned = list(layer.trainable_weights) + (list(norm.trainable_weights) if norm else [])
        groups.append([index[id(variable)] for variable in owned])
        kernels.append(index[id(layer.kernel)])
        names.append(layer.name)
    return groups, kernels, names


def traced_measures(context: Context) -> tuple[Callable, list[str]]:
    """The model's four measures as one traced function of the batch, the held-out batch and the learning rate, and
    its weighted layers' names; traced once per model and kept while it lives (a worker's kept network reuses it)."""
    loss = context.loss

    def make(of: Callable[[], keras.Model]) -> tuple[Callable, list[str]]:
        groups, kernels, names = layer_parameters(of())

        def loss_and_gradients_on(net: keras.Model, inputs, labels) -> measures.LossAndGradients:
            def loss_and_gradients(trainable: measures.Tensors) -> tuple[tf.Tensor, measures.Tensors]:
                non_trainable = [variable.value for variable in net.non_trainable_variables]
                with tf.GradientTape() as tape:
                    tape.watch(trainable)
                    logits, _ = net.stateless_call(trainable, non_trainable, inputs, training=True)  # updates dropped
                    loss_value = loss(labels, logits)
                return loss_value, tape.gradient(loss_value, trainable)

            return loss_and_gradients

        def measure(inputs, labels, held_inputs, held_labels, learning_rate):
            net = of()
            parameters = [variable.value for variable in net.trainable_variables]
            on_batch = loss_and_gradients_on(net, inputs, labels)
            on_held_out = loss_and_gradients_on(net, held_inputs, held_labels)
            return (
                measures.landscape(on_batch, parameters, LANDSCAPE_DISTANCES),
                measures.relative_landscape(on_batch, parameters, kernels, KERNEL_FRACTIONS),
                measures.landscape(on_held_out, parameters, LANDSCAPE_DISTANCES),
                measures.covariate_shift(on_batch, parameters, groups, kernels, learning_rate),
            )

        return tf.function(measure), names

    return traced.for_model(context.model, "smoothness", make)


class SmoothnessProbe:
    """Santurkar et al.'s landscape measures and internal covariate shift, per evaluation point (a `Measurement`;
    see the module)."""

    wants_test_accuracy = False

    def __init__(self) -> None:
        self.held_out: Batch | None = None  # this run's: its data may be prepared otherwise

    def __call__(self, context: Context) -> Measured:
        if self.held_out is None:
            self.held_out = context.validation_batch(int(context.training_batch(0).labels.shape[0]))
        measure, names = traced_measures(context)
        batch, held, rate = context.training_batch(context.step), self.held_out, tf.constant(context.learning_rate)
        found, relative, held_out, shift = measure(batch.inputs, batch.labels, held.inputs, held.labels, rate)
        values = {tags.LOSS: float(found.loss)}
        for variant, landscape in ((tags.LANDSCAPE, found), (tags.HELD_OUT, held_out)):
            values |= {
                tags.landscape_tag(variant, tags.LOSS_RANGE): float(landscape.loss_range),
                tags.landscape_tag(variant, tags.GRADIENT_CHANGE): float(landscape.gradient_change),
                tags.landscape_tag(variant, tags.BETA): float(landscape.beta_smoothness),
                tags.landscape_tag(variant, tags.LOSS_GRADIENT_NORM): float(landscape.gradient_norm),
            }
        values[tags.landscape_tag(tags.RELATIVE, tags.LOSS_RANGE)] = float(relative.loss_range)
        values[tags.landscape_tag(tags.RELATIVE, tags.GRADIENT_CHANGE)] = float(relative.gradient_change)
        for name, l2, cosine in zip(names, shift.l2, shift.cosine):
            values[tags.per_layer(tags.ICS_L2, name)] = float(l2)
            values[tags.per_layer(tags.ICS_COSINE, name)] = float(cosine)
        return Measured(values)
