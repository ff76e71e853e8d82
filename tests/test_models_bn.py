"""The networks' structure, and Keras BN checked against a NumPy reference in training and inference mode."""

from __future__ import annotations

import numpy as np
import pytest

from bn_mnist.core.config import BNConfig, ModelConfig
from bn_mnist.core.nets.models import build_model


def bn_reference(x, gamma, beta, mean, var, eps):
    """gamma * (x - mean) / sqrt(var + eps) + beta, as tf.nn.batch_normalization computes it."""
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def bn_layer(model):
    return next(layer for layer in model.layers if layer.name.startswith("bn_"))


@pytest.mark.parametrize(("arch", "layers", "params_no_bn"), [("fc", 3, 99_710), ("conv", 20, None)])
def test_shapes_and_where_bn_goes(arch, layers, params_no_bn):
    with_bn = build_model(ModelConfig(arch=arch), BNConfig(enabled=True), seed=0)
    without = build_model(ModelConfig(arch=arch), BNConfig(enabled=False), seed=0)
    for model in (with_bn, without):
        assert model(np.zeros((2, 28, 28, 1), np.float32), training=False).shape == (2, 10)
    bns = [layer for layer in with_bn.layers if layer.name.startswith("bn_")]
    assert len(bns) == layers and not any(layer.name.startswith("bn_") for layer in without.layers)
    hidden = [layer for layer in with_bn.layers if hasattr(layer, "use_bias") and layer.name != "logits"]
    assert len(hidden) == layers and not any(layer.use_bias for layer in hidden)  # BN's beta replaces the bias
    assert with_bn.get_layer("logits").use_bias  # the output layer keeps its bias and never gets BN
    if params_no_bn:
        assert without.count_params() == params_no_bn  # 784*100+100 + 2*(100*100+100) + 100*10+10


def test_conv_layers_follow_the_solutions():
    model = build_model(ModelConfig(arch="conv"), BNConfig(enabled=False), seed=0)
    convs = [model.get_layer(f"conv{i}") for i in range(1, 20)]
    assert [c.filters for c in convs] == [4 * i for i in range(1, 20)]
    assert [c.strides[0] for c in convs] == [2 if i % 3 == 0 else 1 for i in range(1, 20)]
    assert model.get_layer("flatten").output.shape[1:] == (76,)  # 28 -> 1 after six stride-2 layers ('same')


@pytest.mark.parametrize("arch", ["fc", "conv"])
def test_bn_and_no_bn_nets_start_from_the_same_kernels(arch):
    with_bn = build_model(ModelConfig(arch=arch), BNConfig(enabled=True), seed=3)
    without = build_model(ModelConfig(arch=arch), BNConfig(enabled=False), seed=3)
    other_seed = build_model(ModelConfig(arch=arch), BNConfig(enabled=False), seed=4)
    for layer in without.layers:
        if hasattr(layer, "kernel"):
            np.testing.assert_array_equal(layer.kernel.numpy(), with_bn.get_layer(layer.name).kernel.numpy())
            assert not np.array_equal(layer.kernel.numpy(), other_seed.get_layer(layer.name).kernel.numpy())


def test_normal_init_has_the_configured_std():
    model = build_model(ModelConfig(arch="fc", weight_init="normal", init_std=5.0), BNConfig(), seed=0)
    assert model.get_layer("dense1").kernel.numpy().std() == pytest.approx(5.0, rel=0.02)


@pytest.mark.parametrize(("arch", "axes"), [("fc", (0,)), ("conv", (0, 1, 2))])
def test_keras_bn_matches_numpy_in_training_and_inference(arch, axes):
    """Training: batch statistics (per unit / per feature map) and a moving-average update; inference: the averages."""
    model = build_model(ModelConfig(arch=arch), BNConfig(momentum=0.9), seed=0)
    layer = bn_layer(model)
    rng = np.random.default_rng(0)
    gamma, beta = rng.uniform(0.5, 2, layer.gamma.shape), rng.normal(size=layer.beta.shape)
    layer.gamma.assign(gamma.astype(np.float32))
    layer.beta.assign(beta.astype(np.float32))
    shape = (32, 100) if arch == "fc" else (32, 28, 28, 4)
    x = (rng.normal(size=shape) * 3 + 1).astype(np.float32)

    mean, var = x.mean(axis=axes), x.var(axis=axes)
    np.testing.assert_allclose(
        layer(x, training=True).numpy(), bn_reference(x, gamma, beta, mean, var, 1e-3), atol=1e-4
    )
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.9 * 0 + 0.1 * mean, atol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.9 * 1 + 0.1 * var, rtol=1e-4)  # Keras: biased var

    moving = layer.moving_mean.numpy(), layer.moving_variance.numpy()
    np.testing.assert_allclose(layer(x, training=False).numpy(), bn_reference(x, gamma, beta, *moving, 1e-3), atol=1e-4)
    np.testing.assert_allclose(layer.moving_mean.numpy(), moving[0])  # inference never updates the averages


def test_single_example_with_batch_statistics_loses_the_input():
    """The Lesson's pitfall: normalising one example by its own statistics maps every input to beta."""
    layer = bn_layer(build_model(ModelConfig(arch="fc"), BNConfig(), seed=0))
    a, b = np.random.default_rng(1).normal(size=(2, 1, 100)).astype(np.float32)
    np.testing.assert_allclose(layer(a, training=True).numpy(), layer(b, training=True).numpy(), atol=1e-6)
    assert not np.allclose(layer(a, training=False).numpy(), layer(b, training=False).numpy())


@pytest.mark.parametrize(
    ("dropout_at", "dropped"), [("every_hidden", ["dense1", "dense2", "dense3"]), ("last_hidden", ["dense3"])]
)
def test_dropout_goes_after_the_hidden_layers_it_names_and_only_in_training(dropout_at, dropped):
    rate, x = 0.5, np.random.default_rng(0).normal(size=(256, 28, 28, 1)).astype(np.float32)
    model = build_model(ModelConfig(arch="fc", dropout=rate, dropout_at=dropout_at), BNConfig(enabled=False), 0)
    plain = build_model(ModelConfig(arch="fc"), BNConfig(enabled=False), 0)
    assert [layer.name for layer in model.layers if layer.name.startswith("drop_")] == [f"drop_{d}" for d in dropped]
    assert not [layer for layer in plain.layers if layer.name.startswith("drop_")]  # none by default
    np.testing.assert_array_equal(model(x, training=False), plain(x, training=False))  # the same kernels, no dropout
    inputs = np.abs(x.reshape(256, -1)[:, :100]) + 0.1  # (256, 100), no zeros
    kept = np.asarray(model.get_layer(f"drop_{dropped[-1]}")(inputs, training=True))
    assert abs(np.mean(kept == 0) - rate) < 0.02  # a fraction `rate` zeroed, the rest scaled by 1 / (1 - rate)
    np.testing.assert_allclose(kept[kept != 0], inputs[kept != 0] / (1 - rate), rtol=1e-6)
    assert not np.array_equal(model(x, training=True), model(x, training=False))
