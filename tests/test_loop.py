"""The compiled engine computes what a plain one-step-at-a-time loop computes."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from bn_mnist.core.config import load_config
from bn_mnist.core.nets.bn import inverse_class_frequency
from bn_mnist.core.nets.models import build_model, uses_example_weights
from bn_mnist.core.training.engine import Engine, batch_order, make_loss, make_optimizer


def simple_training(config, mnist, steps: int, rates: list[float] | None = None):
    """The textbook loop: eager, one batch per Python iteration, no tf.function, no XLA; `rates`: SGD's rate per
    step, set by hand."""
    model = build_model(config.model, config.bn, config.seed)
    loss_fn = make_loss(config.train.loss)
    optimizer = keras.optimizers.SGD(rates[0]) if rates else make_optimizer(config)
    weighted = uses_example_weights(config.bn)
    order = batch_order(len(mnist.train_x), config.train.batch_size, config.train.steps, config.seed)[:steps]
    for step, batch in enumerate(order):
        if rates:
            optimizer.learning_rate = rates[step]
        images, labels = mnist.train_x[batch], mnist.train_y[batch]
        inputs = [tf.constant(images), inverse_class_frequency(tf.constant(labels))] if weighted else images
        with tf.GradientTape() as tape:
            loss = loss_fn(labels, model(inputs, training=True))
        optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
    return model


@pytest.mark.parametrize(
    ("config_file", "jit", "impl", "extra"),
    [
        ("fc", "on", "keras", ()),
        ("fc", "off", "nn", ()),
        pytest.param("conv", "off", "keras", (), marks=pytest.mark.slow),  # ~3 s each: the fast loop has the fc ones
        pytest.param("conv", "off", "nn", (), marks=pytest.mark.slow),
        ("fc", "on", "nn", ("bn.batch_weights=inverse_class_frequency",)),  # a two-input model under XLA
    ],
)
def test_engine_matches_the_simple_loop(tiny_mnist, config_file, jit, impl, extra):
    """Same seed, same batches: weights, moving statistics and accuracy agree after chunked compiled training.

    Smooth on purpose: graph and eager kernels round differently, and through a ReLU kink (a unit flipping on or
    off over a batch of 20) followed by BN, or through Adam's division by tiny gradient magnitudes, a 1e-7
    difference grows to 1e-2 in a few steps (measured: ReLU conv nets agree to 4e-7 after 2 steps, 6e-3 after 4;
    with tanh and SGD, to 2e-7 after 12). tanh and SGD test the loop, not the chaos.
    """
    overrides = (
        "train.steps=12",
        "train.batch_size=20",
        f"train.jit={jit}",
        f"bn.impl={impl}",
        "train.optimizer=sgd",
        "train.learning_rate=0.01",
        "model.activation=tanh",
        *extra,
    )
    config = load_config(config_file, overrides)
    engine = Engine(build_model(config.model, config.bn, config.seed), config, tiny_mnist)
    for start, count in ((0, 5), (5, 7)):  # two compiled calls: the batch position must carry over
        assert engine.train_steps(start, count).steps_done == count
    reference = simple_training(config, tiny_mnist, 12)
    for fast, slow in zip(engine.model.weights, reference.weights):
        np.testing.assert_allclose(fast.numpy(), slow.numpy(), rtol=2e-4, atol=2e-5, err_msg=fast.path)
    assert len(engine.model.inputs) == (2 if extra else 1)
    val_x, val_y = tf.constant(tiny_mnist.val_x), tf.constant(tiny_mnist.val_y)
    val_inputs = [val_x, inverse_class_frequency(val_y)] if extra else val_x  # inference ignores the weights
    logits = reference(val_inputs, training=False)
    expected = float(np.mean(np.argmax(logits, axis=1) == tiny_mnist.val_y))
    assert engine.evaluate("val", batch_size=100)[1] == pytest.approx(expected, abs=1 / len(tiny_mnist.val_y))


def test_the_rate_drops_after_lr_drop_at_steps(tiny_mnist):
    """The compiled loop's schedule against SGD whose rate is set by hand at each step: 0.05 for steps 1-7, then
    0.005 (tanh and SGD, as above)."""
    overrides = ("train.steps=12", "train.batch_size=20", "train.optimizer=sgd", "train.learning_rate=0.05")
    drop = ("train.lr_drop_at=7", "train.lr_drop_factor=0.1", "model.activation=tanh")
    config = load_config("fc", (*overrides, *drop))
    engine = Engine(build_model(config.model, config.bn, config.seed), config, tiny_mnist)
    engine.train_steps(0, 12)
    reference = simple_training(config, tiny_mnist, 12, rates=[0.05] * 7 + [0.005] * 5)
    no_drop = simple_training(config, tiny_mnist, 12, rates=[0.05] * 12)
    for fast, slow in zip(engine.model.weights, reference.weights):
        np.testing.assert_allclose(fast.numpy(), slow.numpy(), rtol=2e-4, atol=2e-5, err_msg=fast.path)
    assert not np.allclose(engine.model.weights[0].numpy(), no_drop.weights[0].numpy(), rtol=2e-4, atol=2e-5)
    assert [config.train.learning_rate_at(step) for step in (0, 6, 7, 11)] == pytest.approx([0.05, 0.05, 0.005, 0.005])


def test_evaluation_in_batches_of_one_equals_full_batches(tiny_mnist):
    """Inference uses moving averages only, so the batch size must not change the answer."""
    config = load_config("fc", ("train.steps=10",))
    engine = Engine(build_model(config.model, config.bn, config.seed), config, tiny_mnist)
    engine.train_steps(0, 10)
    loss_full, accuracy_full = engine.evaluate("test", count=100, batch_size=100)
    loss_single, accuracy_single = engine.evaluate("test", count=100, batch_size=1)
    assert accuracy_single == accuracy_full and loss_single == pytest.approx(loss_full, rel=1e-5)
    assert engine.evaluate("test", count=100, batch_size=1, xla=False) == pytest.approx((loss_single, accuracy_single))


def test_validation_and_test_share_one_compiled_evaluation(tiny_mnist):
    """Both splits live in one tensor: the second split needs no second trace (and so no second XLA compile), and
    each split's numbers are those of its own examples."""
    mnist = dataclasses.replace(tiny_mnist, test_x=tiny_mnist.test_x[:100], test_y=tiny_mnist.test_y[:100])
    config = load_config("fc", ("train.steps=10",))
    engine = Engine(build_model(config.model, config.bn, config.seed), config, mnist)
    engine.train_steps(0, 10)
    found = {split: engine.evaluate(split, batch_size=100) for split in ("val", "test")}  # 200 and 100 examples
    assert engine._evaluate.experimental_get_tracing_count() == 1
    for split, images, labels in (("val", mnist.val_x, mnist.val_y), ("test", mnist.test_x, mnist.test_y)):
        logits = engine.model(images, training=False).numpy()
        assert found[split][1] == pytest.approx(np.mean(logits.argmax(1) == labels))


def test_engine_rejects_a_batch_size_that_does_not_divide_the_split(tiny_mnist):
    config = load_config("fc", ("train.steps=10",))
    engine = Engine(build_model(config.model, config.bn, config.seed), config, tiny_mnist)
    with pytest.raises(ValueError, match="200 val examples do not split into batches of 30"):
        engine.evaluate("val", batch_size=30)
