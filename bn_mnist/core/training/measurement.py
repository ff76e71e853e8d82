"""The one protocol of every measurement taken at a run's evaluation points (inside the network, the BN paper's
probe, `explain`'s landscape probe): a callable that gets a narrow `Context` of the run and returns `Measured`.

The context is what a measurement needs and nothing of the trainer. A measurement that also needs the test accuracy
at every evaluation says so (`wants_test_accuracy`) and the trainer logs it. No measurement may change training: each
is tested to leave every variable and every logged number as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import keras
import numpy as np
import tensorflow as tf


@dataclass(frozen=True)
class Batch:
    """Model inputs (the images, and each example's weight when BN uses weighted batch statistics) and labels."""

    inputs: Any
    labels: tf.Tensor


@dataclass(frozen=True)
class Context:
    """What a measurement may see of a run."""

    model: keras.Model
    loss: Callable[[tf.Tensor, tf.Tensor], tf.Tensor]  # (labels, logits) -> the training loss
    learning_rate: float
    activation: str  # the hidden layers' (config.model.activation)
    training_batch: Callable[[int], Batch]  # step -> the training batch that step trains on (the run's order)
    validation_images: np.ndarray  # (N, 28, 28, 1), the run's validation split
    validation_labels: np.ndarray
    model_inputs: Callable[[Any, Any], Any]  # (images, labels) -> what the model takes
    step: int = 0  # the evaluation point: training steps done
    last: bool = False  # the run's last evaluation (its last step, or the step it diverged at)

    def validation_batch(self, count: int) -> Batch:
        """The first `count` validation images as a fixed batch."""
        labels = self.validation_labels[:count]
        return Batch(self.model_inputs(self.validation_images[:count], labels), labels)


@dataclass(frozen=True)
class Measured:
    """One evaluation point's measurements, keyed by their TensorBoard tags: scalars (also in metrics.jsonl) and
    histograms (TensorBoard only)."""

    scalars: dict[str, float]
    histograms: dict[str, np.ndarray] = field(default_factory=dict)


class Measurement(Protocol):
    """Built once per run in the process that trains it (so a class or function that makes one pickles into a
    worker); called at step 0 and at every evaluation point."""

    wants_test_accuracy: bool

    def __call__(self, context: Context) -> Measured: ...
