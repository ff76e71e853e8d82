"""The normalizations that need no batch (nets/norms.py) against a float64 NumPy reference: reduction axes, outputs
and gradients, training equal to inference; weight standardization; the group count; LSUV (nets/lsuv.py)."""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from bn_mnist.core.config import BNConfig, Config, ModelConfig, from_dict
from bn_mnist.core.errors import ConfigError
from bn_mnist.core.nets import lsuv, naming, norms
from bn_mnist.core.nets.models import build_model
from bn_mnist.studies.explain.probes import layer_parameters

KINDS = ("layer", "group", "instance")
SHAPES = {"conv": (3, 5, 5, 8), "dense": (4, 8)}  # (B, H, W, C) and (B, C): 8 channels, 4 groups


@pytest.fixture
def float64():
    """Layers made in float64 (the dtype policy, which another test may have set, decides over floatx)."""
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float64")
    yield
    keras.config.set_dtype_policy(policy)


def reference(x: np.ndarray, groups: int, gamma: np.ndarray, beta: np.ndarray, epsilon: float) -> np.ndarray:
    """Group norm by hand: per example, the mean and variance over the pixels and the group's channels."""
    channels = x.shape[-1]
    grouped = x.reshape(*x.shape[:-1], groups, channels // groups)  # (B, [H, W,] G, C/G)
    axes = (*range(1, x.ndim - 1), x.ndim)  # the pixels and the channels within a group, never the batch
    mean = grouped.mean(axis=axes, keepdims=True)
    variance = grouped.var(axis=axes, keepdims=True)
    normalized = ((grouped - mean) / np.sqrt(variance + epsilon)).reshape(x.shape)
    return normalized * gamma + beta


def groups_for(kind: str, channels: int) -> int:
    return {"layer": 1, "group": 4, "instance": channels}[kind]


def made(kind: str, shape: tuple[int, ...], rng: np.random.Generator) -> tuple[keras.layers.Layer, np.ndarray]:
    """The kind's layer on 8 channels with random gamma and beta, and a random input of `shape` (float64)."""
    layer = norms.normalization(BNConfig(kind=kind), "conv2", shape[-1])
    x = rng.normal(2.0, 3.0, shape)
    layer.build(shape)
    layer.set_weights([rng.normal(1, 0.5, shape[-1]), rng.normal(0, 0.5, shape[-1])])
    return layer, x


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("where", list(SHAPES))
def test_outputs_match_the_reference_and_training_equals_inference(float64, kind, where):
    rng = np.random.default_rng(0)
    layer, x = made(kind, SHAPES[where], rng)
    if where == "dense" and kind == "instance":
        assert not norms.normalizes(BNConfig(kind="instance"), pixels=1)  # one value per unit: not normalized
        return
    gamma, beta = (w.numpy() for w in layer.weights)
    expected = reference(x, groups_for(kind, x.shape[-1]), gamma, beta, BNConfig.epsilon)
    trained, inferred = np.asarray(layer(x, training=True)), np.asarray(layer(x, training=False))
    np.testing.assert_allclose(trained, expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(trained, inferred)  # no batch statistics, no moving averages


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_match_the_reference(float64, kind):
    """d(sum c * y)/dx against central differences of the NumPy reference, and d/dgamma, d/dbeta in closed form."""
    rng = np.random.default_rng(1)
    layer, x = made(kind, SHAPES["conv"], rng)
    gamma, beta = (w.numpy() for w in layer.weights)
    groups, c = groups_for(kind, x.shape[-1]), rng.normal(size=x.shape)
    inputs = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        loss = tf.reduce_sum(c * layer(inputs, training=True))
    dx, dgamma, dbeta = tape.gradient(loss, [inputs, *layer.trainable_weights])
    h = 1e-6
    for index in map(tuple, rng.integers(0, x.shape, size=(12, x.ndim))):
        up, down = x.copy(), x.copy()
        up[index] += h
        down[index] -= h
        numeric = (
            np.sum(c * reference(up, groups, gamma, beta, 1e-3))
            - np.sum(c * reference(down, groups, gamma, beta, 1e-3))
        ) / (2 * h)
        assert float(dx.numpy()[index]) == pytest.approx(numeric, rel=1e-5, abs=1e-7)
    x_hat = reference(x, groups, np.ones_like(gamma), np.zeros_like(beta), 1e-3)
    np.testing.assert_allclose(dgamma.numpy(), (c * x_hat).sum(axis=(0, 1, 2)), rtol=1e-10)
    np.testing.assert_allclose(dbeta.numpy(), c.sum(axis=(0, 1, 2)), rtol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
def test_an_example_never_sees_the_rest_of_its_batch(kind):
    """The reduction axes exclude the batch: changing the other examples leaves this one's output as it was."""
    rng = np.random.default_rng(2)
    layer, x = made(kind, SHAPES["conv"], rng)
    other = x.copy()
    other[1:] = rng.normal(-5, 10, other[1:].shape)
    np.testing.assert_array_equal(np.asarray(layer(x, training=True))[0], np.asarray(layer(other, training=True))[0])


def test_a_group_count_that_does_not_divide_the_channels_is_a_config_error():
    with pytest.raises(ConfigError, match=r"bn\.groups = 3 does not divide the 8 channels of conv2"):
        norms.normalization(BNConfig(kind="group", groups=3), "conv2", 8)
    with pytest.raises(ConfigError, match="does not divide the 4 channels of conv1"):
        build_model(ModelConfig(), BNConfig(kind="group", groups=8), 0)


def test_options_a_kind_cannot_honour_are_config_errors():
    cases = {
        "bn.momentum = 0.9: bn.kind layer normalizes each example by itself": {
            "bn": {"kind": "layer", "momentum": 0.9}
        },
        "bn.renorm = True: bn.kind group": {"bn": {"kind": "group", "renorm": True}},
        "bn.groups = 2: only bn.kind group and ws_group have groups": {"bn": {"kind": "layer", "groups": 2}},
        "instance norm normalizes a feature map": {"model": {"arch": "fc"}, "bn": {"kind": "instance"}},
        "weight standardization undoes LSUV": {"model": {"weight_init": "lsuv"}, "bn": {"kind": "ws_group"}},
    }
    for message, raw in cases.items():
        with pytest.raises(ConfigError, match=re.escape(message)):
            from_dict(Config, raw)


def test_weight_standardization_uses_the_standardized_kernel_and_ignores_its_shift_and_scale(float64):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 6, 6, 4))
    ws = norms.StandardizedConv2D(8, 3, padding="same", use_bias=False)
    plain = keras.layers.Conv2D(8, 3, padding="same", use_bias=False)
    ws.build(x.shape)
    plain.build(x.shape)
    kernel = ws.kernel.numpy()
    mean, sd = kernel.mean(axis=(0, 1, 2)), np.sqrt(kernel.var(axis=(0, 1, 2)) + norms.WS_EPSILON)
    plain.kernel.assign((kernel - mean) / sd)  # standardized by hand, per output channel
    np.testing.assert_allclose(np.asarray(ws(x)), np.asarray(plain(x)), rtol=1e-9, atol=1e-9)
    before = np.asarray(ws(x))
    ws.kernel.assign(kernel + rng.normal(size=8))  # a per-channel shift: removed exactly
    np.testing.assert_allclose(np.asarray(ws(x)), before, rtol=1e-9, atol=1e-9)
    ws.kernel.assign(kernel * 3.0)  # a scale: removed but for epsilon's share of the variance, exactly as written
    plain.kernel.assign((3 * kernel - 3 * mean) / np.sqrt(9 * kernel.var(axis=(0, 1, 2)) + norms.WS_EPSILON))
    np.testing.assert_allclose(np.asarray(ws(x)), np.asarray(plain(x)), rtol=1e-9, atol=1e-9)
    dense = norms.StandardizedDense(5, use_bias=False)
    dense.build((3, 7))
    k = dense.kernel.numpy()
    hand = (k - k.mean(axis=0)) / np.sqrt(k.var(axis=0) + norms.WS_EPSILON)
    rows = rng.normal(size=(3, 7))
    np.testing.assert_allclose(np.asarray(dense(rows)), rows @ hand, rtol=1e-9)


@pytest.mark.parametrize("kind", ["layer", "group", "instance", "ws_group"])
def test_each_kind_takes_bns_place_from_the_same_start(kind):
    """Same kernels as the BN net of the seed, a norm_ layer where BN was (instance norm: none where a channel has one
    value, conv15-19 and the dense layer, which keep their bias), the same output in training and inference mode,
    and an output that depends on the input."""
    bn_net = build_model(ModelConfig(), BNConfig(), 3)
    net = build_model(ModelConfig(), BNConfig(kind=kind), 3)
    for ours, theirs in zip(naming.weighted_layers(net), naming.weighted_layers(bn_net)):
        np.testing.assert_array_equal(ours.kernel.numpy(), theirs.kernel.numpy())
    found = [layer.name.removeprefix(naming.NORM_PREFIX) for layer in net.layers if layer.name.startswith("norm_")]
    expected = [f"conv{i}" for i in range(1, 15 if kind == "instance" else 20)] + (
        [] if kind == "instance" else ["dense20"]
    )
    assert found == expected == list(naming.normalization_layers(net))  # and no bn_ layer
    groups = layer_parameters(net)[0]  # the covariate-shift probe moves each layer with its normalization
    assert [len(group) for group in groups] == [
        3 if naming.normalization_of(net, layer.name) else 2 for layer in naming.weighted_layers(net)
    ]
    for name in ("conv15", "dense20"):
        assert (net.get_layer(name).bias is not None) == (kind == "instance")
    images = np.random.default_rng(4).uniform(size=(3, 28, 28, 1)).astype(np.float32)
    trained, inferred = np.asarray(net(images, training=True)), np.asarray(net(images, training=False))
    np.testing.assert_array_equal(trained, inferred)
    assert np.ptp(trained, axis=0).max() > 1e-6  # three images, three outputs: the input gets through (was 0.0)


def test_weight_standardized_gradients_match_central_differences(float64):
    """d(sum c * y)/d(stored kernel) of a standardized dense layer, against central differences in NumPy."""
    rng = np.random.default_rng(5)
    x, c = rng.normal(size=(4, 6)), rng.normal(size=(4, 3))
    layer = norms.StandardizedDense(3, use_bias=False)
    layer.build(x.shape)

    def loss(kernel: np.ndarray) -> float:
        standardized = (kernel - kernel.mean(axis=0)) / np.sqrt(kernel.var(axis=0) + norms.WS_EPSILON)
        return float(np.sum(c * (x @ standardized)))

    with tf.GradientTape() as tape:
        value = tf.reduce_sum(c * layer(x))
    (grad,) = tape.gradient(value, [layer.kernel])
    kernel, h = layer.kernel.numpy(), 1e-6
    for index in [(0, 0), (2, 1), (5, 2), (3, 0)]:
        up, down = kernel.copy(), kernel.copy()
        up[index] += h
        down[index] -= h
        assert float(grad.numpy()[index]) == pytest.approx((loss(up) - loss(down)) / (2 * h), rel=1e-5, abs=1e-7)


def test_lsuv_gives_unit_variance_on_its_batch_and_the_same_weights_for_a_seed(tiny_mnist):
    model = ModelConfig(arch="fc", weight_init="lsuv")
    no_bn = BNConfig(enabled=False)
    images = tiny_mnist.train_x[: lsuv.BATCH]
    nets = [build_model(model, no_bn, 7) for _ in range(2)]
    variances = [lsuv.initialize(net, images) for net in nets]
    assert set(variances[0]) == {"dense1", "dense2", "dense3", "logits"}
    h = images.reshape(len(images), -1).astype(np.float64)  # the forward pass by hand, from the weights alone
    for name in ("dense1", "dense2", "dense3", "logits"):
        layer = nets[0].get_layer(name)
        pre = h @ layer.kernel.numpy() + layer.bias.numpy()
        assert abs(pre.var() - 1) < lsuv.TOLERANCE, (name, pre.var())
        h = np.maximum(pre, 0)
    for a, b in zip(*(net.get_weights() for net in nets)):
        np.testing.assert_array_equal(a, b)
    other = build_model(model, no_bn, 8)
    lsuv.initialize(other, images)
    assert not np.array_equal(other.get_weights()[0], nets[0].get_weights()[0])
