"""The landscape and internal-covariate-shift probe of `explain`'s smoothness runs (studies 4 and 5).

At every evaluation point of a run it measures, on the run's first training batch, `measures.landscape` and
`measures.covariate_shift` of the network as it stands. The loss is a training-mode call (BN normalises with the
batch's statistics, as the step that trains does) through `stateless_call`: BN's updated moving statistics come back
as values and are dropped, and no variable or optimizer slot is assigned, so the run trains exactly as without it
(tested). Step sizes are multiples of the run's learning rate, from half a training step to four.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from bn_mnist.explanation import measures
from bn_mnist.explanation.studies import STEP_MULTIPLES
from bn_mnist.nets import naming
from bn_mnist.tensorboard import tags
from bn_mnist.training.measurement import Context, Measured


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


class SmoothnessProbe:
    """Santurkar et al.'s landscape measures and internal covariate shift, per evaluation point (a `Measurement`;
    see the module)."""

    wants_test_accuracy = False

    def __init__(self) -> None:
        self._measure = None

    def _build(self, context: Context) -> None:
        model, batch, learning_rate = context.model, context.first_batch, context.learning_rate
        groups, kernels, self.names = layer_parameters(model)

        def loss_and_gradients(trainable: measures.Tensors) -> tuple[tf.Tensor, measures.Tensors]:
            non_trainable = [variable.value for variable in model.non_trainable_variables]
            with tf.GradientTape() as tape:
                tape.watch(trainable)
                logits, _ = model.stateless_call(
                    trainable, non_trainable, batch.inputs, training=True
                )  # updates dropped
                loss = context.loss(batch.labels, logits)
            return loss, tape.gradient(loss, trainable)

        def measure():
            parameters = [variable.value for variable in model.trainable_variables]
            steps = [multiple * learning_rate for multiple in STEP_MULTIPLES]
            found = measures.landscape(loss_and_gradients, parameters, steps)
            shift = measures.covariate_shift(loss_and_gradients, parameters, groups, kernels, learning_rate)
            return found, shift

        self._measure = tf.function(measure)

    def __call__(self, context: Context) -> Measured:
        if self._measure is None:
            self._build(context)
        found, shift = self._measure()
        values = {
            tags.LOSS: float(found.loss),
            tags.LOSS_RANGE: float(found.loss_range),
            tags.GRADIENT_CHANGE: float(found.gradient_change),
            tags.BETA: float(found.beta_smoothness),
        }
        for name, l2, cosine in zip(self.names, shift.l2, shift.cosine):
            values[tags.per_layer(tags.ICS_L2, name)] = float(l2)
            values[tags.per_layer(tags.ICS_COSINE, name)] = float(cosine)
        return Measured(values)
