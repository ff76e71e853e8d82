"""`explain`'s measurements on problems with answers known by hand, and the probe that must not disturb training."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from bn_mnist import runfiles
from bn_mnist.explanation import measures
from bn_mnist.explanation.probes import SmoothnessProbe, layer_parameters
from bn_mnist.nets.models import build_model
from bn_mnist.training import trainer


def quadratic(curvatures: np.ndarray) -> measures.LossAndGradients:
    """L(θ) = ½ Σ a_k θ_k², whose gradient is a·θ and whose β-smoothness is max(a)."""
    a = tf.constant(curvatures)

    def loss_and_gradients(parameters):
        (theta,) = parameters
        return 0.5 * tf.reduce_sum(a * theta**2), [a * theta]

    return loss_and_gradients


def test_landscape_of_an_isotropic_quadratic_is_known_in_closed_form():
    beta, theta, steps = 3.0, np.array([1.0, -2.0, 0.5]), (0.05, 0.1, 0.2)
    found = measures.landscape(quadratic(np.full(3, beta)), [tf.constant(theta)], steps)
    # L(θ - ηβθ) = ½ β (1 - ηβ)² ‖θ‖²; the gradient changes by ηβ‖g‖ with ‖g‖ = β‖θ‖
    moved = [0.5 * beta * (1 - eta * beta) ** 2 * theta @ theta for eta in steps]
    assert float(found.loss) == pytest.approx(0.5 * beta * theta @ theta)
    assert float(found.loss_range) == pytest.approx(max(moved) - min(moved))
    assert float(found.gradient_change) == pytest.approx(max(steps) * beta * beta * np.linalg.norm(theta))
    assert float(found.beta_smoothness) == pytest.approx(beta)


def test_effective_smoothness_is_the_curvature_along_the_gradient_not_the_largest():
    curvatures = np.array([1.0, 10.0])
    along_flat = measures.landscape(quadratic(curvatures), [tf.constant([1.0, 0.0], tf.float64)], (0.1, 0.3))
    along_steep = measures.landscape(quadratic(curvatures), [tf.constant([0.0, 1.0], tf.float64)], (0.01, 0.03))
    assert float(along_flat.beta_smoothness) == pytest.approx(1.0)  # "effective": where training goes
    assert float(along_steep.beta_smoothness) == pytest.approx(10.0)


def linear_net(x: np.ndarray, y: np.ndarray) -> measures.LossAndGradients:
    """Two linear layers, L = ½ mean((x W1 W2 - y)²)."""

    def loss_and_gradients(parameters):
        with tf.GradientTape() as tape:
            tape.watch(parameters)
            w1, w2 = parameters
            loss = 0.5 * tf.reduce_mean((x @ w1 @ w2 - y) ** 2)
        return loss, tape.gradient(loss, parameters)

    return loss_and_gradients


def hand_gradients(x, y, w1, w2):
    residual = x @ w1 @ w2 - y  # (n, 1)
    return x.T @ (residual @ w2.T) / len(x), (x @ w1).T @ residual / len(x)


def test_internal_covariate_shift_of_a_two_layer_linear_net_matches_the_hand_derived_gradients():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)), rng.normal(size=(16, 1))
    w1, w2, rate = rng.normal(size=(4, 3)), rng.normal(size=(3, 1)), 0.1
    found = measures.covariate_shift(linear_net(x, y), [tf.constant(w1), tf.constant(w2)], [[0], [1]], [0, 1], rate)
    g1, g2 = hand_gradients(x, y, w1, w2)
    _, shifted = hand_gradients(x, y, w1 - rate * g1, w2)  # layer 1 updated, layer 2 as it was
    assert float(found.l2[0]) == 0.0 and float(found.cosine[0]) == pytest.approx(1.0)  # nothing before layer 1
    assert float(found.l2[1]) == pytest.approx(np.linalg.norm(g2 - shifted))
    cosine = (g2 * shifted).sum() / np.linalg.norm(g2) / np.linalg.norm(shifted)
    assert float(found.cosine[1]) == pytest.approx(cosine)
    assert float(found.l2[1]) > 1e-3  # the case is not trivial


def test_internal_covariate_shift_is_zero_for_a_one_layer_net():
    rng = np.random.default_rng(1)
    x, y, w = rng.normal(size=(16, 4)), rng.normal(size=(16, 1)), rng.normal(size=(4, 1))

    def loss_and_gradients(parameters):
        with tf.GradientTape() as tape:
            tape.watch(parameters)
            loss = 0.5 * tf.reduce_mean((x @ parameters[0] - y) ** 2)
        return loss, tape.gradient(loss, parameters)

    found = measures.covariate_shift(loss_and_gradients, [tf.constant(w)], [[0]], [0], learning_rate=1.0)
    assert [float(v) for v in found.l2] == [0.0]
    assert float(found.cosine[0]) == pytest.approx(1.0)


def test_layer_parameters_group_each_layer_with_its_bn(tiny_fc_config):
    model = build_model(tiny_fc_config.model, tiny_fc_config.bn, 0)
    groups, kernels, names = layer_parameters(model)
    variables = model.trainable_variables
    assert names == ["dense1", "dense2", "dense3", "logits"]
    assert [[variables[i].name for i in group] for group in groups] == [["kernel", "gamma", "beta"]] * 3 + [
        ["kernel", "bias"]
    ]
    assert all(variables[k] is model.get_layer(name).kernel for k, name in zip(kernels, names))


def test_the_smoothness_probe_leaves_training_unchanged(tiny_mnist, tiny_fc_config, tmp_path):
    config = dataclasses.replace(
        tiny_fc_config,
        bn=dataclasses.replace(tiny_fc_config.bn, momentum=0.5),  # fast-moving statistics: a probe's update would show
        train=dataclasses.replace(tiny_fc_config.train, jit="off"),  # the probe does not use it; seconds saved
    )
    without = trainer.run(config, tmp_path / "without", tiny_mnist)
    probed = trainer.run(config, tmp_path / "with", tiny_mnist, probe=SmoothnessProbe())
    plain, measured = runfiles.read_metrics(tmp_path / "without"), runfiles.read_metrics(tmp_path / "with")
    assert [{k: r[k] for k in p} for p, r in zip(plain, measured)] == plain  # every value, bit for bit
    assert any("landscape/beta_smoothness" in record for record in measured)
    assert without.final_val_accuracy == probed.final_val_accuracy
    a, b = (keras.models.load_model(tmp_path / d / runfiles.MODEL_FILE) for d in ("without", "with"))
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))  # moving statistics included
