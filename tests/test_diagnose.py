"""`bn-mnist diagnose`: each finding in a model made to have it, nothing in a clean one, the measured sizes against
NumPy and Keras' own training mode, and bad input as one line with exit 2. The models are plain Keras, built here."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from bn_mnist import api
from bn_mnist.cli import main
from bn_mnist.core import bn_probe as probe
from bn_mnist.core.nets.bn import NnBatchNorm
from bn_mnist.tools.diagnose import checks

FEATURES, CLASSES = 20, 4


def blobs(n: int, seed: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Four Gaussian classes in 20 dimensions, centred on fixed random means (+ `shift`: another domain)."""
    centres = np.random.default_rng(99).normal(0, 2, size=(CLASSES, FEATURES))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, size=n)
    return (centres[y] + rng.normal(size=(n, FEATURES)) + shift).astype(np.float32), y


def dense_bn(norm: keras.layers.Layer | None = None) -> keras.Model:
    """A plain Keras Sequential: Dense -> BN -> ReLU -> Dense."""
    return keras.Sequential(
        [
            keras.Input((FEATURES,)),
            keras.layers.Dense(32, use_bias=False, name="dense"),
            norm or keras.layers.BatchNormalization(momentum=0.9, name="bn"),
            keras.layers.ReLU(),
            keras.layers.Dense(CLASSES, name="logits"),
        ]
    )


def fitted(model: keras.Model, steps: int, shift: float = 0.0) -> keras.Model:
    keras.utils.set_random_seed(0)
    model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = blobs(32 * steps, seed=1, shift=shift)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    return model


def saved(model: keras.Model, tmp_path, name: str = "model.keras"):
    path = tmp_path / name
    model.save(path)
    return path


def npz(tmp_path, x: np.ndarray, y: np.ndarray | None = None, name: str = "data.npz"):
    path = tmp_path / name
    np.savez(path, **({"x": x} if y is None else {"x": x, "y": y}))
    return path


def found(path, data) -> dict[str, list]:
    """check -> the findings of it (api.diagnose)."""
    by_check: dict[str, list] = {}
    for finding in api.diagnose(path, data).findings:
        by_check.setdefault(finding.check, []).append(finding)
    return by_check


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A trained model (600 steps: the moving averages, momentum 0.9, have long caught up) and data like its own."""
    tmp_path = tmp_path_factory.mktemp("clean")
    return saved(fitted(dense_bn(), 600), tmp_path), npz(tmp_path, *blobs(4000, seed=2))


def test_clean_model_has_no_finding_and_its_file_is_unchanged(clean):
    model, data = clean
    before = hashlib.sha256(model.read_bytes()).hexdigest()
    result = CliRunner().invoke(main, ["diagnose", str(model), "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert "nothing found" in result.output and "1 BN layer(s) (bn)" in result.output
    assert hashlib.sha256(model.read_bytes()).hexdigest() == before


def test_json_gives_the_findings_and_the_exit_code(clean, tmp_path):
    model, _ = clean
    shifted = npz(tmp_path, *blobs(4000, seed=2, shift=3.0))
    result = CliRunner().invoke(main, ["diagnose", str(model), "--data", str(shifted), "--json"])
    report = json.loads(result.output)
    assert result.exit_code == report["exit_code"] == 1
    assert report["bn_layers"] == ["bn"] and {f["check"] for f in report["findings"]} >= {"mean_gap"}


def test_never_updated_statistics_are_found_alone(tmp_path):
    model = saved(dense_bn(), tmp_path)
    result = CliRunner().invoke(main, ["diagnose", str(model), "--data", str(npz(tmp_path, *blobs(500, seed=2)))])
    assert result.exit_code == 1
    assert "bn: moving statistics never updated: mean 0 and variance 1 in all 32 channels" in result.output
    assert "SD from the data's mean" not in result.output  # what follows from it is not listed again


def test_the_gap_on_another_domain_is_measured_as_numpy_does(clean, tmp_path):
    """The worst channel's |moving mean - data mean| / sqrt(data variance + epsilon), from the Dense layer's
    outputs computed in NumPy."""
    model_path, _ = clean
    x, y = blobs(4000, seed=2, shift=3.0)
    model = keras.saving.load_model(model_path)
    bn = model.get_layer("bn")
    h = x.astype(np.float64) @ np.asarray(model.get_layer("dense").kernel, np.float64)  # (N, 32)
    gaps = np.abs(np.asarray(bn.moving_mean) - h.mean(0)) / np.sqrt(h.var(0) + bn.epsilon)
    found_gaps = found(model_path, npz(tmp_path, x, y))
    assert found_gaps["mean_gap"][0].size == pytest.approx(gaps.max(), rel=1e-4)
    assert f"in channel {gaps.argmax()} " in found_gaps["mean_gap"][0].what


def test_the_accuracy_gap_matches_keras_training_mode(tmp_path):
    """Ten steps at momentum 0.99 on inputs far from 0: the moving statistics are still mostly their start, the
    optimizer's 10 iterations are read back, and the training-mode accuracy is Keras' `model(x, training=True)`'s."""
    path = saved(fitted(dense_bn(keras.layers.BatchNormalization(momentum=0.99, name="bn")), 10, shift=5.0), tmp_path)
    x, y = blobs(1024, seed=2, shift=5.0)
    by_check = found(path, npz(tmp_path, x, y))
    assert by_check["window"][0].size == pytest.approx(0.99**10)
    model = keras.saving.load_model(path)
    inference = np.asarray(model(x, training=False))  # first: each training-mode call below moves the statistics
    batches = np.random.default_rng(0).permutation(1024).reshape(8, 128)  # the documented fixed shuffle
    training = np.concatenate([np.asarray(model(x[batch], training=True)) for batch in batches])
    gap = abs(np.mean(training.argmax(-1) == y[batches.ravel()]) - np.mean(inference.argmax(-1) == y))
    assert by_check["accuracy_gap"][0].size == pytest.approx(gap, abs=1e-9) and gap > 0.02


def test_frozen_layers_say_how_they_behave_in_training(clean, tmp_path):
    """Keras' BN with trainable=False runs in inference mode; this project's tf.nn layer keeps batch statistics."""
    model_path, data = clean
    keras_model = keras.saving.load_model(model_path)
    keras_model.get_layer("bn").trainable = False
    nn_model = fitted(dense_bn(NnBatchNorm(momentum=0.9, name="bn")), 600)
    nn_model.get_layer("bn").trainable = False
    keras_found = found(saved(keras_model, tmp_path, "keras.keras"), data)["frozen"][0].what
    nn_found = found(saved(nn_model, tmp_path, "nn.keras"), data)["frozen"][0].what
    assert "in training too it normalizes with its moving statistics" in keras_found
    assert "yet in training mode it normalizes with batch statistics" in nn_found


@keras.saving.register_keras_serializable(package="test_diagnose")
class AlwaysTraining(keras.layers.BatchNormalization):
    """BN that ignores `training`: the bug of a layer passing training=True at inference."""

    def call(self, inputs, training=None, mask=None):
        return super().call(inputs, training=True, mask=mask)


def test_outputs_that_depend_on_the_batch_are_found_and_clean_ones_are_not(clean, tmp_path):
    model_path, data = clean
    model = keras.saving.load_model(model_path)
    weights = model.get_weights()
    broken = dense_bn(AlwaysTraining(momentum=0.9, name="bn"))
    broken.set_weights(weights)
    x = blobs(200, seed=3)[0]
    assert probe.batch_change(model, x, probe.inference(model, x[:8], batch=1)) < 1e-6  # round-off only
    assert found(saved(broken, tmp_path), data)["batch"][0].size > checks.CHECKS["batch"]


@keras.saving.register_keras_serializable(package="test_diagnose")
class HalfBatchNorm(NnBatchNorm):
    """The tf.nn layer computing in its compute dtype (float16 under mixed_float16)."""

    def call(self, inputs, training=False):
        variables = (self.moving_mean, self.moving_variance, self.gamma, self.beta)
        mean, variance, gamma, beta = [keras.ops.cast(v, inputs.dtype) for v in variables]
        return (inputs - mean) * keras.ops.rsqrt(variance + self.epsilon) * gamma + beta


def test_a_float16_epsilon_is_found_only_where_statistics_are_float16(clean, tmp_path):
    _, data = clean
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        half = saved(dense_bn(HalfBatchNorm(epsilon=1e-8, name="bn")), tmp_path, "half.keras")
        upcast = saved(dense_bn(keras.layers.BatchNormalization(epsilon=1e-8, name="bn")), tmp_path, "keras.keras")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert found(half, data)["float16"][0].size == pytest.approx(1e-8)
    assert "float16" not in found(upcast, data)  # Keras' layer computes its statistics in float32


def test_this_projects_models_load_and_mnist_shapes_fit(tmp_path):
    """The tool's own fc net (NnBatchNorm), untrained, on 28x28x1 examples."""
    from bn_mnist.core.config import load_config
    from bn_mnist.core.nets.models import build_model

    config = load_config("fc", ("bn.impl=nn",))
    path = saved(build_model(config.model, config.bn, seed=0), tmp_path)
    diagnosis = api.diagnose(path, npz(tmp_path, np.random.default_rng(0).uniform(size=(300, 28, 28, 1))))
    assert diagnosis.bn_layers == ("bn_dense1", "bn_dense2", "bn_dense3")
    assert [f.check for f in diagnosis.findings] == ["initial"] * 3
    assert any("no labels" in reason for reason in diagnosis.unchecked)


def test_probes_leave_the_layers_as_found(clean):
    model = keras.saving.load_model(clean[0])
    layers = probe.bn_layers(model)
    with probe.recording(layers) as received:
        probe.inference(model, blobs(100, seed=4)[0])
    assert received["bn"].count == 100 and all("call" not in vars(layer) for layer in layers.values())


def unnamed_npz(tmp_path):
    np.savez(tmp_path / "images.npz", images=np.zeros((5, 20)))
    return tmp_path / "images.npz"


def test_sd_ratio_few_examples_and_column_labels(clean, tmp_path):
    """Data of three times the spread: the SD check names the layer; with (N, 1) labels, the accuracies are measured
    on 256 examples and not on 100 (fewer than one training batch), which says so."""
    x, y = blobs(256, seed=2)
    diagnosis = api.diagnose(clean[0], npz(tmp_path, 3 * x, y[:, None]))
    by_check = {f.check: [f] for f in diagnosis.findings}
    assert not any("labels" in reason or "accuracies" in reason for reason in diagnosis.unchecked)
    assert by_check["sd_ratio"][0].layer == "bn" and by_check["sd_ratio"][0].size > 1.5
    few = api.diagnose(clean[0], npz(tmp_path, x[:100], y[:100], name="few.npz"))
    assert any("fewer than 128 labelled examples" in reason for reason in few.unchecked)


def test_non_finite_statistics_are_found_alone(clean, tmp_path):
    model = keras.saving.load_model(clean[0])
    bn = model.get_layer("bn")
    bn.moving_variance.assign(np.full(32, np.nan, np.float32))
    by_check = found(saved(model, tmp_path), clean[1])
    assert next(f.size for f in by_check["finite"] if f.layer == "bn") == 32
    assert sorted(f.layer for f in by_check["finite"]) == ["bn", "model"] and "mean_gap" not in by_check


@keras.saving.register_keras_serializable(package="test_diagnose")
class Subclassed(keras.Model):
    """A subclassed model (no `inputs` to read a shape from), its BN inside."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense, self.bn, self.out = keras.layers.Dense(8), keras.layers.BatchNormalization(), keras.layers.Dense(4)

    def call(self, x, training=False):
        return self.out(self.bn(self.dense(x), training=training))


def test_a_subclassed_model_needs_data_and_is_diagnosed_with_it(tmp_path):
    model = Subclassed()
    model(np.zeros((2, FEATURES), np.float32))
    path = saved(model, tmp_path)
    without = CliRunner().invoke(main, ["diagnose", str(path)])
    assert without.exit_code == 2 and "give --data with an .npz" in without.output
    diagnosis = api.diagnose(path, npz(tmp_path, blobs(300, seed=2)[0]))
    assert len(diagnosis.bn_layers) == 1 and diagnosis.bn_layers[0].startswith("batch_normalization")
    assert [f.check for f in diagnosis.findings] == ["initial"]


def test_the_layers_are_restored_when_the_model_fails(clean):
    model = keras.saving.load_model(clean[0])
    layers = probe.bn_layers(model)
    with pytest.raises(ValueError), probe.recording(layers):
        probe.inference(model, np.zeros((4, 3), np.float32))  # the wrong width: Dense refuses it
    assert all("call" not in vars(layer) for layer in layers.values())


def test_the_docs_table_gives_each_checks_threshold():
    """docs/diagnose.md has one row per check, in CHECKS' order, stating its threshold."""
    from pathlib import Path

    page = (Path(__file__).parents[1] / "docs" / "diagnose.md").read_text()
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(checks.CHECKS)
    for row, threshold in zip(rows, checks.CHECKS.values()):
        assert threshold == 0 or f"{threshold:g}" in re.split(r"(?<!\\)\|", row)[2], row


@pytest.mark.parametrize(
    "make, says",
    [
        (lambda tmp: (tmp / "missing.keras", None), "no such file"),
        (lambda tmp: (tmp / "text.keras", None), "not a Keras model"),
        (lambda tmp: ("CLEAN", npz(tmp, np.zeros((5, 3)))), "x has examples of shape (3,); the model takes (20,)"),
        (
            lambda tmp: ("CLEAN", npz(tmp, np.zeros((5, 20)), np.zeros(4))),
            "y must hold one class index (or one-hot row) per example",
        ),
        (lambda tmp: ("CLEAN", npz(tmp, np.zeros((5, 20)), np.full(5, 0.5))), "y must hold one class index"),
        (lambda tmp: ("CLEAN", npz(tmp, np.zeros((200, 20)), np.full(200, 7))), "labels 7..7 for a model of 4 classes"),
        (lambda tmp: ("CLEAN", npz(tmp, np.zeros((0, 20)))), "x holds no examples"),
        (lambda tmp: ("CLEAN", unnamed_npz(tmp)), "no array named x (found: images)"),
        (lambda tmp: ("CLEAN", None), "takes examples of shape (20,), not MNIST's: give --data"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(clean, tmp_path, make, says):
    (tmp_path / "text.keras").write_text("not a model")
    model, data = make(tmp_path)
    model = clean[0] if model == "CLEAN" else model
    args = ["diagnose", str(model), *(["--data", str(data)] if data else [])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and result.output.startswith("bn-mnist: error: ") and says in result.output


@pytest.mark.slow  # the installed script, on real MNIST (the default data for a 28x28 model)
def test_the_installed_script_diagnoses_on_mnist_by_default(real_mnist, bn_mnist_script, tmp_path):
    from bn_mnist.core.config import load_config
    from bn_mnist.core.nets.models import build_model

    config = load_config("fc")
    path = saved(build_model(config.model, config.bn, seed=0), tmp_path)
    result = subprocess.run([bn_mnist_script, "diagnose", str(path), "--json"], capture_output=True, text=True)
    report = json.loads(result.stdout)
    assert result.returncode == report["exit_code"] == 1, result.stderr
    assert report["data"] == "MNIST's 10,000 test images scaled to [0, 1]" and len(report["bn_layers"]) == 3
    assert [f["layer"] for f in report["findings"] if f["check"] == "initial"] == report["bn_layers"]
