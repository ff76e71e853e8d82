"""Extra measurements at every evaluation of the BN paper's runs (`reproduce paper`).

Ioffe & Szegedy (2015), Figure 1: (a) test accuracy against training step (the trainer logs it), (b, c) the 15th,
50th and 85th percentiles of the input to one sigmoid of the last hidden layer, without and with BN, over training.
The figure shows one unit; the drift we judge is measured on every unit of that layer and summarised by the median.
"""

from __future__ import annotations

import keras
import numpy as np

from bn_mnist.core.nets import naming
from bn_mnist.core.nets.models import FC_UNITS
from bn_mnist.core.tensorboard import tags
from bn_mnist.core.training.measurement import Context, Measured
from bn_mnist.studies.reproduce.experiments import BATCH, DRIFT_WINDOW, PERCENTILES, UNIT

LAYER = naming.activation_name(f"dense{len(FC_UNITS)}")  # the last hidden layer's activation; under BN its
# input is BN's output


def drift(history: np.ndarray) -> float:
    """How far the sigmoid inputs' distribution moved: per unit, the mean over the 15/50/85th percentiles of
    |mean of the last DRIFT_WINDOW evaluations - mean of the first DRIFT_WINDOW after step 0|; then the median over
    the units. Window means, because the evaluation-to-evaluation jitter of a single value is not the shift the
    paper shows. `history` is (evaluations, units, percentiles), step 0 first."""
    after_start = history[1:]
    shift = np.abs(after_start[-DRIFT_WINDOW:].mean(axis=0) - after_start[:DRIFT_WINDOW].mean(axis=0))
    return float(np.median(shift.mean(axis=1)))


class PaperProbe:
    """Unit UNIT's percentiles and (once there are two windows of evaluations) the drift over all units of the last
    hidden layer's sigmoid inputs, in inference mode (a `Measurement`; the trainer logs the test accuracy it
    wants beside them)."""

    wants_test_accuracy = True  # Figure 1 (a): test accuracy at every evaluation

    def __init__(self) -> None:
        self._inputs_of_layer: keras.Model | None = None
        self._history: list[np.ndarray] = []  # per evaluation: (units, percentiles)

    def __call__(self, context: Context) -> Measured:
        if self._inputs_of_layer is None:  # built once: the sub-model shares the trained model's variables
            model = context.model
            self._inputs_of_layer = keras.Model(model.input, model.get_layer(LAYER).input)
        images = context.validation_images[:BATCH]
        inputs = np.asarray(self._inputs_of_layer(images, training=False))  # (BATCH, units)
        self._history.append(np.percentile(inputs, PERCENTILES, axis=0).T)  # (units, percentiles)
        values = {tags.percentile_tag(p): float(v) for p, v in zip(PERCENTILES, self._history[-1][UNIT])}
        if len(self._history) > 2 * DRIFT_WINDOW:
            values[tags.DRIFT] = drift(np.asarray(self._history))
        return Measured(values)
