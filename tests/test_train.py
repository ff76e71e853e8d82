"""The training driver and engine on synthetic data: schedule, batch order, outputs read back, determinism, NaN."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import time

import disk_full
import numpy as np
import pytest
import tb_events

from bn_mnist.core import runfiles
from bn_mnist.core.config import LogConfig, load_config
from bn_mnist.core.errors import ConfigError, Interrupted, OutputError, WriteError
from bn_mnist.core.tensorboard import tags
from bn_mnist.core.training import trainer as train
from bn_mnist.core.training.engine import batch_order, build_engine, class_batch_order
from bn_mnist.core.training.measurement import Context, Measured
from bn_mnist.studies.reproduce import experiments


@pytest.mark.parametrize(
    ("steps", "log_every", "eval_every", "expected"),
    [
        (100, 25, 50, [25, 50, 75, 100]),
        (100, 30, 50, [30, 50, 60, 90, 100]),
        (10, 25, 100, [10]),
        (800, 25, 100, list(range(25, 801, 25))),
    ],
)
def test_logging_points(steps, log_every, eval_every, expected):
    assert train.logging_points(steps, log_every, eval_every) == expected


def test_batch_order_is_a_reshuffled_stream():
    order = batch_order(num_examples=10, batch_size=4, steps=7, seed=1)  # 28 draws: 2.8 epochs
    stream = order.ravel()
    assert order.shape == (7, 4)
    assert sorted(stream[:10]) == list(range(10)) and sorted(stream[10:20]) == list(range(10))
    assert not np.array_equal(stream[:10], stream[10:20])  # reshuffled each epoch
    np.testing.assert_array_equal(order, batch_order(10, 4, 7, seed=1))
    assert not np.array_equal(order, batch_order(10, 4, 7, seed=2))


@pytest.mark.parametrize("classes", [1, 2])
def test_class_batches_hold_equal_shares_of_distinct_classes_and_use_each_class_whole(classes):
    labels = np.repeat(np.arange(10), [7, 9, 8, 10, 6, 7, 9, 8, 10, 6])  # classes of unequal sizes
    order = class_batch_order(labels, classes, batch_size=4, steps=300, seed=3)
    assert order.shape == (300, 4)
    for batch in labels[order]:
        shares = np.unique(batch, return_counts=True)[1]
        assert len(shares) == classes and set(shares) == {4 // classes}
    for c in range(10):  # a class's stream is a permutation of its examples, reshuffled when used up
        drawn = order[labels[order] == c]
        size = int(np.sum(labels == c))
        assert sorted(drawn[:size]) == sorted(np.flatnonzero(labels == c))
    np.testing.assert_array_equal(order, class_batch_order(labels, classes, 4, 300, seed=3))
    assert not np.array_equal(order, class_batch_order(labels, classes, 4, 300, seed=4))
    large = class_batch_order(labels, classes, batch_size=20, steps=5, seed=3)  # shares beyond a class's size
    assert all(len(np.unique(labels[batch])) == classes for batch in large)


def test_a_run_with_class_batches_trains_on_them(tiny_mnist, tiny_fc_config):
    config = dataclasses.replace(tiny_fc_config, data=dataclasses.replace(tiny_fc_config.data, classes_per_batch=2))
    engine = build_engine(config, tiny_mnist)
    assert engine.steps == config.train.steps
    for batch in tiny_mnist.train_y[engine.order.numpy()[: engine.steps]]:  # the rows past them are padding
        assert len(np.unique(batch)) == 2


def test_class_batches_need_a_batch_size_the_classes_divide():
    with pytest.raises(ConfigError, match="classes_per_batch = 3 needs a batch size it divides"):
        load_config(settings={"data.classes_per_batch": 3, "train.batch_size": 64})
    with pytest.raises(ConfigError, match=r"data\.classes_per_batch = 11: expected 0 to 10"):
        load_config(settings={"data.classes_per_batch": 11})


def test_run_writes_every_output_and_they_agree(tiny_mnist, tiny_fc_config, tmp_path):
    config = dataclasses.replace(tiny_fc_config, log=LogConfig())  # the default: inspection on
    started = time.perf_counter()
    summary = train.run(config, tmp_path / "run", tiny_mnist, log=lambda _: None)
    wall = time.perf_counter() - started
    run_dir = tmp_path / "run"
    assert load_config(run_dir / runfiles.CONFIG_FILE) == config
    assert runfiles.RunSummary.read(run_dir) == summary
    assert json.loads((run_dir / runfiles.SUMMARY_FILE).read_text())["final_val_accuracy"] == summary.final_val_accuracy
    # the timed parts lie within the run's wall time, so its steps/s is at least the steps over the wall time
    assert summary.train_seconds > 0 and summary.compile_seconds > 0 and summary.inspect_seconds > 0
    assert summary.train_seconds + summary.compile_seconds + summary.inspect_seconds < wall
    assert summary.steps_per_second > summary.steps / wall
    assert summary.steps == 40 and summary.bn is True and summary.final_val_accuracy > 0.5

    records = runfiles.read_metrics(run_dir)
    scalars = tb_events.scalars(run_dir)
    layers = ("dense01", "dense02", "dense03")
    per_layer = {f"{kind}/{layer}" for kind in ("weight_norm", "gradient_norm") for layer in (*layers, "logits")}
    final = {"final/val_accuracy", "final/test_accuracy", "final/single_sample_accuracy", "final/diverged"}
    reached = runfiles.first_step_reaching(records, 0.9)
    final |= {"final/steps_to_val_accuracy_90"} if reached is not None else set()  # left out when never reached
    dead = {f"dead_relu/{layer}" for layer in layers}
    outputs = {f"{kind}/{layer}" for kind in ("activation_mean", "activation_std") for layer in (*layers, "logits")}
    assert set(scalars) == set(runfiles.SCALARS) | per_layer | dead | outputs | final
    assert sorted(scalars[runfiles.VAL_ACCURACY]) == [0, 20, 40]
    assert sorted(scalars[runfiles.TRAIN_LOSS]) == [10, 20, 30, 40]
    for record in records:
        for name, value in record.items():
            if name != "step":
                assert scalars[name][record["step"]] == pytest.approx(value)
    assert scalars[runfiles.VAL_ACCURACY][40] == pytest.approx(summary.final_val_accuracy)
    assert scalars[runfiles.TEST_ACCURACY][40] == pytest.approx(summary.final_test_accuracy)
    assert scalars["final/val_accuracy"] == {40: pytest.approx(summary.final_val_accuracy)}
    assert scalars["final/single_sample_accuracy"] == {40: pytest.approx(summary.single_sample_accuracy)}
    assert scalars["final/diverged"] == {40: 0.0}


@pytest.mark.parametrize("dropout", [0.0, 0.3])  # dropout's masks are seeded too
def test_same_seed_same_numbers_other_seed_other_numbers(tiny_mnist, tiny_fc_config, tmp_path, dropout):
    def metrics(config, name):
        train.run(config, tmp_path / name, tiny_mnist, log=lambda _: None)
        return runfiles.read_metrics(tmp_path / name)

    config = dataclasses.replace(tiny_fc_config, model=dataclasses.replace(tiny_fc_config.model, dropout=dropout))
    first, again = metrics(config, "a"), metrics(config, "b")
    assert first == again
    assert metrics(dataclasses.replace(config, seed=1), "c") != first


def test_divergence_is_recorded_not_raised(tiny_mnist, tiny_fc_config, tmp_path):
    config = load_config(
        "fc",
        ("train.steps=40", "train.eval_every=20", "train.log_every=10", "train.learning_rate=1e30", "bn.enabled=false"),
    )
    lines = []
    summary = train.run(config, tmp_path / "nan", tiny_mnist, log=lines.append)
    assert summary.diverged_at_step is not None and 1 <= summary.diverged_at_step <= 10
    assert summary.steps == summary.diverged_at_step  # stopped at once, inside the compiled loop
    assert any(line.startswith(f"diverged at step {summary.diverged_at_step}") for line in lines)
    assert summary.final_val_accuracy < 0.3  # scored as it stands: a broken net, but a number
    losses = [r[runfiles.TRAIN_LOSS] for r in runfiles.read_metrics(tmp_path / "nan") if runfiles.TRAIN_LOSS in r]
    assert losses[-1] is None  # JSON null, not NaN
    import keras

    weights = keras.models.load_model(tmp_path / "nan" / runfiles.MODEL_FILE).get_weights()
    assert not all(np.isfinite(w).all() for w in weights)  # the non-finite step's update was applied (documented)
    histograms = tb_events.tensors(tmp_path / "nan", "histograms")  # inspection on (the default) with NaN weights
    assert histograms and all(np.isfinite(h).all() for steps in histograms.values() for h in steps.values())
    assert tb_events.scalars(tmp_path / "nan")["final/diverged"] == {summary.steps: 1.0}


def test_an_existing_run_is_never_overwritten(tiny_mnist, tiny_fc_config, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "precious.txt").write_text("keep")
    with pytest.raises(OutputError, match="not empty"):
        train.run(tiny_fc_config, tmp_path / "run", tiny_mnist, log=lambda _: None)
    assert (tmp_path / "run" / "precious.txt").read_text() == "keep"


def test_paper_probe_logs_the_sigmoid_input_percentiles(tiny_mnist, tiny_fc_config, tmp_path):
    """The last logged percentiles equal those recomputed from model.keras on the same images."""
    import keras

    from bn_mnist.studies.reproduce import probes

    config = dataclasses.replace(tiny_fc_config, model=dataclasses.replace(tiny_fc_config.model, activation="sigmoid"))
    train.run(config, tmp_path / "run", tiny_mnist, log=lambda _: None, probe=probes.PaperProbe())
    records = runfiles.read_metrics(tmp_path / "run")
    evaluated = [r for r in records if runfiles.VAL_ACCURACY in r]
    assert all(runfiles.TEST_ACCURACY in r and tags.percentile_tag(50) in r for r in evaluated)
    model = keras.models.load_model(tmp_path / "run" / runfiles.MODEL_FILE)
    inputs = keras.Model(model.input, model.get_layer(probes.LAYER).input)
    unit = np.asarray(inputs(tiny_mnist.val_x[: experiments.BATCH], training=False))[:, experiments.UNIT]
    expected = np.percentile(unit, experiments.PERCENTILES)
    logged = [evaluated[-1][tags.percentile_tag(p)] for p in experiments.PERCENTILES]
    np.testing.assert_allclose(logged, expected, rtol=1e-5, atol=1e-6)
    assert logged[0] < logged[1] < logged[2]
    test_points = [r["step"] for r in records if runfiles.TEST_ACCURACY in r]
    assert len(test_points) == len(set(test_points))  # the probe's test accuracy is written once per step


class CtrlCAt:
    """A probe (a `Measurement`) that presses Ctrl-C (SIGINT to this process) at one evaluation step."""

    wants_test_accuracy = False

    def __init__(self, step: int):
        self.step, self.evaluations = step, 0

    def __call__(self, context: Context) -> Measured:
        if self.evaluations * 20 == self.step:  # evaluated at steps 0, 20, 40 (eval_every=20)
            os.kill(os.getpid(), signal.SIGINT)
        self.evaluations += 1
        return Measured({})


def test_ctrl_c_during_the_last_chunk_keeps_a_finished_run_finished(tiny_mnist, tiny_fc_config, tmp_path):
    summary = train.run(tiny_fc_config, tmp_path / "run", tiny_mnist, log=lambda _: None, probe=CtrlCAt(40))
    assert summary.steps == 40 and not summary.interrupted and summary.final_test_accuracy is not None


def test_ctrl_c_stops_before_the_next_chunk_and_keeps_what_is_done(tiny_mnist, tiny_fc_config, tmp_path):
    with pytest.raises(Interrupted, match=f"interrupted at step 20: results so far are in {tmp_path / 'run'}"):
        train.run(tiny_fc_config, tmp_path / "run", tiny_mnist, log=lambda _: None, probe=CtrlCAt(20))
    summary = runfiles.RunSummary.read(tmp_path / "run")
    assert (summary.steps, summary.interrupted, summary.final_val_accuracy) == (20, True, None)
    assert runfiles.read_metrics(tmp_path / "run")[-1]["step"] == 20


@pytest.mark.parametrize("impl", ["keras", "nn"])
def test_the_forgotten_update_trains_identically_but_infers_with_the_initial_statistics(
    tiny_mnist, tiny_fc_config, tmp_path, impl
):
    """Training uses batch statistics, so a run without moving-average updates follows the same trajectory; only
    inference (the moving averages) differs, and those stay at mean 0, variance 1."""
    import keras

    def trained(update: bool, name: str):
        config = dataclasses.replace(tiny_fc_config, bn=dataclasses.replace(tiny_fc_config.bn, impl=impl))
        config = dataclasses.replace(config, bn=dataclasses.replace(config.bn, update_moving_stats=update))
        lines = []
        summary = train.run(config, tmp_path / name, tiny_mnist, log=lines.append)
        return summary, keras.models.load_model(tmp_path / name / runfiles.MODEL_FILE), lines

    good, good_model, _ = trained(True, "updated")
    bad, bad_model, lines = trained(False, "forgotten")
    assert any("bn.update_moving_stats is false" in line for line in lines) and not bad.moving_stats_updated
    assert bad.final_train_accuracy == good.final_train_accuracy
    for a, b in zip(good_model.trainable_weights, bad_model.trainable_weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for layer in (layer for layer in bad_model.layers if layer.name.startswith("bn_")):
        np.testing.assert_array_equal(layer.moving_mean.numpy(), 0.0)
        np.testing.assert_array_equal(layer.moving_variance.numpy(), 1.0)
        assert np.abs(good_model.get_layer(layer.name).moving_mean.numpy()).max() > 0.01
    assert bad.final_val_loss != good.final_val_loss  # inference normalises with other statistics


@pytest.mark.slow  # two conv compilations per case
@pytest.mark.parametrize("impl", ["keras", "nn"])
def test_the_conv_net_is_deterministic(tiny_mnist, tmp_path, impl):
    """Same config and seed, same numbers to the bit: the 19-layer ReLU conv net amplifies any round-off."""
    overrides = (
        "train.steps=6",
        "train.batch_size=20",
        "train.eval_every=3",
        f"bn.impl={impl}",
        "log.histograms=false",
    )
    config = load_config("conv", overrides)
    for name in ("a", "b"):
        train.run(config, tmp_path / name, tiny_mnist, log=lambda _: None)
    assert runfiles.read_metrics(tmp_path / "a") == runfiles.read_metrics(tmp_path / "b")


@pytest.mark.parametrize(
    "name", [runfiles.CONFIG_FILE, runfiles.METRICS_FILE, runfiles.MODEL_FILE, runfiles.SUMMARY_FILE]
)
def test_a_full_disk_is_one_error_and_nothing_passes_for_finished(
    name, tiny_mnist, tiny_fc_config, tmp_path, monkeypatch
):
    """The event files fail on a real full disk in test_cli (a tmpfs), as TensorFlow writes them; so does the rerun
    once space is freed."""
    run_dir = tmp_path / "run"
    disk_full.at(monkeypatch, name)
    with pytest.raises(WriteError) as raised:
        train.run(tiny_fc_config, run_dir, tiny_mnist, log=lambda _: None)
    left = {path.name for path in run_dir.iterdir()}
    kept = ", ".join(sorted(found for found in left if not found.startswith(".")))
    assert str(raised.value) == (
        f"cannot write {run_dir / name}: No space left on device; {run_dir} keeps an unfinished run (no summary.json): "
        + (f"{kept}, each up to the last step written" if kept else "no file")
    )
    assert runfiles.SUMMARY_FILE not in left and not any(".partial-" in found for found in left)
    if runfiles.MODEL_FILE in left:
        runfiles.check_model_archive(run_dir / runfiles.MODEL_FILE)  # whole, as everything under a final name
