"""The checks of `diagnose`: each declared here with its threshold (docs/diagnose.md gives what it measures, the
reason and references; a test holds the page to these numbers), each a function of measurements that returns its
finding or None."""

from __future__ import annotations

import keras
import numpy as np

from bn_mnist.core import bn_probe as probe
from bn_mnist.core.data.sources import first_line
from bn_mnist.tools.diagnose.findings import Finding

FLOAT16_TINY = float(np.finfo(np.float16).tiny)  # 6.1e-05, float16's smallest normal number


CHECKS = {  # check -> the size above which it is a finding (docs/diagnose.md gives each one's reason)
    "finite": 0.0,  # non-finite moving statistics or outputs (any)
    "initial": 0.0,  # moving mean exactly 0 and variance exactly 1 in every channel (any)
    "frozen": 0.0,  # trainable=False (any)
    "mean_gap": 0.5,  # |moving mean - the data's mean| / the data's SD, worst channel
    "sd_ratio": 1.5,  # the data's SD / the moving SD, or its inverse, worst channel
    "batch": 1e-4,  # the largest change of an inference output as the rest of its batch changes / the largest output
    "window": 0.01,  # the weight the moving statistics still give their values before training: momentum ** steps
    "float16": 0.0,  # a layer computing in float16 with epsilon below float16's smallest normal (any)
    "accuracy_gap": 0.02,  # |training-mode - inference-mode accuracy|, training mode in batches of 128
}

RECOMPUTE = "recompute its moving statistics on that data (a pass in training mode that changes no weight)"
FIX_STATISTICS = f"If the model serves this data, {RECOMPUTE}; if they lag training, lower the momentum or train longer"


def over(check: str, size: float) -> bool:
    """Whether a measured size is a finding of `check`."""
    return size > CHECKS[check]


def finite(path: str, layer: keras.Layer) -> Finding | None:
    """Moving statistics that hold NaN or infinity (a run that diverged): every other number of the layer is moot."""
    bad = sum(int(np.sum(~np.isfinite(np.asarray(v)))) for v in (layer.moving_mean, layer.moving_variance))
    if not bad:
        return None
    what = f"{bad} moving statistics are NaN or infinite: inference outputs are not numbers"
    return Finding("finite", path, what, float(bad), "Retrain from before it diverged, or recompute the statistics")


def finite_outputs(outputs: np.ndarray) -> Finding | None:
    bad = int(np.sum(~np.isfinite(outputs)))
    if not bad:
        return None
    what = f"{bad} of {outputs.size:,} inference outputs on the data are NaN or infinite"
    return Finding("finite", "model", what, float(bad), "Look for the layer that overflows (a diverged run?)")


def initial(path: str, layer: keras.Layer) -> Finding | None:
    mean, variance = np.asarray(layer.moving_mean), np.asarray(layer.moving_variance)
    if not (np.all(mean == 0) and np.all(variance == 1)):
        return None
    return Finding(
        "initial",
        path,
        f"moving statistics never updated: mean 0 and variance 1 in all {mean.size} channels, their initial values, "
        "so inference normalizes with numbers it never measured",
        1.0,
        "Train it in training mode (fit, or training=True in a custom loop; code using stateless_call must assign the "
        f"non-trainable variables it returns), or {RECOMPUTE}",
    )


def frozen(path: str, layer: keras.Layer, sample) -> Finding | None:
    """A layer with trainable=False: whether training mode still uses batch statistics decides what it means."""
    if layer.trainable:
        return None
    if np.array_equal(probe.training_mode(layer, sample), np.asarray(layer(sample, training=False))):
        what = "trainable=False: in training too it normalizes with its moving statistics and never updates them"
        fix = f"Fine if intended; fine-tuning on other data, train the layer or {RECOMPUTE}"
    else:
        what = "trainable=False, yet in training mode it normalizes with batch statistics (as Keras 2 did)"
        fix = "If it is meant to be frozen, call it with training=False"
    return Finding("frozen", path, what, 1.0, fix)


def statistics(path: str, layer: keras.Layer, received: probe.Received) -> list[Finding]:
    """The moving statistics against what the layer received on the data, channel by channel."""
    epsilon = float(getattr(layer, "epsilon", 0.0))
    moving_mean = np.asarray(layer.moving_mean, np.float64)
    moving_variance = np.asarray(layer.moving_variance, np.float64)
    data_sd, moving_sd = np.sqrt(received.variance + epsilon), np.sqrt(moving_variance + epsilon)
    gaps = np.abs(moving_mean - received.mean) / data_sd
    ratios = np.maximum(data_sd / moving_sd, moving_sd / data_sd)
    found = []
    worst, limit = int(gaps.argmax()), CHECKS["mean_gap"]
    if over("mean_gap", gaps[worst]):
        what = (
            f"moving mean {gaps[worst]:.2f} SD from the data's mean in channel {worst} "
            f"({np.sum(gaps > limit)} of {gaps.size} channels above {limit})"
        )
        found.append(Finding("mean_gap", path, what, float(gaps[worst]), FIX_STATISTICS))
    worst = int(ratios.argmax())
    if over("sd_ratio", ratios[worst]):
        larger, smaller = ("data's", "moving") if data_sd[worst] > moving_sd[worst] else ("moving", "data's")
        what = f"the {larger} SD is {ratios[worst]:.2f}x the {smaller} SD in channel {worst}"
        found.append(Finding("sd_ratio", path, what, float(ratios[worst]), FIX_STATISTICS))
    return found


def window(path: str, layer: keras.Layer, iterations: int) -> Finding | None:
    """Moving averages that still remember where they were before training: their initial values, or a pretrained
    model's (zero-debiased ones remember nothing; a layer without `momentum` is not one this can judge)."""
    momentum = float(getattr(layer, "momentum", 0.0))
    if getattr(layer, "zero_debias", False) or not hasattr(layer, "momentum"):
        return None
    weight = momentum**iterations
    if not over("window", weight):
        return None
    steps = "never moves" if momentum >= 1 else f"averages over about {1 / (1 - momentum):,.0f} steps"
    what = (
        f"momentum {momentum:g} {steps}, and the optimizer took {iterations:,}: the moving statistics still give "
        f"{weight:.1%} weight to their values before training (initial or pretrained)"
    )
    return Finding("window", path, what, weight, f"Train longer, lower the momentum, or {RECOMPUTE}")


def float16(path: str, layer: keras.Layer) -> Finding | None:
    """Keras' BatchNormalization computes in float32 whatever its policy (its call upcasts); other layers may not."""
    epsilon = float(getattr(layer, "epsilon", 0.0))
    if isinstance(layer, keras.layers.BatchNormalization) or layer.compute_dtype != "float16":
        return None
    if not over("float16", FLOAT16_TINY - epsilon):
        return None
    what = (
        f"computes in float16 with epsilon {epsilon:g}, below float16's smallest normal number ({FLOAT16_TINY:.2g}): "
        "it loses precision there and is 0 below 6e-08, when a channel of constant input divides by zero"
    )
    return Finding("float16", path, what, epsilon, "Use epsilon >= 1e-3, or compute the statistics in float32")


def batch(change: float) -> Finding | None:
    if not over("batch", change):
        return None
    what = (
        f"inference outputs depend on the rest of the batch: an output moves by {change:.2g} of the largest output "
        "when its batch changes (float round-off moves it by less than 1e-6)"
    )
    fix = "Something runs BN in training mode at inference: look for a layer that passes training=True"
    return Finding("batch", "model", what, change, fix)


def batch_of_one(error: Exception) -> Finding:
    """A model that cannot predict one example alone (size 1: the whole output is lost)."""
    what = f"fails on a batch of one example ({type(error).__name__}: {first_line(error)})"
    return Finding("batch", "model", what, 1.0, "Something runs BN in training mode at inference")


def accuracy_gap(training: float, inference: float) -> Finding | None:
    gap = abs(training - inference)
    if not over("accuracy_gap", gap):
        return None
    batches = probe.TRAINING_BATCH
    what = f"accuracy {training:.4f} in training mode (batches of {batches}) against {inference:.4f} in inference mode"
    fix = f"The moving statistics lag the weights or miss the data: {RECOMPUTE}"
    return Finding("accuracy_gap", "model", what, gap, fix)
