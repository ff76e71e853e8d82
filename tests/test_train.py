"""The training driver and engine on synthetic data: schedule, batch order, outputs read back, determinism, NaN."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util import tensor_util

from bn_mnist.config import load_config
from bn_mnist.errors import OutputError
from bn_mnist.training import runlog
from bn_mnist.training import trainer as train
from bn_mnist.training.engine import batch_order


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


def event_scalars(run_dir):
    """Scalars read back from the TensorBoard event files: {tag: {step: value}}."""
    events = EventAccumulator(str(run_dir), size_guidance={"tensors": 0})
    events.Reload()
    return {
        tag: {e.step: float(tensor_util.make_ndarray(e.tensor_proto)) for e in events.Tensors(tag)}
        for tag in events.Tags()["tensors"]
    }


def test_run_writes_every_output_and_they_agree(tiny_mnist, tiny_fc_config, tmp_path):
    summary = train.run(tiny_fc_config, tmp_path / "run", tiny_mnist, log=lambda _: None)
    run_dir = tmp_path / "run"
    assert load_config(run_dir / runlog.CONFIG_FILE) == tiny_fc_config
    assert runlog.RunSummary.read(run_dir) == summary
    assert json.loads((run_dir / runlog.SUMMARY_FILE).read_text())["final_val_accuracy"] == summary.final_val_accuracy
    assert summary.compile_seconds > 0 and summary.steps_per_second == summary.steps / summary.train_seconds
    assert summary.steps == 40 and summary.bn is True and summary.final_val_accuracy > 0.5

    records = runlog.read_metrics(run_dir)
    scalars = event_scalars(run_dir)
    assert set(scalars) == set(runlog.SCALARS)
    assert sorted(scalars[runlog.VAL_ACCURACY]) == [0, 20, 40]
    assert sorted(scalars[runlog.TRAIN_LOSS]) == [10, 20, 30, 40]
    for record in records:
        for name, value in record.items():
            if name != "step":
                assert scalars[name][record["step"]] == pytest.approx(value)
    assert scalars[runlog.VAL_ACCURACY][40] == pytest.approx(summary.final_val_accuracy)
    assert scalars[runlog.TEST_ACCURACY][40] == pytest.approx(summary.final_test_accuracy)


def test_same_seed_same_numbers_other_seed_other_numbers(tiny_mnist, tiny_fc_config, tmp_path):
    def metrics(config, name):
        train.run(config, tmp_path / name, tiny_mnist, log=lambda _: None)
        return runlog.read_metrics(tmp_path / name)

    first, again = metrics(tiny_fc_config, "a"), metrics(tiny_fc_config, "b")
    assert first == again
    assert metrics(dataclasses.replace(tiny_fc_config, seed=1), "c") != first


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
    losses = [r[runlog.TRAIN_LOSS] for r in runlog.read_metrics(tmp_path / "nan") if runlog.TRAIN_LOSS in r]
    assert losses[-1] is None  # JSON null, not NaN


def test_an_existing_run_is_never_overwritten(tiny_mnist, tiny_fc_config, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "precious.txt").write_text("keep")
    with pytest.raises(OutputError, match="not empty"):
        train.run(tiny_fc_config, tmp_path / "run", tiny_mnist, log=lambda _: None)
    assert (tmp_path / "run" / "precious.txt").read_text() == "keep"


def test_paper_probe_logs_the_sigmoid_input_percentiles(tiny_mnist, tiny_fc_config, tmp_path):
    """The last logged percentiles equal those recomputed from model.keras on the same images."""
    import keras

    from bn_mnist.reproduction import probes

    config = dataclasses.replace(tiny_fc_config, model=dataclasses.replace(tiny_fc_config.model, activation="sigmoid"))
    train.run(config, tmp_path / "run", tiny_mnist, log=lambda _: None, probe=probes.PaperProbe())
    records = runlog.read_metrics(tmp_path / "run")
    evaluated = [r for r in records if runlog.VAL_ACCURACY in r]
    assert all(runlog.TEST_ACCURACY in r and probes.percentile_tag(50) in r for r in evaluated)
    model = keras.models.load_model(tmp_path / "run" / runlog.MODEL_FILE)
    inputs = keras.Model(model.input, model.get_layer(probes.LAYER).input)
    unit = np.asarray(inputs(tiny_mnist.val_x[: probes.BATCH], training=False))[:, probes.UNIT]
    expected = np.percentile(unit, probes.PERCENTILES)
    logged = [evaluated[-1][probes.percentile_tag(p)] for p in probes.PERCENTILES]
    np.testing.assert_allclose(logged, expected, rtol=1e-5, atol=1e-6)
    assert logged[0] < logged[1] < logged[2]
