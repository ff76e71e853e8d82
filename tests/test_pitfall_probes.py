"""The pitfalls' measurements on tiny synthetic cases: each against NumPy or a value set by hand, and none changing
the run it measures."""

from __future__ import annotations

import dataclasses
import gc
import weakref

import keras
import numpy as np
import pytest

from bn_mnist.core import bn_probe as probe
from bn_mnist.core import runfiles
from bn_mnist.core.config import load_config
from bn_mnist.core.tensorboard import tags
from bn_mnist.core.training import trainer
from bn_mnist.core.training.engine import build_engine
from bn_mnist.studies.pitfalls import experiments, probes

NO_XLA = "train.jit=off"  # the probes are functions of their own: XLA's compile of the training step is seconds lost


@pytest.fixture(scope="module")
def trained(tiny_mnist):
    """An FC BN net after 40 steps of SGD on tiny_mnist (statistics away from their start), and its engine."""
    config = load_config("fc", ("train.steps=40", "train.learning_rate=0.1", "bn.momentum=0.9", NO_XLA))
    engine = build_engine(config, tiny_mnist)
    engine.train_steps(0, 40)
    engine.measured = trainer.measurement_context(engine, config)  # what a probe of this run sees, at step 0
    return engine


def context(engine, step: int, last: bool = True):
    return dataclasses.replace(engine.measured, step=step, last=last)


def numpy_statistics(model, batches):
    """The FC net in training mode in float64 NumPy: each BN layer's batch mean and (biased) variance, averaged."""
    found = {}
    for x in batches:
        h = np.asarray(x, np.float64).reshape(len(x), -1)
        for index in (1, 2, 3):
            z = h @ model.get_layer(f"dense{index}").kernel.numpy().astype(np.float64)
            bn = model.get_layer(f"bn_dense{index}")
            mean, variance = z.mean(0), z.var(0)
            sums = found.setdefault(bn.name, [0.0, 0.0])
            sums[0], sums[1] = sums[0] + mean / len(batches), sums[1] + variance / len(batches)
            normalized = (z - mean) / np.sqrt(variance + bn.epsilon) * bn.gamma.numpy() + bn.beta.numpy()
            h = np.maximum(normalized, 0.0)
    return found


def test_recomputed_statistics_are_a_numpy_pass_over_the_same_batches(trained, tiny_mnist):
    batches = [tiny_mnist.train_x[i * 60 : (i + 1) * 60] for i in range(5)]
    found, expected = probes.population_statistics(trained.model, batches), numpy_statistics(trained.model, batches)
    assert set(found) == set(expected) == {"bn_dense1", "bn_dense2", "bn_dense3"}
    for path, (mean, variance) in expected.items():
        np.testing.assert_allclose(found[path][0], mean, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(found[path][1], variance, rtol=1e-4, atol=1e-5)


def test_compiled_training_mode_gives_the_eager_outputs_bit_for_bit_and_changes_no_statistic(trained, tiny_mnist):
    """One compiled call over many batches against `training_mode` batch by batch (eager, as diagnose's checks run);
    batches of one too, where BN's batch statistics are the example's own."""
    model, images = trained.model, tiny_mnist.val_x
    moving = [variable.numpy() for variable in model.non_trainable_variables]
    for batches in (images[:180].reshape(3, 60, 28, 28, 1), images[:7, None]):
        eager = np.concatenate([probe.training_mode(model, batch) for batch in batches])
        np.testing.assert_array_equal(probe.training_outputs(model, batches), eager)
    for before, variable in zip(moving, model.non_trainable_variables, strict=True):
        np.testing.assert_array_equal(variable.numpy(), before)
    inference = probe.inference(model, images[:60])
    assert np.abs(probe.training_outputs(model, images[None, :60]) - inference).max() > 1e-3  # modes differ


def test_the_compiled_training_mode_does_not_keep_its_model_alive(tiny_mnist):
    config = load_config("fc")
    model = build_engine(config, tiny_mnist).model
    probe.training_outputs(model, tiny_mnist.val_x[:120].reshape(2, 60, 28, 28, 1))
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None


def test_statistics_set_for_a_measurement_come_back(trained):
    before = probes.moving_statistics(trained.model)
    zeros = {path: (np.zeros_like(m), np.ones_like(v)) for path, (m, v) in before.items()}
    with probes.statistics_set(trained.model, zeros):
        assert all(np.all(layer.moving_mean.numpy() == 0) for layer in probe.bn_layers(trained.model).values())
    after = probes.moving_statistics(trained.model)
    assert all(np.array_equal(before[p][i], after[p][i]) for p in before for i in (0, 1))


def test_the_variance_shift_of_the_first_layer_is_a_numpy_ratio(trained):
    """dense1's input is x W in both modes: its shift is the mean of the batches' variances over the variance of
    all their images, per channel, as a geometric mean."""
    found = probes.ShiftProbe()(context(trained, 40)).scalars
    size = 60
    count = min(probes.SHIFT_BATCHES, 200 // size)  # tiny_mnist: 200 validation images
    images = trained.eval_set("val")[0].numpy()[: count * size].reshape(-1, 784).astype(np.float64)
    z = images @ trained.model.get_layer("dense1").kernel.numpy().astype(np.float64)
    per_batch = np.mean([z[i : i + size].var(0) for i in range(0, len(z), size)], axis=0)
    expected = np.exp(np.log(per_batch / z.var(0)).mean())
    np.testing.assert_allclose(found["variance_shift/dense01"], expected, rtol=1e-4)
    assert {tags.recomputed_accuracy(100), tags.RECOMPUTED_WITHOUT_DROPOUT_ACCURACY} <= set(found)


def test_dropout_before_bn_shifts_the_variance_and_switching_it_off_removes_that(tiny_mnist):
    """The same weights with and without dropout 0.5 before dense2 and dense3 (dropout has none of its own)."""
    plain = load_config("fc", ("train.steps=40", "train.learning_rate=0.1", NO_XLA))
    dropped = load_config("fc", ("train.steps=40", "train.learning_rate=0.1", "model.dropout=0.5", NO_XLA))
    engines = {name: build_engine(config, tiny_mnist) for name, config in (("plain", plain), ("dropped", dropped))}
    engines["dropped"].model.set_weights(engines["plain"].model.get_weights())
    found = {}
    for name, engine in engines.items():
        engine.measured = trainer.measurement_context(engine, plain)
        found[name] = probes.ShiftProbe()(context(engine, 40)).scalars
    assert found["dropped"]["variance_shift/dense02"] > 1.5 * found["plain"]["variance_shift/dense02"]
    assert found["dropped"]["variance_shift/dense01"] == pytest.approx(found["plain"]["variance_shift/dense01"])
    batches = [tiny_mnist.train_x[i * 60 : (i + 1) * 60] for i in range(3)]
    with probes.dropout_off(engines["dropped"].model):
        off = probes.population_statistics(engines["dropped"].model, batches)
    reference = probes.population_statistics(engines["plain"].model, batches)
    for path, (mean, variance) in reference.items():
        np.testing.assert_allclose(off[path][0], mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(off[path][1], variance, rtol=1e-5)
    assert engines["dropped"].model.get_layer("drop_dense1").rate == 0.5  # switched back on


def test_class_batches_change_a_bn_nets_answers_and_not_a_net_without_bn(trained, tiny_mnist):
    bn = probes.ClassBatchProbe(2)(context(trained, 40)).scalars
    assert set(bn) == {tags.CLASS_BATCH_TRAINING_ACCURACY, tags.CLASS_BATCH_INFERENCE_ACCURACY}
    assert bn[tags.CLASS_BATCH_TRAINING_ACCURACY] != bn[tags.CLASS_BATCH_INFERENCE_ACCURACY]
    config = load_config("fc", ("train.steps=40", "bn.enabled=false", NO_XLA))
    engine = build_engine(config, tiny_mnist)
    engine.measured = trainer.measurement_context(engine, config)
    none = probes.ClassBatchProbe(2)(context(engine, 40)).scalars
    assert none[tags.CLASS_BATCH_TRAINING_ACCURACY] == none[tags.CLASS_BATCH_INFERENCE_ACCURACY]


def test_in_training_mode_an_output_moves_with_its_batch_and_in_inference_mode_never(trained):
    found = probes.BatchProbe()(context(trained, 40)).scalars
    assert found[tags.INFERENCE_BATCH_CHANGE] == 0.0  # to the bit
    assert found[tags.BATCH_CHANGE] > 1e-3
    labels = trained.eval_set("val")[1].numpy()[: probes.SINGLE_EXAMPLES]
    # alone in training mode every example normalises to beta: one class for all, so at most that class's share
    assert found[tags.BATCH_OF_ONE_ACCURACY] <= np.bincount(labels).max() / len(labels)
    assert probes.BatchProbe()(context(trained, 20, last=False)).scalars == {}  # only at the last evaluation


def test_recomputed_accuracy_at_the_last_step_only(trained):
    early = probes.ModesProbe()(context(trained, 20, last=False)).scalars
    last = probes.ModesProbe()(context(trained, 40)).scalars
    assert set(early) == {tags.TRAINING_MODE_ACCURACY}
    assert set(last) == {tags.TRAINING_MODE_ACCURACY} | {
        tags.recomputed_accuracy(n) for n in experiments.RECOMPUTE_BATCHES
    }
    assert all(0 <= value <= 1 for value in last.values())


def test_each_fine_tuning_regime_freezes_what_it_says(trained):
    model, ctx = trained.model, context(trained, 40)
    batches = probes.training_batches(ctx, 6, probes.low_contrast)
    labels = [ctx.training_batch(step).labels for step in range(6)]
    weights = [w.copy() for w in model.get_weights()]
    tuned = {regime: probes.fine_tuned(model, regime, batches, labels, ctx, 3) for regime in experiments.REGIMES}
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))  # the original is untouched

    def kernels(m):
        return [m.get_layer(f"dense{i}").kernel.numpy() for i in (1, 2, 3)]

    def gammas(m):
        return [m.get_layer(f"bn_dense{i}").gamma.numpy() for i in (1, 2, 3)]

    old = probes.moving_statistics(model)
    for regime in ("frozen", "frozen_bn_training", "adabn"):  # the base's kernels and BN's gamma stay
        assert all(np.array_equal(a, b) for a, b in zip(kernels(model), kernels(tuned[regime])))
        assert all(np.array_equal(a, b) for a, b in zip(gammas(model), gammas(tuned[regime])))
        assert not np.array_equal(
            model.get_layer("logits").kernel.numpy(), tuned[regime].get_layer("logits").kernel.numpy()
        )
    moved = {regime: probes.moving_statistics(tuned[regime]) for regime in experiments.REGIMES}
    assert all(np.array_equal(old[p][0], moved["frozen"][p][0]) for p in old)  # inference mode: statistics kept
    assert not np.array_equal(old["bn_dense1"][0], moved["frozen_bn_training"]["bn_dense1"][0])  # batch statistics
    adapted = probes.population_statistics(model, batches[:3])
    for path, (mean, variance) in adapted.items():  # AdaBN: the new domain's statistics, then kept while tuning
        np.testing.assert_allclose(moved["adabn"][path][0], mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(moved["adabn"][path][1], variance, rtol=1e-5, atol=1e-6)
    assert not np.array_equal(kernels(model)[0], kernels(tuned["all"])[0])
    seen = np.concatenate([np.asarray(batch) for batch in batches[:3]])  # what AdaBN measured, at inference
    adabn_gaps, frozen_gaps = (probes.statistics_gap(tuned[regime], seen) for regime in ("adabn", "frozen"))
    assert adabn_gaps["dense1"] < 1e-3 and max(adabn_gaps.values()) < 0.1  # the new domain's, every layer
    assert min(frozen_gaps.values()) > 0.3  # low-contrast digits, the old statistics


def test_the_pitfall_probes_leave_training_unchanged(tiny_mnist, tiny_fc_config, tmp_path):
    config = dataclasses.replace(tiny_fc_config, bn=dataclasses.replace(tiny_fc_config.bn, momentum=0.5))
    trainer.run(config, tmp_path / "without", tiny_mnist)
    probed = trainer.run(config, tmp_path / "with", tiny_mnist, probe=probes.ModesProbe())
    plain, measured = runfiles.read_metrics(tmp_path / "without"), runfiles.read_metrics(tmp_path / "with")
    assert [{k: r[k] for k in p} for p, r in zip(plain, measured)] == plain  # every value, bit for bit
    assert tags.recomputed_accuracy(100) in measured[-1]
    a, b = (keras.models.load_model(tmp_path / d / runfiles.MODEL_FILE) for d in ("without", "with"))
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))  # moving statistics included
    assert probed.final_val_accuracy is not None
