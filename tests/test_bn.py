"""Both BN implementations against a NumPy reference, against each other, and `nn` against finite differences."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from bn_mnist.core.config import BNConfig, ModelConfig, RenormClipping, RenormWarmup, load_config
from bn_mnist.core.nets.bn import NnBatchNorm, batch_norm, inverse_class_frequency
from bn_mnist.core.nets.models import build_model, dtype_policy
from bn_mnist.core.training.engine import batch_order, build_engine

CLIP = RenormClipping(rmax=1.5, rmin=0.7, dmax=0.5)  # tight, so that clipping really happens on these inputs
WARMUP = RenormWarmup(hold=0, relaxed=2)
OPTIONS = {  # name -> bn: section (momentum 0.8 so that moving averages move visibly in three steps)
    "plain": BNConfig(momentum=0.8),
    "no_center_no_scale": BNConfig(momentum=0.8, center=False, scale=False),
    "renorm": BNConfig(momentum=0.8, renorm=True, renorm_clipping=CLIP, renorm_momentum=0.7),
    "renorm_no_scale": BNConfig(momentum=0.8, renorm=True, renorm_clipping=CLIP, renorm_momentum=0.7, scale=False),
    "zero_debias": BNConfig(momentum=0.8, impl="nn", zero_debias=True),
    "weighted": BNConfig(momentum=0.8, impl="nn", batch_weights="inverse_class_frequency"),
    "no_update": BNConfig(momentum=0.8, update_moving_stats=False),  # keras: through momentum 1
    "bessel": BNConfig(momentum=0.8, impl="nn", bessel=True),
    "renorm_warmup": BNConfig(  # step 0: plain BN; step 1: half the limits; step 2: all of them
        momentum=0.8, impl="nn", renorm=True, renorm_clipping=CLIP, renorm_momentum=0.7, renorm_warmup=WARMUP
    ),
}
SHAPES = {"dense": (16, 5), "conv": (16, 6, 6, 3)}


class NumpyBN:
    """The BN forward pass and moving-average updates in float64 NumPy, written from the formulas (and Keras'
    documented renorm rules), independently of both implementations."""

    def __init__(self, bn: BNConfig, gamma: np.ndarray, beta: np.ndarray):
        self.bn, self.gamma, self.beta = bn, gamma if bn.scale else 1.0, beta if bn.center else 0.0
        channels = len(gamma)
        self.mean, self.var = np.zeros(channels), np.ones(channels)
        self.biased_mean, self.biased_var, self.step = np.zeros(channels), np.zeros(channels), 0
        self.renorm_mean, self.renorm_std, self.moving_std = np.zeros(channels), np.ones(channels), np.ones(channels)
        self.renorm_steps = 0

    def infer(self, x: np.ndarray) -> np.ndarray:
        return self.gamma * (x - self.mean) / np.sqrt(self.var + self.bn.epsilon) + self.beta

    def train(self, x: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        bn, axes = self.bn, tuple(range(x.ndim - 1))
        w = np.ones(len(x)) if weights is None else weights
        w = np.broadcast_to(w.reshape((-1,) + (1,) * (x.ndim - 1)), x.shape)
        mean = (w * x).sum(axes) / w.sum(axes)
        var = (w * (x - mean) ** 2).sum(axes) / w.sum(axes)
        x_hat = (x - mean) / np.sqrt(var + bn.epsilon)
        std = np.sqrt(var + bn.epsilon)
        if bn.renorm:
            rmin, rmax, dmax = self.clipping()
            renorm_std = np.maximum(self.renorm_std, np.sqrt(bn.epsilon))
            r = np.clip(std / renorm_std, rmin, rmax)
            d = np.clip((mean - self.renorm_mean) / renorm_std, -dmax, dmax)
            x_hat = x_hat * r + d
        if bn.update_moving_stats:
            count = x.size / x.shape[-1]  # values per channel
            self._update(mean, var * count / (count - 1) if bn.bessel else var, std)
        return self.gamma * x_hat + self.beta

    def clipping(self) -> tuple[float, float, float]:
        """rmin, rmax, dmax for this step: during a warm-up, relaxed linearly from 1, 1, 0 (Ioffe 2017)."""
        clip, warmup = self.bn.renorm_clipping, self.bn.renorm_warmup
        ramp = 1.0
        if warmup.on:
            ramp = min(max((self.renorm_steps - warmup.hold) / max(warmup.relaxed - warmup.hold, 1), 0.0), 1.0)
            self.renorm_steps += 1
        return 1 + (clip.rmin - 1) * ramp, 1 + (clip.rmax - 1) * ramp, clip.dmax * ramp

    def _update(self, mean, var, std):
        m, rm = self.bn.momentum, self.bn.renorm_momentum
        if self.bn.renorm:
            self.renorm_mean = rm * self.renorm_mean + (1 - rm) * mean
            self.renorm_std = rm * self.renorm_std + (1 - rm) * std
            self.moving_std = m * self.moving_std + (1 - m) * std
            self.mean, self.var = m * self.mean + (1 - m) * mean, np.maximum(self.moving_std**2 - self.bn.epsilon, 0)
        elif self.bn.zero_debias:
            self.step += 1
            self.biased_mean = m * self.biased_mean + (1 - m) * mean
            self.biased_var = m * self.biased_var + (1 - m) * var
            self.mean, self.var = self.biased_mean / (1 - m**self.step), self.biased_var / (1 - m**self.step)
        else:
            self.mean, self.var = m * self.mean + (1 - m) * mean, m * self.var + (1 - m) * var


def built_layer(bn: BNConfig, shape: tuple[int, ...], gamma: np.ndarray, beta: np.ndarray) -> keras.layers.Layer:
    layer = batch_norm(bn, "bn")
    layer.build([shape, shape[:1]] if bn.batch_weights != "none" else shape)
    if bn.scale:
        layer.gamma.assign(gamma.astype(np.float32))
    if bn.center:
        layer.beta.assign(beta.astype(np.float32))
    return layer


def cases():
    for name, bn in OPTIONS.items():
        for impl in ("keras", "nn") if bn.impl == "keras" else ("nn",):
            for kind in SHAPES:
                yield pytest.param(dataclasses.replace(bn, impl=impl), kind, id=f"{name}-{impl}-{kind}")


@pytest.mark.parametrize(("bn", "kind"), cases())
def test_layer_matches_numpy_over_training_steps_then_in_inference(bn, kind):
    rng = np.random.default_rng(0)
    shape = SHAPES[kind]
    gamma, beta = rng.uniform(0.5, 2, shape[-1]), rng.normal(size=shape[-1])
    layer, reference = built_layer(bn, shape, gamma, beta), NumpyBN(bn, gamma, beta)
    weighted = bn.batch_weights != "none"
    for _ in range(3):  # moving averages (and renorm's statistics) evolve: later steps test the updates
        x = (rng.normal(size=shape) * rng.uniform(0.5, 3, shape[-1]) + rng.normal(size=shape[-1])).astype(np.float32)
        labels = rng.integers(0, 3, shape[0]).astype(np.int32)
        weights = inverse_class_frequency(labels).numpy() if weighted else None
        out = layer([x, weights] if weighted else x, training=True)
        np.testing.assert_allclose(out.numpy(), reference.train(x.astype(np.float64), weights), atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(layer.moving_mean.numpy(), reference.mean, atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(layer.moving_variance.numpy(), reference.var, atol=1e-5, rtol=1e-5)
    inference = layer([x, weights] if weighted else x, training=False).numpy()
    np.testing.assert_allclose(inference, reference.infer(x.astype(np.float64)), atol=1e-5, rtol=1e-5)
    if not bn.update_moving_stats:  # the forgotten update: never moved, to the bit
        np.testing.assert_array_equal(layer.moving_mean.numpy(), 0.0)
        np.testing.assert_array_equal(layer.moving_variance.numpy(), 1.0)


def test_renorm_arguments_reach_keras_only_when_renorm_is_on(monkeypatch):
    """Keras releases before 3.14 have no renorm and reject its keyword arguments, even when renorm is off."""

    class KerasWithoutRenorm(keras.layers.BatchNormalization):
        def __init__(self, **kwargs):
            refused = sorted(key for key in kwargs if key.startswith("renorm"))
            if refused:
                raise ValueError(f"Unrecognized keyword arguments: {refused}")
            super().__init__(**kwargs)

    monkeypatch.setattr(keras.layers, "BatchNormalization", KerasWithoutRenorm)
    assert isinstance(batch_norm(BNConfig(), "bn"), KerasWithoutRenorm)
    with pytest.raises(ValueError, match="renorm"):
        batch_norm(BNConfig(renorm=True), "bn")


def test_inverse_class_frequency_weighs_every_class_present_equally():
    weights = inverse_class_frequency(tf.constant([3, 3, 3, 1, 7, 7], tf.int32)).numpy()
    np.testing.assert_allclose(weights, [1 / 3, 1 / 3, 1 / 3, 1, 1 / 2, 1 / 2])


def train_fc(bn: BNConfig, steps: int, images: np.ndarray, labels: np.ndarray):
    """`steps` SGD steps of the FC net on fixed batches; returns the model and the first step's gradients."""
    model = build_model(ModelConfig(arch="fc", weight_init="normal", init_std=0.1), bn, seed=0)
    optimizer = keras.optimizers.SGD(0.1)
    optimizer.build(model.trainable_variables)

    @tf.function(jit_compile=False)  # one trace: with eager steps, each case took 3-4x as long
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, model(x, training=True)))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        return gradients

    first_gradients = None
    for batch in batch_order(len(images), 32, steps, seed=0):
        gradients = step(images[batch], labels[batch])
        first_gradients = first_gradients or [g.numpy() for g in gradients]
    return model, first_gradients


@pytest.mark.parametrize("name", ["plain", "renorm", "no_center_no_scale", "no_update"])
def test_keras_and_nn_agree_after_50_training_steps(name, tiny_mnist):
    """Same batches, same start: same gradients, same weights and moving statistics, same outputs in both modes."""
    images, labels = tiny_mnist.train_x, tiny_mnist.train_y
    keras_model, keras_grads = train_fc(dataclasses.replace(OPTIONS[name], impl="keras"), 50, images, labels)
    nn_model, nn_grads = train_fc(dataclasses.replace(OPTIONS[name], impl="nn"), 50, images, labels)
    for a, b in zip(keras_grads, nn_grads):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    for layer in keras_model.layers:
        if layer.name.startswith("bn_"):
            nn_layer = nn_model.get_layer(layer.name)
            assert isinstance(nn_layer, NnBatchNorm) and not isinstance(layer, NnBatchNorm)
            for stat in ("moving_mean", "moving_variance"):
                np.testing.assert_allclose(
                    getattr(layer, stat).numpy(), getattr(nn_layer, stat).numpy(), rtol=1e-3, atol=1e-4
                )
    for training in (True, False):
        np.testing.assert_allclose(
            keras_model(images[:200], training=training).numpy(),
            nn_model(images[:200], training=training).numpy(),
            rtol=1e-3,
            atol=1e-3,
        )


@pytest.mark.parametrize("weighted", [False, True])
def test_nn_gradients_match_finite_differences(weighted):
    """Central differences in float64 of a random projection of the output, wrt x, gamma and beta."""
    rng = np.random.default_rng(2)
    x = tf.Variable(rng.normal(size=(6, 4)) * 2 + 1)
    weights = tf.constant(rng.uniform(0.2, 1.0, 6)) if weighted else None
    projection = tf.constant(rng.normal(size=(6, 4)))
    layer = NnBatchNorm(momentum=0.9, weighted=weighted, dtype="float64")
    layer([x, weights] if weighted else x, training=True)  # build
    layer.gamma.assign(rng.uniform(0.5, 2, 4))
    layer.beta.assign(rng.normal(size=4))

    def objective() -> tf.Tensor:
        return tf.reduce_sum(projection * layer([x, weights] if weighted else x, training=True))

    for variable in (x, layer.gamma.value, layer.beta.value):
        with tf.GradientTape() as tape:
            value = objective()
        analytic = tape.gradient(value, variable).numpy()
        numeric = np.zeros_like(analytic)
        flat = variable.numpy().ravel()
        for i in range(flat.size):
            for sign in (1, -1):
                shifted = flat.copy()
                shifted[i] += sign * 1e-6
                variable.assign(shifted.reshape(analytic.shape))
                numeric.flat[i] += sign * objective().numpy() / 2e-6
            variable.assign(flat.reshape(analytic.shape))
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


def test_nn_model_is_saved_and_restored_with_its_statistics(tmp_path, tiny_mnist):
    model, _ = train_fc(OPTIONS["zero_debias"], 5, tiny_mnist.train_x, tiny_mnist.train_y)
    model.save(tmp_path / "model.keras")
    restored = keras.models.load_model(tmp_path / "model.keras")
    layer = restored.get_layer("bn_dense1")
    assert isinstance(layer, NnBatchNorm) and layer.zero_debias and float(layer.local_step.numpy()) == 5
    images = tiny_mnist.test_x[:50]
    np.testing.assert_allclose(
        restored(images, training=False).numpy(), model(images, training=False).numpy(), rtol=1e-6, atol=1e-6
    )


@pytest.mark.parametrize(
    ("placement", "use_bias", "before_bn"),
    [
        ("before_activation", False, "dense1"),
        ("before_activation", True, "dense1"),
        ("after_activation", False, "act_dense1"),
        ("after_activation", True, "act_dense1"),
    ],
)
def test_layer_orders(placement, use_bias, before_bn):
    """The tutorial's order and its three alternatives: where BN sits, and whether the layer keeps its bias."""
    bn = BNConfig(placement=placement, use_bias=use_bias)
    model = build_model(ModelConfig(arch="fc"), bn, seed=0)
    assert model.get_layer("dense1").use_bias == use_bias
    bn_input = model.get_layer("bn_dense1").input
    assert bn_input is model.get_layer(before_bn).output
    after_bn = "act_dense1" if placement == "before_activation" else "dense2"
    assert model.get_layer(after_bn).input is model.get_layer("bn_dense1").output


def test_noisy_bn_adds_a_fresh_noise_of_nonzero_mean_and_nonunit_variance_each_step_and_none_at_inference():
    """Santurkar et al.'s noisy BN: the same layer with and without noise, on the same batches. The difference of
    their training outputs is the noise: per channel of mean in [-1, 1] and SD in [0, 1] (noise 1), not zero, and
    different at the next step; the moving statistics and the inference outputs are the plain layer's, bit for bit."""
    rng = np.random.default_rng(0)
    gamma, beta = rng.uniform(0.5, 2, 3), rng.normal(size=3)
    plain = built_layer(BNConfig(impl="nn", momentum=0.8), (4096, 3), gamma, beta)
    noisy = built_layer(BNConfig(impl="nn", momentum=0.8, noise=1.0), (4096, 3), gamma, beta)
    means = []
    for _ in range(2):
        x = (rng.normal(size=(4096, 3)) * 3 + 1).astype(np.float32)
        noise = noisy(x, training=True).numpy() - plain(x, training=True).numpy()  # (4096, 3)
        assert np.all(np.abs(noise.mean(axis=0)) < 1 + 0.1) and np.all(noise.std(axis=0) < 1 + 0.1)
        assert np.abs(noise.mean(axis=0)).max() > 0.05 and noise.std(axis=0).max() > 0.05  # a shift and a spread
        means.append(noise.mean(axis=0))
    assert np.abs(means[0] - means[1]).max() > 0.05  # a new distribution at the next step
    np.testing.assert_array_equal(noisy.moving_mean.numpy(), plain.moving_mean.numpy())
    np.testing.assert_array_equal(noisy.moving_variance.numpy(), plain.moving_variance.numpy())
    np.testing.assert_array_equal(noisy(x, training=False).numpy(), plain(x, training=False).numpy())


def mixed_layer(bn: BNConfig, shape: tuple[int, ...]) -> keras.layers.Layer:
    """A BN layer made under the mixed_float16 policy, as build_model makes it for model.precision."""
    with dtype_policy("mixed_float16"):
        layer = batch_norm(bn, "bn")
    layer.build(shape)
    return layer


@pytest.mark.parametrize("bn", [BNConfig(), BNConfig(impl="nn")], ids=["keras", "nn"])
def test_under_mixed_float16_statistics_are_float32_and_outputs_float16(bn):
    """Activations of a few hundred square to more than float16 holds (65,504): statistics in float32 keep them."""
    x = (np.random.default_rng(0).normal(size=(64, 8)) * 300 + 100).astype(np.float16)
    layer = mixed_layer(bn, x.shape)
    out = layer(x, training=True)
    assert out.dtype == tf.float16 and layer.moving_variance.dtype == "float32"
    reference = (x.astype(np.float64) - x.mean(0, dtype=np.float64)) / np.sqrt(x.var(0, dtype=np.float64) + 1e-3)
    np.testing.assert_allclose(np.asarray(out, np.float64), reference, atol=5e-3)  # float16's own rounding
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.99 + 0.01 * x.var(0, dtype=np.float64), rtol=1e-3)


def test_nn_statistics_in_float16_overflow_where_float32_ones_do_not():
    """SD 100: the variance (10,000) fits float16 (largest 65,504), but the float16 sum of 64 squared deviations
    does not; in float16 those channels' variance is infinite and every output of them 0, in float32 they normalise."""
    sds = np.array([100, 100, 100, 100, 1, 1, 1, 1])
    x = (np.random.default_rng(0).normal(size=(64, 8)) * sds).astype(np.float16)
    over = sds > 1
    assert x.var(0, dtype=np.float64).max() < np.finfo(np.float16).max
    half = mixed_layer(BNConfig(impl="nn", statistics_dtype="compute"), x.shape)
    out = np.asarray(half(x, training=True), np.float64)
    assert np.isinf(half.moving_variance.numpy()[over]).all() and np.all(out[:, over] == 0)
    np.testing.assert_allclose(out[:, ~over].std(0), 1, atol=0.01)
    full = np.asarray(mixed_layer(BNConfig(impl="nn"), x.shape)(x, training=True), np.float64)
    np.testing.assert_allclose(full.std(0), 1, atol=0.01)


@pytest.mark.parametrize("impl", ["keras", "nn"])
def test_a_mixed_float16_run_trains_with_loss_scaling(tiny_mnist, impl):
    config = load_config("fc", ("train.steps=60", "model.precision=mixed_float16", f"bn.impl={impl}"))
    engine = build_engine(config, tiny_mnist)
    assert isinstance(engine.optimizer, keras.optimizers.LossScaleOptimizer)
    assert engine.model.get_layer("dense1").compute_dtype == "float16" and engine.model.output.dtype == "float32"
    first = engine.evaluate("val")[1]
    engine.train_steps(0, 60)
    assert engine.evaluate("val")[1] > max(first, 0.5)
