"""End to end on real MNIST: a short conv compare shows the tutorial's result, BN clearly ahead."""

from __future__ import annotations

from bn_mnist import compare
from bn_mnist.config import load_config


def test_short_conv_compare_bn_learns_and_no_bn_does_not(real_mnist, tmp_path):
    config = load_config(None, ("train.steps=400", "train.eval_every=100"))
    summary = compare.run(config, tmp_path, real_mnist, log=lambda _: None)
    bn, no_bn = summary["runs"]["bn"], summary["runs"]["no_bn"]
    assert no_bn["final_val_accuracy"] <= 0.15 and no_bn["final_test_accuracy"] <= 0.15  # does not learn
    assert bn["final_val_accuracy"] >= 0.6 and bn["final_test_accuracy"] >= 0.6  # tutorial: 0.85 at 400
    assert bn["single_sample_accuracy"] >= 0.6  # inference uses the moving averages, not batch statistics
    assert (
        summary["steps_to_accuracy"]["0.5"]["bn"] is not None and summary["steps_to_accuracy"]["0.5"]["no_bn"] is None
    )
