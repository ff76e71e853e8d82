"""The measurements of `pitfalls`, each a `Measurement` (training/measurement.py) that changes nothing of the run it
measures: training mode goes through `stateless_call` (moving statistics it would update are dropped), statistics
set for a measurement are restored, and fine-tuning trains a copy of the model. A last-step measurement (`AtLast`) is
taken at the run's last evaluation: its last step, or the step it diverged at.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import keras
import numpy as np
import tensorflow as tf

from bn_mnist.core import bn_probe as probe
from bn_mnist.core.config import Config
from bn_mnist.core.tensorboard import tags
from bn_mnist.core.training.measurement import Context, Measured, Measurement
from bn_mnist.studies.pitfalls.experiments import RECOMPUTE_BATCHES, REGIMES

COMPANION_BATCHES = 20  # batches of other validation images a fixed example is put in, in training mode
SINGLE_EXAMPLES = 100  # validation images classified one at a time in training mode
SHIFT_BATCHES = 20  # validation batches (of the run's size) whose training-mode variances ShiftProbe averages
CLASS_BATCHES = 50  # validation batches of the run's classes per batch that ClassBatchProbe classifies
ADABN_BATCHES = 100  # new-domain training batches whose statistics AdaBN takes
Statistics = dict[str, tuple[np.ndarray, np.ndarray]]  # BN layer path -> (per-channel mean, variance)


def low_contrast(images: np.ndarray | tf.Tensor):
    """The shifted domain: grey digits on a grey background (0.3 + 0.4 x). An affine change with a positive scale:
    what a first layer's BN statistics can undo exactly (inverted digits would flip every unit's sign)."""
    return 0.3 + 0.4 * images


def population_statistics(model: keras.Model, batches: list) -> Statistics:
    """Per BN layer, the mean over `batches` of its batch means and of its (biased) batch variances, each batch run
    in training mode as a training step runs it: what a moving average converges to, without its lag. The model's
    BN layers must be trainable (Keras runs a frozen one in inference mode whatever `training` says)."""
    found = probe.training_statistics(model, np.stack([np.asarray(batch) for batch in batches]))
    return {
        path: (sum(means) / len(batches), sum(variances) / len(batches)) for path, (means, variances) in found.items()
    }


def moving_statistics(model: keras.Model) -> Statistics:
    return {
        path: (np.asarray(layer.moving_mean), np.asarray(layer.moving_variance))
        for path, layer in probe.bn_layers(model).items()
    }


def assign(model: keras.Model, statistics: Statistics) -> None:
    for path, layer in probe.bn_layers(model).items():
        mean, variance = statistics[path]
        layer.moving_mean.assign(np.asarray(mean, np.float32))
        layer.moving_variance.assign(np.asarray(variance, np.float32))


@contextlib.contextmanager
def statistics_set(model: keras.Model, statistics: Statistics) -> Iterator[None]:
    """While open, the model's BN layers use `statistics` as their moving ones; the old ones come back after."""
    saved = moving_statistics(model)
    assign(model, statistics)
    try:
        yield
    finally:
        assign(model, saved)


def accuracy(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> float:
    """Inference-mode accuracy."""
    return float(np.mean(probe.inference(model, images).argmax(-1) == labels))


def training_batches(context: Context, count: int, domain: Callable = lambda x: x) -> list:
    """The run's first `count` training batches (model inputs), in `domain`."""
    return [domain(context.training_batch(step).inputs) for step in range(count)]


def batch_size(context: Context) -> int:
    return int(context.training_batch(0).labels.shape[0])


class AtLast:
    """A measurement taken only at the run's last evaluation; before it, nothing."""

    wants_test_accuracy = False

    def __call__(self, context: Context) -> Measured:
        return Measured(self.measure(context) if context.last else {})

    def measure(self, context: Context) -> dict[str, float]:
        raise NotImplementedError


def recomputed_accuracy(context: Context, count: int) -> float:
    """Validation accuracy with the statistics recomputed over the run's first `count` training batches."""
    model = context.model
    with statistics_set(model, population_statistics(model, training_batches(context, count))):
        return accuracy(model, np.asarray(context.validation_images), np.asarray(context.validation_labels))


class ModesProbe:
    """Training- against inference-mode validation accuracy at every evaluation; at the last also the inference
    accuracy with population statistics recomputed over each of RECOMPUTE_BATCHES training batches."""

    wants_test_accuracy = False

    def __call__(self, context: Context) -> Measured:
        images, labels = np.asarray(context.validation_images), np.asarray(context.validation_labels)
        training, _ = probe.accuracies(context.model, images, labels, batch_size(context))
        values = {tags.TRAINING_MODE_ACCURACY: training}
        if context.last:
            values |= {
                tags.recomputed_accuracy(count): recomputed_accuracy(context, count) for count in RECOMPUTE_BATCHES
            }
        return Measured(values)


class BatchProbe(AtLast):
    """One example (the first validation image) inside COMPANION_BATCHES batches of other validation images, all of
    the run's batch size: its outputs among them (in inference mode equal to the bit; against the example alone they
    differ by round-off, a batch of one taking another matrix kernel), and its class against its class alone."""

    def measure(self, context: Context) -> dict[str, float]:
        model, images = context.model, np.asarray(context.validation_images)
        labels, size, example = np.asarray(context.validation_labels), batch_size(context), images[:1]
        count = min(COMPANION_BATCHES, (len(images) - 1) // (size - 1))  # as many as the validation set holds
        others = images[1:][: count * (size - 1)].reshape(count, size - 1, *images.shape[1:])
        together = [np.concatenate([example, batch]) for batch in others]
        training = probe.training_outputs(model, np.stack(together))[::size]  # each batch's first: (K, 10)
        inference = np.stack([probe.inference(model, batch)[0] for batch in together])
        alone = probe.inference(model, example)[0]
        single = probe.training_outputs(model, images[:SINGLE_EXAMPLES, None]).argmax(-1)  # batches of one
        alone_classes = [probe.inference(model, images[i : i + 1])[0].argmax() for i in range(SINGLE_EXAMPLES)]
        return {
            tags.BATCH_CHANGE: float(np.abs(training - training.mean(0)).max() / np.abs(training).max()),
            tags.PREDICTION_FLIPS: float(np.mean(training.argmax(-1) != alone.argmax())),
            tags.INFERENCE_BATCH_CHANGE: float(np.abs(inference - inference[0]).max()),
            tags.BATCH_OF_ONE_ACCURACY: float(np.mean(single == labels[:SINGLE_EXAMPLES])),
            tags.ALONE_INFERENCE_ACCURACY: float(np.mean(np.array(alone_classes) == labels[:SINGLE_EXAMPLES])),
        }


@contextlib.contextmanager
def dropout_off(model: keras.Model) -> Iterator[None]:
    """While open, the model's dropout layers pass everything, in training mode too (their rate is 0)."""
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    rates = [layer.rate for layer in layers]
    for layer in layers:
        layer.rate = 0.0
    try:
        yield
    finally:
        for layer, rate in zip(layers, rates):
            layer.rate = rate


class ShiftProbe(AtLast):
    """Per BN layer: the variance it receives in training mode (the mean over SHIFT_BATCHES validation batches of
    the run's size of each batch's variance, dropout on; every stateless call draws the same masks, each example its
    own) over the variance it receives at inference on the same images, as a geometric mean over channels (1: no
    shift); and the validation accuracy with the statistics recomputed over RECOMPUTE_BATCHES[-1] training batches
    with dropout on (what the moving averages estimate, without their lag) and off (the shift removed)."""

    def measure(self, context: Context) -> dict[str, float]:
        model, size = context.model, batch_size(context)
        count = min(SHIFT_BATCHES, len(context.validation_labels) // size)  # as many as the validation set holds
        images = np.asarray(context.validation_images)[: count * size]
        trained = population_statistics(model, list(images.reshape(count, size, *images.shape[1:])))
        layers = probe.bn_layers(model)
        with probe.recording(layers) as received:
            probe.inference(model, images)
        values = {}
        for path in layers:
            ratio = trained[path][1] / np.maximum(received[path].variance, 1e-12)
            values[tags.per_layer(tags.VARIANCE_SHIFT, path.removeprefix("bn_"))] = float(np.exp(np.log(ratio).mean()))
        count = RECOMPUTE_BATCHES[-1]
        values[tags.recomputed_accuracy(count)] = recomputed_accuracy(context, count)
        with dropout_off(model):
            values[tags.RECOMPUTED_WITHOUT_DROPOUT_ACCURACY] = recomputed_accuracy(context, count)
        return values


class ClassBatchProbe(AtLast):
    """Validation accuracy in training mode on CLASS_BATCHES batches of the run's size holding `classes` classes
    each (0: shuffled), against inference mode on the same images: BN reads the batch, inference cannot."""

    def __init__(self, classes: int) -> None:
        self.classes = classes

    def measure(self, context: Context) -> dict[str, float]:
        from bn_mnist.core.training.engine import batch_order, class_batch_order

        model, size = context.model, batch_size(context)
        images, labels = np.asarray(context.validation_images), np.asarray(context.validation_labels)
        if self.classes:
            order = class_batch_order(labels, self.classes, size, CLASS_BATCHES, seed=0)
        else:
            order = batch_order(len(labels), size, CLASS_BATCHES, seed=0)
        training = probe.training_outputs(model, images[order])
        inference = probe.inference(model, images[order.ravel()])
        truth = labels[order.ravel()]
        return {
            tags.CLASS_BATCH_TRAINING_ACCURACY: float(np.mean(training.argmax(-1) == truth)),
            tags.CLASS_BATCH_INFERENCE_ACCURACY: float(np.mean(inference.argmax(-1) == truth)),
        }


def statistics_gap(model: keras.Model, images: np.ndarray) -> dict[str, float]:
    """Per BN layer: |moving mean - the mean it receives at inference on `images`| in units of what it receives'
    SD, averaged over channels."""
    layers = probe.bn_layers(model)
    with probe.recording(layers) as received:
        probe.inference(model, images)
    gaps = {}
    for path, layer in layers.items():
        got = received[path]
        gap = np.abs(np.asarray(layer.moving_mean, np.float64) - got.mean) / np.sqrt(np.maximum(got.variance, 1e-12))
        gaps[path.removeprefix("bn_")] = float(gap.mean())
    return gaps


def frozen_copy(model: keras.Model, regime: str) -> keras.Model:
    """A copy of `model` (weights and statistics) set up for fine-tuning in `regime`: every layer but the output
    layer frozen (`trainable=False`: Keras 3 runs a frozen BN layer in inference mode), or, in frozen_bn_training,
    every kernel and BN's gamma and beta frozen while the BN layers keep training mode (batch statistics, moving
    averages updated: Keras 2's behaviour); in `all`, nothing frozen."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    if regime == "all":
        return copy
    bn = set(probe.bn_layers(copy).values())
    for layer in copy.layers[:-1]:
        if regime == "frozen_bn_training" and layer in bn:
            for variable in layer.trainable_weights:
                variable.trainable = False
        else:
            layer.trainable = False
    return copy


def fine_tuned(
    model: keras.Model, regime: str, batches: list, labels: list, context: Context, adabn_batches: int
) -> keras.Model:
    """The copy of `model` after one pass of SGD at the run's rate over `batches` (the new domain) in `regime`; AdaBN
    first sets the frozen base's statistics to the new domain's (its first `adabn_batches` batches)."""
    copy = frozen_copy(model, regime)
    if regime == "adabn":  # measured on the unfrozen model: a frozen BN layer ignores training=True
        assign(copy, population_statistics(model, batches[:adabn_batches]))
    optimizer = keras.optimizers.SGD(context.learning_rate)
    variables = copy.trainable_variables

    @tf.function
    def step(inputs, targets):
        with tf.GradientTape() as tape:
            loss = context.loss(targets, copy(inputs, training=True))  # a frozen BN layer still runs inference mode
        optimizer.apply(tape.gradient(loss, variables), variables)

    for inputs, targets in zip(batches, labels):
        step(inputs, targets)
    return copy


class FinetuneProbe(AtLast):
    """The pretrained model at the last evaluation, fine-tuned for `finetune_steps` on low-contrast digits in every
    regime of REGIMES (`frozen_copy`); the new domain's validation accuracy before and after, and each BN layer's
    statistics gap there."""

    def __init__(self, finetune_steps: int, adabn_batches: int = ADABN_BATCHES) -> None:
        self.finetune_steps, self.adabn_batches = finetune_steps, adabn_batches

    def measure(self, context: Context) -> dict[str, float]:
        model, labels = context.model, np.asarray(context.validation_labels)
        images = low_contrast(np.asarray(context.validation_images))
        batches = training_batches(context, self.finetune_steps, low_contrast)
        targets = [context.training_batch(step).labels for step in range(self.finetune_steps)]
        values = {tags.NEW_DOMAIN_ACCURACY: accuracy(model, images, labels)}
        values |= {
            tags.per_layer(tags.statistics_gap("before"), k): v for k, v in statistics_gap(model, images).items()
        }
        for regime in REGIMES:
            tuned = fine_tuned(model, regime, batches, targets, context, self.adabn_batches)
            values[tags.finetune_accuracy(regime)] = accuracy(tuned, images, labels)
            gaps = statistics_gap(tuned, images)
            values |= {tags.per_layer(tags.statistics_gap(regime), layer): gap for layer, gap in gaps.items()}
        return values


PROBES: dict[str, Callable[[Config], Measurement]] = {  # pitfall -> its probe, made from the run's config
    # fine-tuning for a quarter of the pretraining's steps (500 of 2,000)
    "frozen": lambda config: FinetuneProbe(max(1, config.train.steps // 4)),
    "lag": lambda config: ModesProbe(),
    "batch": lambda config: BatchProbe(),
    "non_iid": lambda config: ClassBatchProbe(config.data.classes_per_batch),
    "dropout": lambda config: ShiftProbe(),
}
