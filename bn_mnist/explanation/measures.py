"""Santurkar et al. (2018)'s measurements of the optimization landscape, on any differentiable loss.

`landscape` (their §3.1, Figure 4): from parameters θ with gradient g, step along -g by each step size η and record
the spread of the loss L(θ - ηg) over the steps ("loss landscape"), the largest change of the gradient
‖∇L(θ - ηg) - g‖ ("gradient predictiveness") and the largest change of the gradient per distance moved,
‖∇L(θ - ηg) - g‖ / ‖ηg‖ ("effective β-smoothness"). `covariate_shift` (their Definition 2.1): per layer i, the
gradient G of layer i's kernel and the gradient G' after the layers before i took their update on the same batch;
internal covariate shift is ‖G - G'‖ (their l2 difference), with the cosine of the angle between G and G'.

Both take a `loss_and_gradients(parameters) -> (loss, gradients)` function, so the tests run them on losses whose
answers are known (a quadratic, a two-layer linear net) and the probes on the network, statelessly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import tensorflow as tf

Tensors = list[tf.Tensor]
LossAndGradients = Callable[[Tensors], tuple[tf.Tensor, Tensors]]


def norm(tensors: Sequence[tf.Tensor]) -> tf.Tensor:
    """The l2 norm of all the tensors as one vector."""
    return tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(t)) for t in tensors]))


def difference(a: Sequence[tf.Tensor], b: Sequence[tf.Tensor]) -> Tensors:
    return [x - y for x, y in zip(a, b)]


class Landscape(NamedTuple):
    """What the loss and its gradient do along the gradient direction, from one point (a NamedTuple: a
    tf.function can return it)."""

    loss: tf.Tensor  # L(θ)
    loss_range: tf.Tensor  # max - min of L(θ - ηg) over the step sizes
    gradient_change: tf.Tensor  # max over η of ‖∇L(θ - ηg) - g‖
    beta_smoothness: tf.Tensor  # max over η of ‖∇L(θ - ηg) - g‖ / ‖ηg‖


def landscape(loss_and_gradients: LossAndGradients, parameters: Tensors, step_sizes: Sequence[float]) -> Landscape:
    """Move from `parameters` along the negative gradient by each step size; see the module's docstring."""
    loss, gradients = loss_and_gradients(parameters)
    gradient_norm = norm(gradients)
    losses, changes, ratios = [], [], []
    for step in step_sizes:
        moved_loss, moved_gradients = loss_and_gradients([p - step * g for p, g in zip(parameters, gradients)])
        change = norm(difference(moved_gradients, gradients))
        losses.append(moved_loss)
        changes.append(change)
        ratios.append(tf.math.divide_no_nan(change, step * gradient_norm))
    losses = tf.stack(losses)
    return Landscape(loss, tf.reduce_max(losses) - tf.reduce_min(losses), tf.reduce_max(changes), tf.reduce_max(ratios))


class CovariateShift(NamedTuple):
    """Per layer: ‖G - G'‖ and cos(G, G') of the layer's kernel gradient (see the module's docstring)."""

    l2: Tensors
    cosine: Tensors


def covariate_shift(
    loss_and_gradients: LossAndGradients,
    parameters: Tensors,
    layers: Sequence[Sequence[int]],
    kernels: Sequence[int],
    learning_rate: float,
) -> CovariateShift:
    """`layers[i]`: the indices of layer i's parameters (input side first); `kernels[i]`: the index of the one whose
    gradient is compared. The update of the earlier layers is gradient descent's, θ - learning_rate · g."""
    _, gradients = loss_and_gradients(parameters)
    l2, cosine = [], []
    for i, kernel in enumerate(kernels):
        earlier = {index for layer in layers[:i] for index in layer}
        updated = [p - learning_rate * g if j in earlier else p for j, (p, g) in enumerate(zip(parameters, gradients))]
        _, shifted = loss_and_gradients(updated)
        before, after = gradients[kernel], shifted[kernel]
        l2.append(tf.norm(before - after))
        cosine.append(tf.math.divide_no_nan(tf.reduce_sum(before * after), tf.norm(before) * tf.norm(after)))
    return CovariateShift(l2, cosine)
