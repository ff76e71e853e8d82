"""`explain`'s measurements on problems with answers known by hand, and the probe that must not disturb training."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from bn_mnist.core import runfiles
from bn_mnist.core.nets.models import build_model
from bn_mnist.core.training import trainer
from bn_mnist.core.training.engine import build_engine
from bn_mnist.studies.explain import measures, probes
from bn_mnist.studies.explain.probes import SmoothnessProbe, layer_parameters


def quadratic(curvatures: np.ndarray) -> measures.LossAndGradients:
    """L(θ) = ½ Σ a_k θ_k², whose gradient is a·θ and whose β-smoothness is max(a)."""
    a = tf.constant(curvatures)

    def loss_and_gradients(parameters):
        (theta,) = parameters
        return 0.5 * tf.reduce_sum(a * theta**2), [a * theta]

    return loss_and_gradients


def test_landscape_of_an_isotropic_quadratic_is_known_in_closed_form():
    beta, theta, distances = 3.0, np.array([1.0, -2.0, 0.5]), (0.05, 0.1, 0.2)
    found = measures.landscape(quadratic(np.full(3, beta)), [tf.constant(theta)], distances)
    # g = βθ; a step of length d is η = d / ‖g‖: L = ½ β (1 - ηβ)² ‖θ‖², and the gradient changes by ηβ‖g‖ = βd
    gradient_norm = beta * np.linalg.norm(theta)
    moved = [0.5 * beta * (1 - d / gradient_norm * beta) ** 2 * theta @ theta for d in distances]
    assert float(found.loss) == pytest.approx(0.5 * beta * theta @ theta)
    assert float(found.loss_range) == pytest.approx(max(moved) - min(moved))
    assert float(found.gradient_change) == pytest.approx(beta * max(distances))
    assert float(found.beta_smoothness) == pytest.approx(beta)
    assert float(found.gradient_norm) == pytest.approx(gradient_norm)


def test_at_matched_distances_a_smaller_gradient_earns_no_smoothness():
    """The same curvature far from the minimum and near it: the gradient is 10x smaller near it, and so would be a
    training step's move and with it the gradient change; at the same distances the measures are equal."""
    curvatures = np.full(3, 2.0)
    far, near = (np.array([1.0, -2.0, 0.5]) * scale for scale in (10.0, 1.0))
    found = [measures.landscape(quadratic(curvatures), [tf.constant(t)], (0.1, 0.2)) for t in (far, near)]
    assert float(found[0].gradient_change) == pytest.approx(float(found[1].gradient_change))
    assert float(found[0].beta_smoothness) == pytest.approx(float(found[1].beta_smoothness))
    assert float(found[0].gradient_norm) == pytest.approx(10 * float(found[1].gradient_norm))


def test_effective_smoothness_is_the_curvature_along_the_gradient_not_the_largest():
    curvatures = np.array([1.0, 10.0])
    along_flat = measures.landscape(quadratic(curvatures), [tf.constant([1.0, 0.0], tf.float64)], (0.1, 0.3))
    along_steep = measures.landscape(quadratic(curvatures), [tf.constant([0.0, 1.0], tf.float64)], (0.1, 0.3))
    assert float(along_flat.beta_smoothness) == pytest.approx(1.0)  # "effective": where training goes
    assert float(along_steep.beta_smoothness) == pytest.approx(10.0)


def scale_invariant(u: np.ndarray, c: np.ndarray) -> measures.LossAndGradients:
    """L(w, v) = ½‖w/‖w‖ - u‖² + ½‖v - c‖²: a kernel w that the loss sees only through its direction, as BN makes a
    layer see its kernel, and a plain parameter v."""

    def loss_and_gradients(parameters):
        with tf.GradientTape() as tape:
            tape.watch(parameters)
            w, v = parameters
            loss = 0.5 * tf.reduce_sum((w / tf.norm(w) - u) ** 2) + 0.5 * tf.reduce_sum((v - c) ** 2)
        return loss, tape.gradient(loss, parameters)

    return loss_and_gradients


def test_the_scale_invariant_landscape_ignores_a_bn_like_rescaling_that_the_euclidean_one_sees():
    rng = np.random.default_rng(0)
    u = rng.normal(size=5)
    c = rng.normal(size=3)
    loss = scale_invariant(u / np.linalg.norm(u), c)
    w, v = rng.normal(size=5), c + 0.01 * rng.normal(size=3)  # v near its minimum: the kernel's part dominates
    fractions, distances = (0.01, 0.05, 0.1), (0.05, 0.1, 0.2)
    relative, euclidean = [], []
    for scale in (1.0, 20.0):  # the kernel 20 times larger: the same function, a 20 times smaller gradient
        parameters = [tf.constant(w * scale), tf.constant(v)]
        relative.append(measures.relative_landscape(loss, parameters, [0], fractions))
        euclidean.append(measures.landscape(loss, parameters, distances))
    assert float(relative[0].loss_range) == pytest.approx(float(relative[1].loss_range), rel=1e-9)
    assert float(relative[0].gradient_change) == pytest.approx(float(relative[1].gradient_change), rel=1e-9)
    assert float(relative[0].loss_range) > 1e-3  # the kernel moved: the case is not trivial
    assert float(euclidean[0].loss_range) > 5 * float(euclidean[1].loss_range)  # the Euclidean one sees the scale


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
    )
    without = trainer.run(config, tmp_path / "without", tiny_mnist)
    probed = trainer.run(config, tmp_path / "with", tiny_mnist, probe=SmoothnessProbe())
    plain, measured = runfiles.read_metrics(tmp_path / "without"), runfiles.read_metrics(tmp_path / "with")
    assert [{k: r[k] for k in p} for p, r in zip(plain, measured)] == plain  # every value, bit for bit
    assert any("landscape/beta_smoothness" in record for record in measured)
    assert any("landscape_held_out/beta_smoothness" in record for record in measured)
    assert any("landscape_relative/gradient_change" in record for record in measured)
    assert without.final_val_accuracy == probed.final_val_accuracy
    a, b = (keras.models.load_model(tmp_path / d / runfiles.MODEL_FILE) for d in ("without", "with"))
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))  # moving statistics included


@pytest.mark.slow  # traces the probe twice, on two networks
def test_the_probe_traces_once_per_model_and_takes_the_rate_at_each_call(tiny_mnist, tiny_fc_config):
    """Two runs' probes on one (kept) network at two rates: one trace; the second rate's values equal those of a
    new network's own trace, and the covariate shift moves with the rate (an argument, not a traced constant)."""

    def measured(engine, rate: float) -> dict[str, float]:
        context = trainer.measurement_context(engine, tiny_fc_config)
        return SmoothnessProbe()(dataclasses.replace(context, step=0, learning_rate=rate)).scalars

    kept = build_engine(tiny_fc_config, tiny_mnist)
    first, second = measured(kept, 0.1), measured(kept, 0.5)
    assert (
        probes.traced_measures(trainer.measurement_context(kept, tiny_fc_config))[0].experimental_get_tracing_count()
        == 1
    )
    assert measured(build_engine(tiny_fc_config, tiny_mnist), 0.5) == second
    shift = [tag for tag in first if tag.startswith("ics_l2/")]
    assert shift and all(first[tag] != second[tag] for tag in shift[1:])  # the first layer has no earlier ones
