"""Batch normalization, both ways the tutorial teaches it (tutorial-facts §1).

`keras`: `keras.layers.BatchNormalization`. `nn`: `NnBatchNorm` below, this project's own layer built from
`tf.nn.moments`, `tf.nn.batch_normalization` and explicit moving averages, with the TF1 options Keras lacks:
zero-debiased averages, weighted batch statistics, the forgotten moving-average update (a classic bug), a
Bessel-corrected moving variance (TF1's fused kernel), Ioffe's warm-up of the renorm clipping and Santurkar et al.'s
noise after BN.
Both honour momentum, epsilon, center, scale and Batch Renormalization, with the same formulas.
"""

from __future__ import annotations

import dataclasses
import inspect

import keras
import tensorflow as tf

from bn_mnist.core.config import BNConfig


def batch_norm(bn: BNConfig, name: str, seed: int = 0) -> keras.layers.Layer:
    """The BN layer `bn.impl` names, configured from the `bn:` section (`seed`, from the run's seed and the layer's
    index, seeds the noise of `bn.noise`). The Keras layer honours `update_moving_stats: false` through momentum 1,
    which keeps its moving statistics exactly where they start. `bn.sync` takes the batch statistics over all
    replicas of a tf.distribute strategy (`nets/models.py` turns it off on one device, where Keras' synchronized
    path would change the numbers: it computes E[x^2] - E[x]^2)."""
    options = dict(momentum=bn.momentum, epsilon=bn.epsilon, center=bn.center, scale=bn.scale, name=name)
    if bn.renorm:
        clipping = {key: value for key, value in dataclasses.asdict(bn.renorm_clipping).items() if value is not None}
        options.update(renorm=True, renorm_clipping=clipping, renorm_momentum=bn.renorm_momentum)
    if bn.impl == "keras":
        frozen = {} if bn.update_moving_stats else {"momentum": 1.0}
        return keras.layers.BatchNormalization(**{**options, **frozen}, synchronized=bn.sync)
    warmup = (bn.renorm_warmup.hold, bn.renorm_warmup.relaxed) if bn.renorm_warmup.on else None
    return NnBatchNorm(
        **options,
        synchronized=bn.sync,
        zero_debias=bn.zero_debias,
        weighted=bn.batch_weights != "none",
        update_moving_stats=bn.update_moving_stats,
        renorm_warmup=warmup,
        bessel=bn.bessel,
        noise=bn.noise,
        noise_seed=seed,
        statistics_dtype=bn.statistics_dtype,
    )


def inverse_class_frequency(labels: tf.Tensor) -> tf.Tensor:
    """Per-example weights 1 / (examples of its class in the batch): every class present weighs the same.

    Counted with a one-hot sum, not tf.math.bincount, whose output size XLA cannot know at compile time."""
    counts = tf.reduce_sum(tf.one_hot(labels, 10, dtype=tf.float32), axis=0)  # (10,)
    return 1.0 / tf.gather(counts, labels)  # (B,)


@keras.saving.register_keras_serializable(package="bn_mnist")
class NnBatchNorm(keras.layers.Layer):
    """BN over all axes but the last (per unit for dense, per feature map for NHWC conv), written with tf.nn.

    Training: normalise with the batch's mean and variance (weighted when `weighted`: then the layer is called on
    `[x, example_weights]`), update the moving averages in the same step. Inference: the moving averages.
    `synchronized`: inside a replica of a tf.distribute strategy, the statistics of the global batch (all-reduced).
    """

    def __init__(
        self,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        renorm=False,
        renorm_clipping=None,
        renorm_momentum=0.99,
        zero_debias=False,
        weighted=False,
        update_moving_stats=True,
        synchronized=False,
        renorm_warmup=None,
        bessel=False,
        noise=0.0,
        noise_seed=0,
        statistics_dtype="float32",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.momentum, self.epsilon, self.center, self.scale = momentum, epsilon, center, scale
        self.renorm, self.renorm_clipping, self.renorm_momentum = renorm, dict(renorm_clipping or {}), renorm_momentum
        self.zero_debias, self.weighted, self.update_moving_stats = zero_debias, weighted, update_moving_stats
        self.synchronized, self.bessel, self.statistics_dtype = synchronized, bessel, statistics_dtype
        self.renorm_warmup = None if renorm_warmup is None else tuple(renorm_warmup)  # (hold, relaxed) steps
        self.noise, self.noise_seed = noise, noise_seed
        if zero_debias and renorm:
            raise ValueError("zero_debias and renorm cannot be combined")

    def build(self, input_shape):
        channels = (input_shape[0] if self.weighted else input_shape)[-1]
        shape = (channels,)
        self.gamma = self._add("gamma", shape, "ones", trainable=True) if self.scale else None
        self.beta = self._add("beta", shape, "zeros", trainable=True) if self.center else None
        self.moving_mean = self._add("moving_mean", shape, "zeros")
        self.moving_variance = self._add("moving_variance", shape, "ones")
        if self.zero_debias:  # biased accumulators start at zero; the moving statistics are their corrected values
            self.biased_mean = self._add("biased_mean", shape, "zeros")
            self.biased_variance = self._add("biased_variance", shape, "zeros")
            self.local_step = self._add("local_step", (), "zeros")
        if self.renorm:  # as Keras: renorm tracks mean and stddev; inference derives its variance from a stddev
            self.renorm_mean = self._add("renorm_mean", shape, "zeros")
            self.renorm_stddev = self._add("renorm_stddev", shape, "ones")
            self.moving_stddev = self._add("moving_stddev", shape, "ones")
        if self.renorm_warmup is not None:
            self.renorm_steps = self._add("renorm_steps", (), "zeros")  # training steps taken: the warm-up's clock
        if self.noise > 0:
            self.noise_generator = keras.random.SeedGenerator(self.noise_seed)

    def _add(self, name: str, shape: tuple[int, ...], initializer: str, trainable: bool = False) -> keras.Variable:
        """A variable read as stored (float32) under a mixed precision policy too: `call` casts what it uses."""
        return self.add_weight(name=name, shape=shape, initializer=initializer, trainable=trainable, autocast=False)

    def call(self, inputs, training=False):
        x, weights = inputs if self.weighted else (inputs, None)
        x = tf.cast(x, self._dtype_of_statistics(x.dtype))
        return tf.cast(self._normalized(x, weights, training), self.compute_dtype)

    def _dtype_of_statistics(self, dtype: tf.DType) -> tf.DType:
        """float32 for float16 and bfloat16 inputs, as Keras' layer (`statistics_dtype` float32); or the inputs' own
        (`compute`: float16 under a mixed_float16 policy, where a batch's sum of squared deviations past 65,504
        overflows)."""
        return dtype if self.statistics_dtype == "compute" or dtype.size >= 4 else tf.float32

    def _normalized(self, x: tf.Tensor, weights: tf.Tensor | None, training: bool) -> tf.Tensor:
        def cast(variable: keras.Variable | None) -> tf.Tensor | None:
            return None if variable is None else tf.cast(variable, x.dtype)

        gamma, beta = cast(self.gamma), cast(self.beta)
        if not training:
            mean, variance = cast(self.moving_mean), cast(self.moving_variance)
            return tf.nn.batch_normalization(x, mean, variance, beta, gamma, self.epsilon)
        mean, variance = self.batch_moments(x, weights)
        if self.renorm:
            gamma, beta = self._renormalized(mean, variance, gamma, beta)
        if self.update_moving_stats:
            self._update_moving_statistics(mean, self._bessel_corrected(x, variance) if self.bessel else variance)
        normalized = tf.nn.batch_normalization(x, mean, variance, beta, gamma, self.epsilon)
        return self._noisy(normalized) if self.noise > 0 else normalized

    def _noisy(self, y: tf.Tensor) -> tf.Tensor:
        """Santurkar et al. (2018, §2.1)'s noisy BN as we read it: each training step draws, per channel, a mean
        ~ U(-noise, noise) and an SD ~ U(0, noise), and adds i.i.d. normal noise of that mean and SD to every
        activation of the channel, so that what the next layer receives has a non-zero mean and a non-unit variance
        that change every step. Inference adds none."""
        channels = (y.shape[-1],)
        mean = keras.random.uniform(channels, -self.noise, self.noise, seed=self.noise_generator, dtype=y.dtype)
        sd = keras.random.uniform(channels, 0.0, self.noise, seed=self.noise_generator, dtype=y.dtype)
        return y + mean + sd * keras.random.normal(tf.shape(y), seed=self.noise_generator, dtype=y.dtype)

    def _bessel_corrected(self, x: tf.Tensor, variance: tf.Tensor) -> tf.Tensor:
        """The unbiased estimate m/(m-1) x the batch variance, m the values per channel in the (global) batch: the
        moving variance then averages to the population's, not to (m-1)/m of it (1/2 at m = 2)."""
        count = tf.cast(tf.size(x) // tf.shape(x)[-1], x.dtype)
        context = tf.distribute.get_replica_context()
        if self.synchronized and context is not None and context.num_replicas_in_sync > 1:
            count = context.all_reduce(tf.distribute.ReduceOp.SUM, count)
        return variance * count / (count - 1.0)

    def _clipping(self) -> dict[str, tf.Tensor | float]:
        """renorm_clipping, or during the warm-up its limits relaxed so far: r in [1, 1] and d in [0, 0] until
        `hold`, then linearly to the full limits at `relaxed` (Ioffe 2017, §4)."""
        clip = self.renorm_clipping
        if self.renorm_warmup is None:
            return clip
        hold, relaxed = self.renorm_warmup
        done = self.renorm_steps.assign_add(1.0) - 1.0  # steps before this one
        ramp = tf.clip_by_value((done - hold) / max(relaxed - hold, 1), 0.0, 1.0)
        return {
            "rmax": 1.0 + (clip["rmax"] - 1.0) * ramp,
            "rmin": 1.0 + (clip["rmin"] - 1.0) * ramp,
            "dmax": clip["dmax"] * ramp,
        }

    def batch_moments(self, x: tf.Tensor, weights: tf.Tensor | None) -> tuple[tf.Tensor, tf.Tensor]:
        """Mean and (biased) variance over every axis but the channels; weighted per example when given."""
        axes = list(range(len(x.shape) - 1))
        context = tf.distribute.get_replica_context()
        if self.synchronized and context is not None and context.num_replicas_in_sync > 1:
            return synchronized_moments(x, axes, context)
        if weights is None and x.dtype.size < 4:  # `compute`: tf.nn.moments would square in float32; here float16
            mean = tf.reduce_mean(x, axes)
            return mean, tf.reduce_mean(tf.square(x - mean), axes)
        if weights is None:
            return tf.nn.moments(x, axes)
        per_example = tf.reshape(tf.cast(weights, x.dtype), [-1] + [1] * (len(x.shape) - 1))  # (B, 1, ...)
        return tf.nn.weighted_moments(x, axes, per_example)

    def _renormalized(
        self, mean: tf.Tensor, variance: tf.Tensor, gamma: tf.Tensor | None, beta: tf.Tensor | None
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Scale and offset of Batch Renormalization: (x_hat * r + d) * gamma + beta, r and d held constant."""
        stddev = tf.sqrt(variance + self.epsilon)
        renorm_stddev = tf.cast(tf.maximum(self.renorm_stddev, tf.sqrt(self.epsilon)), mean.dtype)  # never ~0
        r = stddev / renorm_stddev
        d = (mean - tf.cast(self.renorm_mean, mean.dtype)) / renorm_stddev
        clip = self._clipping()
        r = tf.clip_by_value(r, clip.get("rmin", -float("inf")), clip.get("rmax", float("inf")))
        if clip.get("dmax") is not None:
            d = tf.clip_by_value(d, -clip["dmax"], clip["dmax"])
        r, d = tf.stop_gradient(r), tf.stop_gradient(d)
        scale = r if gamma is None else r * gamma
        offset = d if gamma is None else d * gamma
        return scale, offset if beta is None else offset + beta

    def _update_moving_statistics(self, mean: tf.Tensor, variance: tf.Tensor) -> None:
        """m = momentum * m + (1 - momentum) * batch statistic, inside the training step."""
        if self.renorm:
            stddev = tf.sqrt(variance + self.epsilon)
            _ema(self.renorm_mean, mean, self.renorm_momentum)
            _ema(self.renorm_stddev, stddev, self.renorm_momentum)
            _ema(self.moving_mean, mean, self.momentum)
            moving_stddev = _ema(self.moving_stddev, stddev, self.momentum)
            self.moving_variance.assign(tf.nn.relu(moving_stddev * moving_stddev - self.epsilon))
        elif self.zero_debias:
            step = self.local_step.assign_add(1.0)
            correction = 1.0 - tf.pow(tf.constant(self.momentum, tf.float32), step)
            self.moving_mean.assign(_ema(self.biased_mean, mean, self.momentum) / correction)
            self.moving_variance.assign(_ema(self.biased_variance, variance, self.momentum) / correction)
        else:
            _ema(self.moving_mean, mean, self.momentum)
            _ema(self.moving_variance, variance, self.momentum)

    def get_config(self) -> dict:
        """Every constructor argument (each is stored under its own name), so that a saved model loads."""
        arguments = [name for name in inspect.signature(NnBatchNorm).parameters if name != "kwargs"]
        return {**super().get_config(), **{name: getattr(self, name) for name in arguments}}


def synchronized_moments(x: tf.Tensor, axes: list[int], context: tf.distribute.ReplicaContext):
    """Mean and variance of the global batch, from every replica's slice, in two all-reduced passes: the sum and
    count give the mean, then the squared deviations from it give the variance. Keras' one pass, E[x^2] - E[x]^2
    in float32, loses the variance when the mean is large next to the spread; this does not (tests/test_distribute.py).
    """
    count = tf.cast(tf.size(x) // tf.shape(x)[-1], x.dtype)
    total, total_count = context.all_reduce(tf.distribute.ReduceOp.SUM, [tf.reduce_sum(x, axes), count])
    mean = total / total_count
    squares = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.reduce_sum(tf.square(x - mean), axes))
    return mean, squares / total_count


def _ema(variable: keras.Variable, value: tf.Tensor, momentum: float) -> tf.Tensor:
    """Move `variable` towards `value` by (1 - momentum), in the variable's dtype; returns the new value."""
    new_value = momentum * variable + (1.0 - momentum) * tf.cast(value, variable.dtype)
    variable.assign(new_value)
    return new_value
