"""The training engine: data on the device, many steps per compiled call, compiled batched evaluation.

The traced functions hold no NumPy and no Python side effects; the eager driver (`trainer.py`) only decides
how many steps to run between logging points. `training=True/False` is always explicit: BN depends on it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from bn_mnist.core.config import Config
from bn_mnist.core.data import Mnist
from bn_mnist.core.nets import lsuv
from bn_mnist.core.nets.bn import inverse_class_frequency
from bn_mnist.core.nets.models import build_model, uses_example_weights
from bn_mnist.core.training import distribution

EVAL_BATCH = 1000  # divides 5,000 and 10,000, so evaluation traces one shape
ORDER_ROWS = 1024  # the smallest bucket of training steps (`padded`)


def batch_order(num_examples: int, batch_size: int, steps: int, seed: int) -> np.ndarray:
    """Indices (steps, batch_size) of every batch: a shuffled stream reshuffled each epoch, as the old TF loader.

    A batch that crosses an epoch end takes the rest of one permutation and the start of the next.
    """
    rng = np.random.default_rng(seed)
    epochs = -(-steps * batch_size // num_examples)  # ceil
    stream = np.concatenate([rng.permutation(num_examples) for _ in range(epochs)])
    return stream[: steps * batch_size].reshape(steps, batch_size).astype(np.int32)


def class_batch_order(labels: np.ndarray, classes: int, batch_size: int, steps: int, seed: int) -> np.ndarray:
    """Indices (steps, batch_size) of non-i.i.d. batches: each step draws `classes` distinct classes at random and
    takes batch_size / classes examples of each from that class's own stream, reshuffled whenever it runs out."""
    rng = np.random.default_rng(seed)
    share = batch_size // classes
    members = {c: np.flatnonzero(labels == c) for c in np.unique(labels)}
    streams = {c: rng.permutation(members[c]) for c in members}
    order = np.empty((steps, batch_size), np.int32)
    for step in range(steps):
        parts = []
        for c in rng.choice(sorted(members), size=classes, replace=False):
            while len(streams[c]) < share:  # a class smaller than its share runs out more than once
                streams[c] = np.concatenate([streams[c], rng.permutation(members[c])])
            parts.append(streams[c][:share])
            streams[c] = streams[c][share:]
        order[step] = np.concatenate(parts)
    return order


def make_loss(name: str):
    """Mean cross-entropy on integer labels: sigmoid on one-hot (Solutions) or softmax (Lesson)."""

    def loss(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:  # labels (B,), logits (B, 10)
        onehot = tf.one_hot(tf.cast(labels, tf.int32), 10, dtype=logits.dtype)  # model.fit passes float labels
        if name == "sigmoid_cross_entropy":
            return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=onehot, logits=logits))
        return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=onehot, logits=logits))

    return loss


def learning_rate(config: Config) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The configured rate, or a step schedule that lowers it after `train.lr_drop_at` updates."""
    train = config.train
    if not train.lr_drop_at:
        return train.learning_rate
    return keras.optimizers.schedules.PiecewiseConstantDecay(  # the rate at iteration i (0-based): values[i > b]
        [train.lr_drop_at - 1], [train.learning_rate, train.learning_rate * train.lr_drop_factor]
    )


def make_optimizer(config: Config) -> keras.optimizers.Optimizer:
    """Plain gradient descent (Lesson) or Adam with TF1's epsilon 1e-8 (Solutions); under mixed_float16, wrapped in
    Keras' dynamic loss scaling (a step whose gradients are not finite is skipped and the scale halved)."""
    if config.train.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(learning_rate(config))
    else:
        optimizer = keras.optimizers.Adam(learning_rate(config), epsilon=1e-8)
    if config.model.precision == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def count_correct(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Number of argmax hits as float32 (NaN logits predict class 0, as in the tutorial's crashed runs)."""
    hits = tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32), labels)
    return tf.reduce_sum(tf.cast(hits, tf.float32))


@dataclass
class ChunkResult:
    """What one compiled call of many training steps returns to the driver."""

    steps_done: int
    mean_loss: float
    accuracy: float
    diverged_at: int | None  # first step whose loss was not finite; training stops there


def training_order(config: Config, labels: np.ndarray) -> np.ndarray:
    """The run's batches: shuffled (i.i.d.), or `data.classes_per_batch` classes per batch."""
    train, classes = config.train, config.data.classes_per_batch
    if classes:
        return class_batch_order(labels, classes, train.batch_size, train.steps, config.seed)
    return batch_order(len(labels), train.batch_size, train.steps, config.seed)


def padded(order: np.ndarray) -> np.ndarray:
    """The batches with rows of zeros up to the next power of two (at least ORDER_ROWS): the training call compiles
    once per bucket of step counts, not once per count (rows past the run's steps are never read)."""
    rows = max(ORDER_ROWS, 1 << (len(order) - 1).bit_length())
    return np.concatenate([order, np.zeros((rows - len(order), order.shape[1]), order.dtype)])


@dataclass(frozen=True)
class DeviceData:
    """MNIST as device tensors (copied there once, shared by every run that trains on it)."""

    source: Mnist  # the arrays it was copied from (held, so that `is` identifies them)
    images: tf.Tensor  # (N, 28, 28, 1)
    labels: tf.Tensor  # (N,)
    eval_images: tf.Tensor  # validation then test in one tensor: both evaluate in one compiled shape (one compile)
    eval_labels: tf.Tensor
    eval_spans: dict[str, tuple[int, int]]  # "val" and "test": (start, size) in eval_*

    @property
    def train_labels(self) -> np.ndarray:
        return self.source.train_y

    @classmethod
    def of(cls, mnist: Mnist | DeviceData) -> DeviceData:
        if isinstance(mnist, DeviceData):
            return mnist
        return cls(
            mnist,
            tf.constant(mnist.train_x),
            tf.constant(mnist.train_y),
            tf.constant(np.concatenate([mnist.val_x, mnist.test_x])),
            tf.constant(np.concatenate([mnist.val_y, mnist.test_y])),
            {"val": (0, len(mnist.val_y)), "test": (len(mnist.val_y), len(mnist.test_y))},
        )


class Engine:
    """Compiled training and evaluation of one model on MNIST held in device tensors (copied there once).

    Under a tf.distribute `strategy` (the model and this Engine made in its scope), each step runs on every replica
    with its slice of the global batch; the optimizer all-reduces (sums) the gradients, so each replica's loss is
    its slice's mean divided by the replica count: the same update as one device with the whole batch.
    """

    def __init__(
        self,
        model: keras.Model,
        config: Config,
        mnist: Mnist | DeviceData,
        strategy: tf.distribute.Strategy | None = None,
    ):
        self.model = model
        self.strategy = strategy
        self.loss = make_loss(config.train.loss)
        self.optimizer = make_optimizer(config)
        self.optimizer.build(model.trainable_variables)
        self.weighted = uses_example_weights(config.bn)
        jit = config.xla
        self._train_chunk = tf.function(self._train_chunk_fn, jit_compile=jit)
        self._evaluate = tf.function(self._evaluate_fn, jit_compile=jit)
        self._evaluate_without_xla = tf.function(self._evaluate_fn, jit_compile=False)
        self.start(config, DeviceData.of(mnist))

    def start(self, config: Config, data: DeviceData) -> None:
        """A run's data and batches: arguments of the compiled calls, so that another run's need no new trace."""
        self.images, self.labels = data.images, data.labels
        self.eval_images, self.eval_labels, self.eval_spans = data.eval_images, data.eval_labels, data.eval_spans
        order = training_order(config, data.train_labels)
        self.steps = len(order)
        self.order = tf.constant(padded(order))  # (rows, B): a bucket of rows, so that most runs share one shape

    def model_inputs(self, images: tf.Tensor, labels: tf.Tensor):
        """The images, and each example's weight when BN uses weighted batch statistics."""
        return [images, inverse_class_frequency(labels)] if self.weighted else images

    def _train_step(self, images: tf.Tensor, labels: tf.Tensor, share: float = 1.0) -> tuple[tf.Tensor, tf.Tensor]:
        """One update; the gradient is of the loss times `share` (a replica's share of the global batch)."""
        with tf.GradientTape() as tape:
            # training=True: batch statistics, and BN updates its moving averages
            logits = self.model(self.model_inputs(images, labels), training=True)
            loss = self.loss(labels, logits)
            scaled = self.optimizer.scale_loss(loss * share)  # loss scaling under mixed_float16, else unchanged
        variables = self.model.trainable_variables
        self.optimizer.apply(tape.gradient(scaled, variables), variables)
        return loss, count_correct(labels, logits)

    def _replica_step(self, images: tf.Tensor, labels: tf.Tensor, batch: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """On one replica: its slice of the global batch's indices (replica i takes the i-th equal part)."""
        context = tf.distribute.get_replica_context()
        size = batch.shape[0] // context.num_replicas_in_sync
        mine = batch[context.replica_id_in_sync_group * size :][:size]
        return self._train_step(tf.gather(images, mine), tf.gather(labels, mine), 1.0 / context.num_replicas_in_sync)

    def _global_step(self, images: tf.Tensor, labels: tf.Tensor, batch: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """One update with the global batch: on this device, or split across the strategy's replicas."""
        if self.strategy is None:
            return self._train_step(tf.gather(images, batch), tf.gather(labels, batch))
        loss, correct = self.strategy.run(self._replica_step, args=(images, labels, batch))
        mean = tf.distribute.ReduceOp.MEAN  # equal slices: the mean of the replicas' means is the batch's mean
        return self.strategy.reduce(mean, loss, axis=None), self.strategy.reduce("SUM", correct, axis=None)

    def _train_chunk_fn(
        self, images: tf.Tensor, labels: tf.Tensor, order: tf.Tensor, start: tf.Tensor, count: tf.Tensor
    ):
        # The data come in as arguments, not captures: an XLA-compiled function kept a copy of its captured
        # MNIST (~190 MB) alive after its Engine was gone, so a process training many runs grew without bound.
        def keep_going(i, loss_sum, correct_sum, diverged_at):
            return (i < count) & (diverged_at < 0)

        def step(i, loss_sum, correct_sum, diverged_at):
            batch = tf.gather(order, start + i)  # (B,); slicing would make `start` an XLA compile-time constant
            loss, correct = self._global_step(images, labels, batch)
            diverged_at = tf.where(tf.math.is_finite(loss), diverged_at, start + i + 1)
            return i + 1, loss_sum + loss, correct_sum + correct, diverged_at

        initial = (tf.constant(0), tf.constant(0.0), tf.constant(0.0), tf.constant(-1))
        return tf.while_loop(keep_going, step, initial)

    def compile_training(self) -> float:
        """Trace and compile the training call by running it for zero steps (no variable changes); returns the
        seconds it took, so that the steps' own timing is the steady-state rate."""
        started = time.perf_counter()
        self.train_steps(0, 0)
        return time.perf_counter() - started

    def train_steps(self, start: int, count: int) -> ChunkResult:
        """Run training steps start+1 .. start+count (1-based, as logged) in one compiled call."""
        done, loss_sum, correct_sum, diverged_at = self._train_chunk(
            self.images, self.labels, self.order, tf.constant(start), tf.constant(count)
        )
        done = int(done)
        return ChunkResult(
            steps_done=done,
            mean_loss=float(loss_sum) / max(done, 1),
            accuracy=float(correct_sum) / max(done * int(self.order.shape[1]), 1),
            diverged_at=int(diverged_at) if int(diverged_at) >= 0 else None,
        )

    def eval_set(self, split: str) -> tuple[tf.Tensor, tf.Tensor]:
        """The images and labels of "val" or "test" (a copy)."""
        start, size = self.eval_spans[split]
        return self.eval_images[start : start + size], self.eval_labels[start : start + size]

    def _evaluate_fn(
        self, images: tf.Tensor, labels: tf.Tensor, start: tf.Tensor, batches: tf.Tensor, batch_size: int
    ) -> tuple[tf.Tensor, tf.Tensor]:
        def add_batch(i, loss_sum, correct_sum):
            indices = start + i * batch_size + tf.range(batch_size)
            x, y = tf.gather(images, indices), tf.gather(labels, indices)
            logits = self.model(self.model_inputs(x, y), training=False)  # population statistics (moving averages)
            return i + 1, loss_sum + self.loss(y, logits) * batch_size, correct_sum + count_correct(y, logits)

        _, loss_sum, correct_sum = tf.while_loop(
            lambda i, *_: i < batches, add_batch, (tf.constant(0), tf.constant(0.0), tf.constant(0.0))
        )
        return loss_sum, correct_sum

    def evaluate(
        self, split: str, count: int | None = None, batch_size: int = EVAL_BATCH, xla: bool = True
    ) -> tuple[float, float]:
        """Mean loss and accuracy in inference mode on the first `count` examples of "val" or "test", in one
        compiled call (one compile per batch size for both splits); batch_size=1 feeds one example at a time.
        xla=False skips XLA even when the run uses it: for a call made once, XLA's compile costs more than it saves."""
        start, size = self.eval_spans[split]
        count = size if count is None else min(count, size)
        batch_size = min(batch_size, count)
        if count % batch_size:
            raise ValueError(f"{count} {split} examples do not split into batches of {batch_size}")
        evaluate = self._evaluate if xla else self._evaluate_without_xla
        loss_sum, correct_sum = evaluate(
            self.eval_images, self.eval_labels, tf.constant(start), tf.constant(count // batch_size), batch_size
        )
        return float(loss_sum) / count, float(correct_sum) / count


def build_engine(config: Config, mnist: Mnist | DeviceData, strategy: tf.distribute.Strategy | None = None) -> Engine:
    """The config's network and its Engine: on one device, or made in `strategy`'s scope (variables mirrored on every
    replica) for data-parallel training."""
    data = DeviceData.of(mnist)
    with distribution.scope(strategy):
        model = build_model(config.model, config.bn, config.seed, distributed=strategy is not None)
        if config.model.weight_init == "lsuv":
            lsuv.initialize(model, data.source.train_x[: lsuv.BATCH])
        return Engine(model, config, data, strategy)
