"""Extra measurements at every evaluation point of a run, for the BN paper's MNIST figure (`reproduce paper`).

Ioffe & Szegedy (2015), Figure 1: (a) test accuracy against training step, (b, c) the 15th, 50th and 85th
percentiles of the input to one sigmoid of the last hidden layer, without and with BN, over training.
"""

from __future__ import annotations

import keras
import numpy as np

from bn_mnist.nets.models import FC_UNITS
from bn_mnist.training import runlog
from bn_mnist.training.engine import Engine

UNIT = 0  # the fixed unit of the last hidden layer whose input is tracked
BATCH = 1000  # the fixed evaluation batch: the first 1,000 validation images
PERCENTILES = (15, 50, 85)
LAYER = f"act_dense{len(FC_UNITS)}"  # the last hidden layer's activation; its input is BN's output under BN


def percentile_tag(percentile: int) -> str:
    return f"probe/last_hidden_input_p{percentile}"


class PaperProbe:
    """Test accuracy and the percentiles of one last-hidden-layer activation input, in inference mode."""

    def __init__(self) -> None:
        self._inputs_of_layer: keras.Model | None = None

    def __call__(self, engine: Engine) -> dict[str, float]:
        if self._inputs_of_layer is None:  # built once: the sub-model shares the trained model's variables
            model = engine.model
            self._inputs_of_layer = keras.Model(model.input, model.get_layer(LAYER).input)
        images = engine.eval_sets["val"][0][:BATCH]
        unit_input = np.asarray(self._inputs_of_layer(images, training=False))[:, UNIT]  # (BATCH,)
        values = np.percentile(unit_input, PERCENTILES)
        _, test_accuracy = engine.evaluate("test")
        return {
            runlog.TEST_ACCURACY: test_accuracy,
            **{percentile_tag(p): float(v) for p, v in zip(PERCENTILES, values)},
        }
