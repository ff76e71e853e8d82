"""What a run writes for TensorBoard beyond its scalars, on synthetic data and hand-built cases: the histogram
format, the measurements inside the network against NumPy and against a plain gradient tape, that measuring never
changes training, the HParams session and experiment, and plots as images."""

from __future__ import annotations

import dataclasses
import io

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
import tb_events
import tensorflow as tf

from bn_mnist.core import runfiles
from bn_mnist.core.config import LogConfig, load_config, save_config
from bn_mnist.core.nets.models import build_model
from bn_mnist.core.tensorboard import hparams, images, tags, writer
from bn_mnist.core.training import inspection
from bn_mnist.core.training import trainer as train
from bn_mnist.core.training.engine import Engine


def test_histogram_buckets_are_tensorboards_format_over_the_finite_values():
    buckets = writer.histogram(np.array([0.0, 1.0, 2.0, 3.0, np.nan, np.inf]), buckets=3)
    np.testing.assert_array_equal(buckets, [[0, 1, 1], [1, 2, 1], [2, 3, 2]])  # [left, right, count]; last closed
    constant = writer.histogram(np.zeros((4, 5)), buckets=2)
    np.testing.assert_array_equal(constant, [[0, 0.5, 20], [0.5, 1, 0]])
    assert writer.histogram(np.array([np.nan]), buckets=2)[:, 2].sum() == 0  # all NaN: an empty histogram


def test_a_unit_is_dead_when_its_input_varies_and_it_is_zero_for_every_example():
    preactivation = tf.constant(
        [[[-1.0, -2.0], [2.0, -1.0]], [[-3.0, -1.0], [-1.0, -2.0]]]
    )  # (batch 2, 2 pos., 2 maps)
    assert float(inspection.dead_fraction(preactivation, tf.nn.relu(preactivation))) == 0.75  # only pos. 1, map 0 fires


def test_a_blank_border_is_not_counted_dead():
    """MNIST's border is 0 in every image: a conv unit that sees only the border has the same pre-activation for every
    image (its bias). Here a 6x6 image with a blank border of 1 pixel, a 1x1 conv with kernels +1 and -1: map 0 fires
    on all 16 inner pixels, map 1 on none; the 20 border units of each map are not counted, so 16 of 32 are dead (the
    old count, zero for every example, said 56 of 72)."""
    rng = np.random.default_rng(0)
    images = np.zeros((8, 6, 6, 1), np.float32)
    images[:, 1:-1, 1:-1, 0] = rng.uniform(0.5, 1.0, (8, 4, 4))
    conv = keras.layers.Conv2D(2, 1, kernel_initializer=keras.initializers.Constant([[[[1.0, -1.0]]]]))
    preactivation = conv(images)
    assert float(inspection.dead_fraction(preactivation, tf.nn.relu(preactivation))) == 0.5
    below_zero = keras.layers.Conv2D(
        1, 1, kernel_initializer="ones", bias_initializer=keras.initializers.Constant(-0.3)
    )
    preactivation = below_zero(images)  # the border's -0.3 never fires, yet it is not ReLU death: the input is blank
    assert float(inspection.dead_fraction(preactivation, tf.nn.relu(preactivation))) == 0.0


def numpy_bn_preactivations(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """The first hidden layer's BN output in training mode (the batch's own statistics), in float64."""
    kernel = np.asarray(model.get_layer("dense1").kernel, np.float64)
    bn = model.get_layer("bn_dense1")
    gamma, beta = np.asarray(bn.gamma, np.float64), np.asarray(bn.beta, np.float64)
    z = images.reshape(len(images), -1).astype(np.float64) @ kernel
    return (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + bn.epsilon) * gamma + beta


@pytest.mark.parametrize("impl", ["keras", "nn"])
def test_inspection_measures_what_numpy_and_a_plain_tape_measure_and_changes_nothing(tiny_mnist, impl):
    config = load_config("fc", (f"bn.impl={impl}", "bn.momentum=0.5", "train.jit=off"))  # no XLA: seconds saved
    engine = Engine(build_model(config.model, config.bn, config.seed), config, tiny_mnist)
    engine.train_steps(0, 5)  # moving statistics away from their initial values
    before = [np.array(v) for v in engine.model.variables + engine.optimizer.variables]
    found = inspection.Inspector()(train.measurement_context(engine, config))
    after = [np.array(v) for v in engine.model.variables + engine.optimizer.variables]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))  # no statistic, weight or slot moved

    images, labels = tiny_mnist.val_x[: tags.INSPECT_BATCH], tiny_mnist.val_y[: tags.INSPECT_BATCH]
    preactivations = numpy_bn_preactivations(engine.model, images)
    np.testing.assert_allclose(found.histograms["preactivation/dense01"], preactivations, rtol=1e-4, atol=1e-4)
    assert found.scalars["dead_relu/dense01"] == pytest.approx(1 - np.mean((preactivations > 0).any(axis=0)))
    outputs = np.maximum(preactivations, 0)  # the layer's output: ReLU of BN's
    assert found.scalars["activation_mean/dense01"] == pytest.approx(outputs.mean(), rel=1e-4)
    assert found.scalars["activation_std/dense01"] == pytest.approx(outputs.std(), rel=1e-4)
    kernel = np.asarray(engine.model.get_layer("dense2").kernel)
    assert found.scalars["weight_norm/dense02"] == pytest.approx(np.linalg.norm(kernel), rel=1e-6)
    np.testing.assert_array_equal(found.histograms["weights/dense02"], kernel)
    np.testing.assert_array_equal(
        found.histograms["bn_moving_mean/dense02"], engine.model.get_layer("bn_dense2").moving_mean
    )

    with tf.GradientTape() as tape:  # the reference: an ordinary training-mode call (it moves BN's statistics)
        logits = engine.model(images, training=True)
        loss = engine.loss(labels, logits)
    kernels = [engine.model.get_layer(name).kernel for name in ("dense1", "dense2", "dense3", "logits")]
    for name, gradient in zip(("dense01", "dense02", "dense03", "logits"), tape.gradient(loss, kernels)):
        assert found.scalars[f"gradient_norm/{name}"] == pytest.approx(float(tf.norm(gradient)), rel=1e-4)
    assert found.scalars["activation_std/logits"] == pytest.approx(float(np.std(logits)), rel=1e-4)


def test_inspection_never_changes_the_numbers(tiny_mnist, tiny_fc_config, tmp_path):
    config = dataclasses.replace(tiny_fc_config, bn=dataclasses.replace(tiny_fc_config.bn, impl="nn"))
    quiet = train.run(config, tmp_path / "off", tiny_mnist, log=lambda _: None)
    inspected = train.run(dataclasses.replace(config, log=LogConfig()), tmp_path / "on", tiny_mnist, lambda _: None)
    off, on = runfiles.read_metrics(tmp_path / "off"), runfiles.read_metrics(tmp_path / "on")
    assert [{key: record[key] for key in off_record} for record, off_record in zip(on, off)] == off
    assert len(on[0]) > len(off[0])  # the per-layer scalars are there
    timing = runfiles.WALL_CLOCK_FIELDS
    assert dataclasses.replace(inspected, **dict.fromkeys(timing, 0)) == dataclasses.replace(
        quiet, **dict.fromkeys(timing, 0)
    )
    assert inspected.inspect_seconds > 0 and quiet.inspect_seconds == 0


def test_a_run_is_an_hparams_session_and_a_multi_run_output_an_experiment(tmp_path):
    config = load_config("fc", ("bn.enabled=false", "seed=7"))
    (tmp_path / "run").mkdir()
    log_file = writer.RunLog(tmp_path / "run")
    hparams.write_session(log_file, config)
    log_file.close()
    session = tb_events.session(tmp_path / "run")
    assert session["name"] == "fc" and session["arch"] == "fc" and session["bn"] is False
    assert session["bn.impl"] == "none" and session["learning_rate"] == 0.01 and session["seed"] == 7
    assert session["batch_size"] == 60 and session["xla"] is True and session["threads"] == 1

    save_config(config, tmp_path / "run" / runfiles.CONFIG_FILE)  # a run already there counts too
    planned = {"a": load_config("fc", ("seed=0",)), "b": load_config("conv", ("seed=1",))}
    hparams.write_experiment(tmp_path, planned)
    hparams.write_experiment(tmp_path, planned)
    assert len(list(tmp_path.glob("*" + hparams.EXPERIMENT_SUFFIX))) == 1  # written again: replaced
    domains = tb_events.domains(tmp_path)
    assert domains["seed"] == [0, 1, 7] and domains["bn"] == [False, True] and domains["arch"] == ["conv", "fc"]
    assert domains["bn.impl"] == ["keras", "none"]
    assert [m.name.tag for m in tb_events.experiment(tmp_path).metric_infos] == [tag for tag, _ in hparams.METRICS]
    hparams.write_experiment(tmp_path / "new" / "out", planned)  # into an output not made yet, as the runner may
    assert tb_events.domains(tmp_path / "new" / "out")["seed"] == [0, 1]


def test_plots_become_images_at_the_root(tmp_path):
    figure, axes = plt.subplots(figsize=(3, 2), dpi=50)
    axes.plot([0, 1], [1, 0])
    figure.savefig(tmp_path / "figure.png")
    plt.close(figure)
    images.write_plots(tmp_path, {"convergence": tmp_path / "figure.png"})
    images.write_plots(tmp_path, {"convergence": tmp_path / "figure.png"})
    assert len(list(tmp_path.glob("*" + images.PLOTS_SUFFIX))) == 1
    width, height, png = tb_events.tensors(tmp_path, "images")["plots/convergence"][0]
    decoded = plt.imread(io.BytesIO(png))
    assert decoded.shape[:2] == (100, 150) and (int(width), int(height)) == (150, 100)


def test_an_event_file_that_cannot_be_written_is_one_line_naming_it(tmp_path):
    """TensorFlow's words when a full disk stops a flush (as TensorFlow 2.21 printed them on a full tmpfs), read
    back into the file and the OS's reason."""
    message = (
        "{{function_node __wrapped__FlushSummaryWriter_device_/job:localhost/replica:0/task:0/device:CPU:0}} "
        f"{tmp_path}/events.out.tfevents.1.vm.2.0.v2; No space left on device\n\tFailed to flush 2 events to ..."
    )
    error = writer.write_failure(tmp_path, tf.errors.ResourceExhaustedError(None, None, message))
    assert str(error) == f"cannot write {tmp_path}/events.out.tfevents.1.vm.2.0.v2: No space left on device"
