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

from bn_mnist.explain import measures
from bn_mnist.tensorboard import tags
from bn_mnist.tensorboard.inspection import WEIGHTED_LAYERS
from bn_mnist.training.engine import Engine

STEP_MULTIPLES = (0.5, 1.0, 2.0, 4.0)  # step sizes along the gradient, in units of the learning rate
LOSS = "landscape/loss"
LOSS_RANGE = "landscape/loss_range"
GRADIENT_CHANGE = "landscape/gradient_change"
BETA = "landscape/beta_smoothness"
ICS_L2 = "ics_l2"  # per layer: ics_l2/dense01 ...
ICS_COSINE = "ics_cosine"


def layer_parameters(model: keras.Model) -> tuple[list[list[int]], list[int], list[str]]:
    """Per weighted layer, input side first: the indices (in model.trainable_variables) of its parameters, its BN's
    included; the index of its kernel; its name."""
    index = {id(variable): i for i, variable in enumerate(model.trainable_variables)}
    groups, kernels, names = [], [], []
    for layer in model.layers:
        if not isinstance(layer, WEIGHTED_LAYERS):
            continue
        owned = list(layer.trainable_weights)
        if f"bn_{layer.name}" in {other.name for other in model.layers}:
            owned += model.get_layer(f"bn_{layer.name}").trainable_weights
        groups.append([index[id(variable)] for variable in owned])
        kernels.append(index[id(layer.kernel)])
        names.append(layer.name)
    return groups, kernels, names


class SmoothnessProbe:
    """Santurkar et al.'s landscape measures and internal covariate shift, per evaluation point (see the module)."""

    def __init__(self) -> None:
        self._measure = None

    def _build(self, engine: Engine) -> None:
        model = engine.model
        batch = engine.order[0]  # (B,) the run's first training batch, fixed for the whole run
        labels = tf.gather(engine.labels, batch)
        inputs = engine.model_inputs(tf.gather(engine.images, batch), labels)
        learning_rate = float(engine.optimizer.learning_rate)
        groups, kernels, self.names = layer_parameters(model)

        def loss_and_gradients(trainable: measures.Tensors) -> tuple[tf.Tensor, measures.Tensors]:
            non_trainable = [variable.value for variable in model.non_trainable_variables]
            with tf.GradientTape() as tape:
                tape.watch(trainable)
                logits, _ = model.stateless_call(trainable, non_trainable, inputs, training=True)  # updates dropped
                loss = engine.loss(labels, logits)
            return loss, tape.gradient(loss, trainable)

        def measure():
            parameters = [variable.value for variable in model.trainable_variables]
            steps = [multiple * learning_rate for multiple in STEP_MULTIPLES]
            found = measures.landscape(loss_and_gradients, parameters, steps)
            shift = measures.covariate_shift(loss_and_gradients, parameters, groups, kernels, learning_rate)
            return found, shift

        self._measure = tf.function(measure)

    def __call__(self, engine: Engine) -> dict[str, float]:
        if self._measure is None:
            self._build(engine)
        found, shift = self._measure()
        values = {
            LOSS: float(found.loss),
            LOSS_RANGE: float(found.loss_range),
            GRADIENT_CHANGE: float(found.gradient_change),
            BETA: float(found.beta_smoothness),
        }
        for name, l2, cosine in zip(self.names, shift.l2, shift.cosine):
            values[tags.per_layer(ICS_L2, name)] = float(l2)
            values[tags.per_layer(ICS_COSINE, name)] = float(cosine)
        return values
