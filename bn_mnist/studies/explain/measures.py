"""Santurkar et al. (2018)'s measurements of the optimization landscape, on any differentiable loss.

`landscape` (their §3.1, Figure 4): from parameters θ with gradient g, step along -g by each distance d (‖Δθ‖ = d,
the same for every network compared, so that a net whose gradient is smaller is not judged smoother for moving less)
and record the spread of the loss over the steps ("loss landscape"), the largest change of the gradient
‖∇L(θ') - g‖ ("gradient predictiveness") and the largest change per distance moved ("effective β-smoothness"), with
‖g‖. `relative_landscape` is its scale-invariant variant: each kernel moves by a fraction of its own norm along its
own gradient, and the gradient change is taken per kernel relative to its gradient; a layer BN makes invariant to its
kernel's scale then measures the same whatever that scale. `covariate_shift` (their Definition 2.1): per layer i,
the gradient G of layer i's kernel and the gradient G' after the layers before i took their update on the same
batch; internal covariate shift is ‖G - G'‖ (their l2 difference), with the cosine of the angle between G and G'.

All take a `loss_and_gradients(parameters) -> (loss, gradients)` function, so the tests run them on losses whose
answers are known (a quadratic, a scale-invariant loss, a two-layer linear net) and the probes on the network,
statelessly.
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


class Landscape(NamedTuple):
    """What the loss and its gradient do along the gradient direction, from one point (a NamedTuple: a
    tf.function can return it)."""

    loss: tf.Tensor  # L(θ)
    loss_range: tf.Tensor  # max - min of L(θ') over the steps
    gradient_change: tf.Tensor  # max over the steps of ‖∇L(θ') - g‖
    beta_smoothness: tf.Tensor  # max over the steps of ‖∇L(θ') - g‖ / ‖θ' - θ‖
    gradient_norm: tf.Tensor  # ‖g‖


class RelativeLandscape(NamedTuple):
    """The scale-invariant variant (`relative_landscape`)."""

    loss_range: tf.Tensor  # max - min of L(θ') over the fractions
    gradient_change: tf.Tensor  # max over the fractions and kernels of ‖∇_k L(θ') - g_k‖ / ‖g_k‖


def landscape(loss_and_gradients: LossAndGradients, parameters: Tensors, distances: Sequence[float]) -> Landscape:
    """Move from `parameters` along the negative gradient by each distance; see the module's docstring."""
    loss, gradients = loss_and_gradients(parameters)
    gradient_norm = norm(gradients)
    losses, changes, ratios = [], [], []
    for distance in distances:
        step = tf.math.divide_no_nan(tf.constant(distance, gradient_norm.dtype), gradient_norm)
        moved_loss, moved_gradients = loss_and_gradients([p - step * g for p, g in zip(parameters, gradients)])
        change = norm([moved - g for moved, g in zip(moved_gradients, gradients)])
        losses.append(moved_loss)
        changes.append(change)
        ratios.append(change / distance)
    losses = tf.stack(losses)
    return Landscape(
        loss,
        tf.reduce_max(losses) - tf.reduce_min(losses),
        tf.reduce_max(changes),
        tf.reduce_max(ratios),
        gradient_norm,
    )


def relative_landscape(
    loss_and_gradients: LossAndGradients, parameters: Tensors, kernels: Sequence[int], fractions: Sequence[float]
) -> RelativeLandscape:
    """Move each kernel (the parameters at `kernels`; the rest stay) along its own negative gradient by each fraction
    of its own norm, and record the loss range and the largest relative change of a kernel's gradient,
    ‖∇_k L(θ') - g_k‖ / ‖g_k‖; see the module's docstring."""
    _, gradients = loss_and_gradients(parameters)
    directions = {
        k: tf.math.divide_no_nan(gradients[k], tf.norm(gradients[k])) * tf.norm(parameters[k]) for k in kernels
    }
    losses, changes = [], []
    for fraction in fractions:
        moved = [p - fraction * directions[i] if i in directions else p for i, p in enumerate(parameters)]
        moved_loss, moved_gradients = loss_and_gradients(moved)
        relative = [
            tf.math.divide_no_nan(tf.norm(moved_gradients[k] - gradients[k]), tf.norm(gradients[k])) for k in kernels
        ]
        losses.append(moved_loss)
        changes.append(tf.reduce_max(tf.stack(relative)))
    losses = tf.stack(losses)
    return RelativeLandscape(tf.reduce_max(losses) - tf.reduce_min(losses), tf.reduce_max(changes))


class CovariateShift(NamedTuple):
    """Per layer: ‖G - G'‖ and cos(G, G') of the layer's kernel gradient (see the module's docstring)."""

    l2: Tensors
    cosine: Tensors


def covariate_shift(
    loss_and_gradients: LossAndGradients,
    parameters: Tensors,
    layers: Sequence[Sequence[int]],
    kernels: Sequence[int],
    learning_rate: float | tf.Tensor,
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
