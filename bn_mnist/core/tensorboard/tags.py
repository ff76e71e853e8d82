"""Every TensorBoard tag bn-mnist writes beyond the run's scalars (those are in `core/runfiles.py`), defined once.

Layer names in tags have their number padded to two digits (`conv01` .. `conv19`, `dense20`), so TensorBoard's
alphabetical order is the network's order; `logits` is the output layer.
"""

from __future__ import annotations

import re

# Histograms, at every evaluation point, per layer.
PREACTIVATION = "preactivation"  # the activation's input on the fixed validation batch, training mode
WEIGHTS = "weights"  # the layer's kernel
BN_STATISTICS = ("gamma", "beta", "moving_mean", "moving_variance")  # BN's parameters and population statistics
# Scalars, at every evaluation point, per layer (also in metrics.jsonl).
WEIGHT_NORM = "weight_norm"  # L2 norm of the kernel
GRADIENT_NORM = "gradient_norm"  # L2 norm of the kernel's gradient of the training loss on the fixed batch
DEAD_RELU = "dead_relu"  # of the ReLU units whose input varies over the fixed batch, the fraction that output 0 for all
ACTIVATION_MEAN = "activation_mean"  # mean of the layer's output (after the activation) over the fixed batch
ACTIVATION_STD = "activation_std"  # its standard deviation over every example and unit (for `logits`: the output's)
# Scalars, once, at the end of a finished run: the outcome metrics of the HParams dashboard.
FINAL_VAL_ACCURACY = "final/val_accuracy"
FINAL_TEST_ACCURACY = "final/test_accuracy"
FINAL_SINGLE_SAMPLE_ACCURACY = "final/single_sample_accuracy"
FINAL_STEPS_TO_90 = "final/steps_to_val_accuracy_90"  # first logged step with validation accuracy >= 0.9
FINAL_DIVERGED = "final/diverged"  # 1 when the loss stopped being finite, else 0
PLOTS = "plots"  # image summaries at the root of a multi-run output: plots/<figure name>
INSPECT_BATCH = 256  # the inside-the-network measurements' fixed batch: the first 256 validation images
# Scalars of the probes, at every evaluation point of the runs that have them (also in metrics.jsonl).
# `reproduce paper` (reproduction/probes.py): the drift of the last hidden layer's sigmoid inputs, and percentiles.
DRIFT = "probe/drift_median_units"
# `explain landscape` and `ics` (explanation/probes.py): Santurkar et al.'s measures along the gradient, and per layer.
# A landscape tag is <variant>/<measure>: landscape/ on the next training batch at matched distances,
# landscape_held_out/ on a held-out batch, landscape_relative/ with each kernel moved by a fraction of its own norm
# (scale-invariant).
LOSS = "landscape/loss"
LANDSCAPE, HELD_OUT, RELATIVE = "landscape", "landscape_held_out", "landscape_relative"
LOSS_RANGE, GRADIENT_CHANGE, BETA = "loss_range", "gradient_change", "beta_smoothness"
LOSS_GRADIENT_NORM = "gradient_norm"  # ‖g‖ of the whole loss, where the landscape is measured
ICS_L2, ICS_COSINE = "ics_l2", "ics_cosine"  # per layer: ics_l2/dense01 ...


# `pitfalls` (pitfalls/probes.py): what each pitfall's probe measures.
TRAINING_MODE_ACCURACY = "pitfall/training_mode_accuracy"  # validation, training mode, batches of the run's size
BATCH_CHANGE = "pitfall/batch_change"  # training mode: an example's largest output change over its batches / largest
PREDICTION_FLIPS = "pitfall/prediction_flips"  # training mode: batches in which its class differs from inference's
INFERENCE_BATCH_CHANGE = "pitfall/inference_batch_change"  # inference mode: its largest change there (0 to the bit)
BATCH_OF_ONE_ACCURACY = "pitfall/batch_of_one_accuracy"  # training mode, one validation image at a time
ALONE_INFERENCE_ACCURACY = "pitfall/alone_inference_accuracy"  # the same images one at a time, inference mode
VARIANCE_SHIFT = "variance_shift"  # per BN layer: the variance received in training mode / at inference
NEW_DOMAIN_ACCURACY = "pitfall/new_domain_accuracy"  # the pretrained model on low-contrast digits, before fine-tuning
RECOMPUTED_WITHOUT_DROPOUT_ACCURACY = "pitfall/recomputed_without_dropout_accuracy"
CLASS_BATCH_TRAINING_ACCURACY = "pitfall/class_batch_training_accuracy"  # training mode, batches of k classes
CLASS_BATCH_INFERENCE_ACCURACY = "pitfall/class_batch_inference_accuracy"  # the same images, inference mode


def recomputed_accuracy(batches: int) -> str:
    """Validation accuracy with BN's statistics recomputed over `batches` training batches."""
    return f"pitfall/recomputed_accuracy_{batches}"


def finetune_accuracy(regime: str) -> str:
    """New-domain validation accuracy after fine-tuning in `regime`."""
    return f"pitfall/finetune_{regime}_accuracy"


def statistics_gap(regime: str) -> str:
    """Per BN layer, after fine-tuning in `regime` (or `before`): |moving - received mean| / received SD."""
    return f"statistics_gap_{regime}"


def layer_name(name: str) -> str:
    """`conv1` -> `conv01`: tags sort in the network's order."""
    return re.sub(r"\d+", lambda number: number.group().zfill(2), name)


def per_layer(kind: str, layer: str) -> str:
    """e.g. per_layer(PREACTIVATION, "conv1") -> "preactivation/conv01"."""
    return f"{kind}/{layer_name(layer)}"


def bn_tag(statistic: str, layer: str) -> str:
    """e.g. bn_tag("gamma", "conv1") -> "bn_gamma/conv01": one TensorBoard section per statistic."""
    return per_layer(f"bn_{statistic}", layer)


def percentile_tag(percentile: int) -> str:
    """The paper probe's percentile of one sigmoid's input: probe/last_hidden_input_p15 ..."""
    return f"probe/last_hidden_input_p{percentile}"


def plot(name: str) -> str:
    return f"{PLOTS}/{name}"


def landscape_tag(variant: str, measure: str) -> str:
    """landscape_held_out, beta_smoothness -> landscape_held_out/beta_smoothness."""
    return f"{variant}/{measure}"
