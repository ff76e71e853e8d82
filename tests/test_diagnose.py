"""`bn-mnist diagnose`: each finding in a model made to have it, nothing in a clean one, the measured sizes against
NumPy and Keras' own training mode, and bad input as one line with exit 2. The models are plain Keras, built here."""

from __future__ import annotations

import hashlib
import json
import subprocess

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from bn_mnist import api
from bn_mnist.cli import main
from bn_mnist.diagnosis import checks, probe
from bn_mnist.nets.bn import NnBatchNorm

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
    training = np.concatenate([np.asarray(model(x[i : i + 128], training=True)) for i in range(0, 1024, 128)])
    gap = abs(np.mean(training.argmax(-1) == y) - np.mean(inference.argmax(-1) == y))
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
    assert probe.batch_change(model, x) < 1e-6  # round-off only: far below the threshold
    assert found(saved(broken, tmp_path), data)["batch"][0].size > checks.CHECKS["batch"].threshold


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
    from bn_mnist.config import load_config
    from bn_mnist.nets.models import build_model

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


@pytest.mark.parametrize(
    "make, says",
    [
        (lambda tmp: (tmp / "missing.keras", None), "no such file"),
        (lambda tmp: (tmp / "text.keras", None), "not a Keras model"),
        (lambda tmp: ("CLEAN", npz(tmp, np.zeros((5, 3)))), "x has examples of shape (3,); the model takes (20,)"),
        (lambda tmp: ("CLEAN", npz(tmp, np.zeros((5, 20)), np.zeros(4))), "4 labels y for 5 examples x"),
        (lambda tmp: ("CLEAN", npz(tmp, np.zeros((5, 20)), name="other.npz").rename(tmp / "a.npz")), "no array"),
        (lambda tmp: ("CLEAN", None), "takes examples of shape (20,), not MNIST's: give --data"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(clean, tmp_path, make, says):
    (tmp_path / "text.keras").write_text("not a model")
    model, data = make(tmp_path)
    model = clean[0] if model == "CLEAN" else model
    if says == "no array":
        np.savez(data, images=np.zeros((5, 20)))
    args = ["diagnose", str(model), *(["--data", str(data)] if data else [])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and result.output.startswith("bn-mnist: error: ") and says in result.output


@pytest.mark.slow  # the installed script, on real MNIST (the default data for a 28x28 model)
def test_the_installed_script_diagnoses_on_mnist_by_default(real_mnist, bn_mnist_script, tmp_path):
    from bn_mnist.config import load_config
    from bn_mnist.nets.models import build_model

    config = load_config("conv")
    path = saved(build_model(config.model, config.bn, seed=0), tmp_path)
    result = subprocess.run([bn_mnist_script, "diagnose", str(path), "--json"], capture_output=True, text=True)
    report = json.loads(result.stdout)
    assert result.returncode == report["exit_code"] == 1, result.stderr
    assert report["data"] == "MNIST's 10,000 test images scaled to [0, 1]" and len(report["bn_layers"]) == 20
    assert [f["layer"] for f in report["findings"] if f["check"] == "initial"] == report["bn_layers"]
